"""Artifacts: folder + card.json, checksums verified on load."""

import hashlib
import json
import subprocess

import pytest
import torch
from torch import nn

from pizarra.assets import artifacts as art
from pizarra.assets.artifacts import list_artifacts, load_artifact, save_artifact
from pizarra.errors import AssetMissing, BadInput, ChecksumMismatch


class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(5, 3)
        self.head = nn.Linear(3, 5, bias=False)
        self.head.weight = self.emb.weight  # shared storage, as in GPT-2


def save_demo(root, name="tiny-lm"):
    torch.manual_seed(0)
    model = Tied()
    a = save_artifact(
        name,
        model.state_dict(),
        files={"vocab.json": b'["a","b"]'},
        config={"n_embd": 3},
        data={"corpus": "toy", "rows": 5},
        metrics={"val_loss": 1.25},
        command="pizarra train tiny-lm --steps 10",
        root=root,
    )
    return model, a


def test_save_then_load_round_trip(tmp_path):
    model, saved = save_demo(tmp_path)
    card = json.loads((tmp_path / "tiny-lm" / "card.json").read_text())
    assert {"name", "config", "data", "metrics", "git_commit", "command", "created", "files"} <= card.keys()
    assert card["metrics"] == {"val_loss": 1.25} and card["command"] == "pizarra train tiny-lm --steps 10"
    vocab = tmp_path / "tiny-lm" / "vocab.json"
    assert card["files"]["vocab.json"] == {"sha256": hashlib.sha256(vocab.read_bytes()).hexdigest(), "bytes": 9}
    assert set(card["files"]) == {art.WEIGHTS, "vocab.json"}

    loaded = load_artifact("tiny-lm", root=tmp_path)
    assert loaded.card == saved.card and loaded.metrics["val_loss"] == 1.25 and loaded.config == {"n_embd": 3}
    fresh = Tied()
    fresh.load_state_dict(loaded.state_dict())
    assert torch.equal(fresh.emb.weight, model.emb.weight) and fresh.head.weight is fresh.emb.weight
    assert loaded.file("vocab.json").read_bytes() == b'["a","b"]'
    with pytest.raises(AssetMissing):
        loaded.file("nope.bin")


def test_a_changed_file_is_refused(tmp_path):
    save_demo(tmp_path)
    weights = tmp_path / "tiny-lm" / art.WEIGHTS
    raw = bytearray(weights.read_bytes())
    raw[-1] ^= 0xFF  # flip bits of the last weight
    weights.write_bytes(bytes(raw))
    with pytest.raises(ChecksumMismatch) as err:
        load_artifact("tiny-lm", root=tmp_path)
    assert err.value.path == weights and "sha256" in str(err.value)


def test_missing_artifact_or_file(tmp_path):
    with pytest.raises(AssetMissing, match="not in"):
        load_artifact("ghost", root=tmp_path)
    save_demo(tmp_path)
    (tmp_path / "tiny-lm" / "vocab.json").unlink()
    with pytest.raises(AssetMissing, match="pizarra train tiny-lm"):
        load_artifact("tiny-lm", root=tmp_path)


def test_names_and_file_names_are_checked(tmp_path):
    for bad in ["../evil", "Upper", "", ".hidden", "a/b"]:
        with pytest.raises(BadInput):
            save_artifact(bad, files={"x": b"1"}, root=tmp_path)
    with pytest.raises(BadInput):
        save_artifact("ok", files={"../x": b"1"}, root=tmp_path)
    with pytest.raises(BadInput):
        load_artifact("../etc", root=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_saving_again_replaces_and_lists(tmp_path):
    save_demo(tmp_path)
    save_artifact("tiny-lm", files={"other.txt": b"new"}, metrics={"acc": 0.9}, command="x", root=tmp_path)
    assert sorted(p.name for p in (tmp_path / "tiny-lm").iterdir()) == ["card.json", "other.txt"]
    save_demo(tmp_path, "second")
    listed = list_artifacts(tmp_path)
    assert [a["name"] for a in listed] == ["second", "tiny-lm"]
    assert listed[1]["metrics"] == {"acc": 0.9} and listed[1]["bytes"] == 3
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp folder left
    assert list_artifacts(tmp_path / "none") == []


def test_git_commit_known_or_unknown(tmp_path, monkeypatch):
    monkeypatch.setattr(art, "REPO_ROOT", tmp_path)
    assert art.git_commit() == ("unknown", None)  # not a repository
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    assert art.git_commit() == ("unknown", None)  # a repository without commits
    (tmp_path / "f").write_text("1")
    subprocess.run([*git, "add", "f"], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "x"], cwd=tmp_path, check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True).stdout.strip()
    assert art.git_commit() == (head, False)
    (tmp_path / "f").write_text("2")
    assert art.git_commit() == (head, True)
    card = save_artifact("c", files={"x": b"1"}, command="c", root=tmp_path / "arts").card
    assert card["git_commit"] == head and card["git_dirty"] is True


def test_every_shipped_artifact_matches_its_card_and_stays_small():
    from pizarra.config import REPO_ROOT

    root = REPO_ROOT / "artifacts"
    shipped = list_artifacts(root)
    assert shipped, "artifacts/ ships at least the training-loop demo"
    total = 0
    for item in shipped:
        art = load_artifact(item["name"], root=root)  # raises on any checksum mismatch
        for key in ("config", "data", "metrics", "command", "git_commit", "files"):
            assert art.card.get(key), (item["name"], key)
        total += sum(f["bytes"] for f in art.card["files"].values())
    assert total < 80 * 1024 * 1024
