"""Artifacts: the small models Pizarra trains itself, each a folder described by its card.

    artifacts/<name>/
        weights.safetensors      the model's state_dict (or any other files the model needs)
        card.json                {"name", "config", "data", "metrics", "git_commit", "git_dirty",
                                  "command", "created", "pizarra_version",
                                  "files": {"weights.safetensors": {"sha256", "bytes"}}}

The card says how the artifact was made (config, data, command to reproduce, commit) and what
it scored. Loading checks every file against the card's sha256 and refuses a file that changed.
Weights are saved with safetensors (no code runs when loading them).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from pizarra import __version__
from pizarra.assets.checksums import sha256_file
from pizarra.config import REPO_ROOT, artifacts_dir
from pizarra.errors import AssetMissing, BadInput, ChecksumMismatch

CARD = "card.json"
WEIGHTS = "weights.safetensors"
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


@dataclass
class Artifact:
    name: str
    path: Path
    card: dict

    @property
    def config(self) -> dict:
        return self.card.get("config") or {}

    @property
    def metrics(self) -> dict:
        return self.card.get("metrics") or {}

    def file(self, name: str) -> Path:
        if name not in self.card["files"]:
            raise AssetMissing(
                self.name,
                f"Artifact '{self.name}' has no file '{name}'; it has {', '.join(sorted(self.card['files']))}.",
                key="err.artifact.no_such_file",
                asset=self.name,
                file=name,
                files=sorted(self.card["files"]),
            )
        return self.path / name

    def state_dict(self, device: str = "cpu") -> dict:
        """The weights saved by ``save_artifact(name, weights=...)`` (torch tensors)."""
        import safetensors.torch

        return safetensors.torch.load_file(self.file(WEIGHTS), device=str(device))


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_commit() -> tuple[str, bool | None]:
    """(commit of HEAD, whether the working tree has changes); ("unknown", None) outside git
    or before the first commit."""
    commit = _git("rev-parse", "--verify", "HEAD")
    if not commit:
        return "unknown", None
    status = _git("status", "--porcelain", "--untracked-files=no")
    return commit, (bool(status) if status is not None else None)


def default_command() -> str:
    """The command line of this process, as a person would type it again."""
    argv0 = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    return shlex.join([argv0, *sys.argv[1:]])


def _check_name(name: str) -> None:
    if not NAME.match(name or ""):
        raise BadInput(
            f"Artifact name {name!r} is not allowed: use 1-64 characters among a-z, 0-9, "
            "'.', '_' and '-', starting with a letter or digit."
        )


def save_artifact(
    name: str,
    weights: Mapping[str, Any] | None = None,
    *,
    files: Mapping[str, str | Path | bytes] | None = None,
    config: Any = None,
    data: Any = None,
    metrics: Any = None,
    command: str | None = None,
    root: str | Path | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Artifact:
    """Write ``<root>/<name>/`` with ``weights`` (a state_dict), any other ``files`` (a path to
    copy or bytes to write) and ``card.json``. An existing artifact of that name is replaced.

    ``config``/``data``/``metrics`` must be JSON-able (dicts of numbers and strings);
    ``command`` is how to reproduce it (default: this process's command line).
    """
    _check_name(name)
    root = Path(root) if root is not None else artifacts_dir()
    root.mkdir(parents=True, exist_ok=True)
    files = dict(files or {})
    if CARD in files or (weights is not None and WEIGHTS in files):
        raise BadInput(f"'{CARD}' and '{WEIGHTS}' are written by save_artifact itself.")
    for fname in files:
        if "/" in fname or "\\" in fname or fname.startswith("."):
            raise BadInput(f"Artifact file name {fname!r} must be a plain name, not a path.")

    tmp = Path(tempfile.mkdtemp(dir=root, prefix=f".{name}.", suffix=".tmp"))
    try:
        if weights is not None:
            # clone: safetensors refuses shared storage (tied weights), and wants contiguous CPU tensors
            import safetensors.torch

            tensors = {k: v.detach().cpu().clone().contiguous() for k, v in weights.items()}
            safetensors.torch.save_file(tensors, tmp / WEIGHTS)
        for fname, content in files.items():
            if isinstance(content, bytes):
                (tmp / fname).write_bytes(content)
            else:
                shutil.copyfile(content, tmp / fname)
        commit, dirty = git_commit()
        card = {
            "name": name,
            "config": config,
            "data": data,
            "metrics": metrics,
            "git_commit": commit,
            "git_dirty": dirty,
            "command": command if command is not None else default_command(),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "pizarra_version": __version__,
            **dict(extra or {}),
            "files": {p.name: {"sha256": sha256_file(p), "bytes": p.stat().st_size} for p in sorted(tmp.iterdir())},
        }
        (tmp / CARD).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        for p in tmp.iterdir():
            os.chmod(p, 0o644)
        os.chmod(tmp, 0o755)
        target = root / name
        old = None
        if target.exists():  # move the old one aside, put the new one in, then delete the old
            old = Path(tempfile.mkdtemp(dir=root, prefix=f".{name}.", suffix=".old"))
            os.replace(target, old / name)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Artifact(name, target, card)


def load_artifact(name: str, root: str | Path | None = None) -> Artifact:
    """The artifact ``name``, after checking every file against its card.

    Raises ``AssetMissing`` when the artifact or one of its files is absent, and
    ``ChecksumMismatch`` when a file's content is not the one the card recorded.
    """
    _check_name(name)
    root = Path(root) if root is not None else artifacts_dir()
    path = root / name
    card_path = path / CARD
    if not card_path.is_file():
        raise AssetMissing(
            name,
            f"The artifact '{name}' is not in {root} (no {name}/{CARD}). "
            "Train it again with the command in its chapter's README, or set "
            "PIZARRA_ARTIFACTS to the folder that holds it.",
            key="err.artifact.missing",
            asset=name,
            root=str(root),
        )
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
        expected = card["files"]
    except (ValueError, KeyError, TypeError) as err:
        raise AssetMissing(
            name,
            f"The card {card_path} is unreadable ({err}); rebuild the artifact.",
            key="err.artifact.card",
            path=str(card_path),
        ) from err
    for fname, info in expected.items():
        fpath = path / fname
        if not fpath.is_file():
            raise AssetMissing(
                name,
                f"The artifact '{name}' lacks its file {fpath}; rebuild it with: "
                f"{card.get('command', 'its training command')}",
                key="err.artifact.file",
                asset=name,
                path=str(fpath),
                command=card.get("command", "–"),
            )
        actual = sha256_file(fpath)
        if actual != info["sha256"]:
            raise ChecksumMismatch(fpath, info["sha256"], actual)
    return Artifact(name, path, card)


def list_artifacts(root: str | Path | None = None) -> list[dict]:
    """One summary per artifact folder (no checksum verification: that is load_artifact's job)."""
    root = Path(root) if root is not None else artifacts_dir()
    if not root.is_dir():
        return []
    out = []
    for card_path in sorted(root.glob(f"*/{CARD}")):
        if card_path.parent.name.startswith("."):
            continue
        try:
            card = json.loads(card_path.read_text(encoding="utf-8"))
        except ValueError:
            out.append({"name": card_path.parent.name, "path": str(card_path.parent), "error": "unreadable card"})
            continue
        out.append(
            {
                "name": card.get("name", card_path.parent.name),
                "path": str(card_path.parent),
                "created": card.get("created"),
                "git_commit": card.get("git_commit"),
                "metrics": card.get("metrics"),
                "command": card.get("command"),
                "bytes": sum(f.get("bytes", 0) for f in card.get("files", {}).values()),
            }
        )
    return out
