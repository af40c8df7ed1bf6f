"""Chapter 4: the glass-box networks equal torch.nn (outputs and gradients), the ladder trains and
saves loadable artifacts, and the page's computations handle bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from pizarra.errors import BadInput
from pizarra.nets import (
    RNN,
    DecoderBlock,
    EncoderBlock,
    LearnedPositions,
    MultiHeadAttention,
    SinusoidalPositions,
    TransformerConfig,
    TransformerEncoder,
    TransformerLM,
    causal_mask,
    convert,
    explain,
    padding_mask,
    parity,
)
from pizarra.nets.ladder import LADDER, UNK, CharVocab, build_model, char_data, load_lm, run_ladder

SAMPLE = Path(__file__).parent / "fixtures" / "nets" / "quijote_sample.txt"


# ------------------------------------------------------------------------------------------ parity


@pytest.mark.parametrize("name", list(parity.CHECKS))
def test_parity_check_passes(name):
    r = parity.run_checks([name])
    (check,) = r["checks"]
    assert check["ok"], check
    assert check["max_abs_diff"] <= 1e-6


def test_parity_catches_a_wrong_weight(monkeypatch):
    """A converter that gets one weight slightly wrong must fail the check (the check can fail)."""
    real = convert.rnn_from_torch

    def off_by_a_bit(ref):
        ours = real(ref)
        with torch.no_grad():
            ours.cells[0].h2h.weight[0, 0] += 1e-4
        return ours

    monkeypatch.setattr(parity, "rnn_from_torch", off_by_a_bit)
    assert not parity.check_rnn("lstm")["max_abs_diff"] <= parity.TOL


def test_parity_catches_a_wrong_attention_scale(monkeypatch):
    real = parity.scaled_dot_product_attention
    monkeypatch.setattr(parity, "scaled_dot_product_attention", lambda q, k, v, m: real(q * 1.01, k, v, m))
    assert parity.check_sdpa()["max_abs_diff"] > parity.TOL


def test_check_result_shape():
    r = parity.run_checks(["sinusoidal", "converters"])
    assert set(r) >= {"checks", "ok", "tolerance"}
    assert all(set(c) >= {"name", "max_abs_diff", "ok"} for c in r["checks"])
    json.dumps(r)  # JSON-able


def test_cli_check_json():
    from typer.testing import CliRunner

    from pizarra.nets.cli import app

    res = CliRunner().invoke(app, ["check", "--only", "attention", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["ok"] and out["checks"][0]["name"].startswith("attention")
    bad = CliRunner().invoke(app, ["check", "--only", "nope", "--json"])
    assert bad.exit_code == 2 and "Unknown check" in bad.stdout


# ------------------------------------------------------------------------------------ building blocks


def test_rnn_lengths_freeze_state_and_zero_outputs():
    torch.manual_seed(0)
    rnn = RNN("gru", 3, 4).double()
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    out, (h,) = rnn(x, lengths=torch.tensor([5, 2]))
    assert out.shape == (2, 5, 4)
    assert torch.all(out[1, 2:] == 0)
    short, (h_short,) = rnn(x[1:, :2])  # the same sequence, cut to its length
    assert torch.allclose(h[1], h_short[0]) and torch.allclose(out[1, :2], short[0])


def test_masks():
    assert causal_mask(3).tolist() == [[True, False, False], [True, True, False], [True, True, True]]
    m = padding_mask(torch.tensor([1, 3]), 3)
    assert m.shape == (2, 1, 1, 3) and m[0, 0, 0].tolist() == [True, False, False]


def test_cross_attention_shapes():
    mha = MultiHeadAttention(8, 2)
    y, w = mha(torch.randn(2, 3, 8), memory=torch.randn(2, 5, 8))
    assert y.shape == (2, 3, 8) and w.shape == (2, 2, 3, 5)
    assert torch.allclose(w.sum(-1), torch.ones(2, 2, 3))
    with pytest.raises(ValueError):
        MultiHeadAttention(10, 3)


def test_fused_attention_equals_the_equations():
    """need_weights=False (PyTorch's fused kernel, used to train) = the explicit softmax(q·kᵀ/√d)·v,
    forward and backward, with padding and causal masks."""
    torch.manual_seed(0)
    lengths = torch.tensor([7, 4, 1])
    for Block, mask in (
        (EncoderBlock, padding_mask(lengths, 7)),
        (DecoderBlock, padding_mask(lengths, 7)),
        (DecoderBlock, None),
    ):
        block = Block(TransformerConfig(d_model=16, n_heads=4)).eval()
        x = torch.randn(3, 7, 16, requires_grad=True)
        y1, w = block(x, mask)
        (g1,) = torch.autograd.grad(y1.sum(), x)
        y2, none = block(x, mask, need_weights=False)
        (g2,) = torch.autograd.grad(y2.sum(), x)
        assert none is None and w.shape == (3, 4, 7, 7)
        assert torch.allclose(y1, y2, atol=1e-5) and torch.allclose(g1, g2, atol=1e-5)
    lm = TransformerLM(TransformerConfig(vocab_size=11, block_size=8, d_model=16, n_heads=2, n_layers=2)).eval()
    idx = torch.randint(0, 11, (2, 8))
    explicit = lm.head(lm.hidden(idx)[0])
    assert torch.allclose(lm(idx)[0], explicit, atol=1e-5)  # forward() trains with the fused kernel


def test_positions():
    sin = SinusoidalPositions(6, max_len=10)
    x = torch.zeros(1, 4, 6)
    pe = sin(x)[0]
    assert pe[0].tolist() == [0, 1, 0, 1, 0, 1]  # sin(0), cos(0)
    assert math.isclose(pe[3, 0].item(), math.sin(3), rel_tol=1e-6)
    with pytest.raises(ValueError):
        sin(torch.zeros(1, 11, 6))
    learned = LearnedPositions(6, max_len=4)
    assert learned(x).shape == (1, 4, 6)
    with pytest.raises(ValueError):
        learned(torch.zeros(1, 5, 6))


def test_decoder_block_never_looks_ahead():
    torch.manual_seed(0)
    block = DecoderBlock(TransformerConfig(d_model=8, n_heads=2)).eval()
    x = torch.randn(1, 6, 8)
    y1, w = block(x)
    x2 = x.clone()
    x2[0, 4:] = torch.randn(2, 8)  # change the future
    y2, _ = block(x2)
    assert torch.allclose(y1[0, :4], y2[0, :4], atol=1e-6) and not torch.allclose(y1[0, 4:], y2[0, 4:])
    assert torch.all(w[0, :, 0, 1:] == 0)  # the first token sees only itself
    enc = EncoderBlock(TransformerConfig(d_model=8, n_heads=2)).eval()
    assert not torch.allclose(enc(x)[0][0, :4], enc(x2)[0][0, :4])  # an encoder sees everything


def test_encoder_stack_ignores_padding():
    torch.manual_seed(0)
    enc = TransformerEncoder(
        TransformerConfig(vocab_size=11, block_size=8, d_model=16, n_heads=2, n_layers=2, positions="sinusoidal")
    ).eval()
    a = torch.tensor([[1, 2, 3, 0, 0]])
    b = torch.tensor([[1, 2, 3, 7, 9]])
    ya, yb = enc(a, torch.tensor([3])), enc(b, torch.tensor([3]))
    assert ya.shape == (1, 5, 16) and torch.allclose(ya[0, :3], yb[0, :3], atol=1e-6)


def test_transformer_lm_interface_and_generate():
    torch.manual_seed(0)
    cfg = TransformerConfig(vocab_size=13, block_size=8, d_model=16, n_heads=4, n_layers=1, dropout=0.1)
    lm = TransformerLM(cfg)
    idx = torch.randint(0, 13, (2, 8))
    logits, loss = lm(idx, idx)
    assert logits.shape == (2, 8, 13) and loss.item() == pytest.approx(math.log(13), abs=0.3)
    assert lm(idx)[1] is None
    out = lm.eval().generate(idx[:, :3], 10, top_k=3, generator=torch.Generator().manual_seed(0))
    assert out.shape == (2, 13) and torch.equal(out[:, :3], idx[:, :3])
    with pytest.raises(ValueError):
        lm(torch.zeros(1, 9, dtype=torch.long))


@pytest.mark.parametrize("rung", LADDER, ids=lambda r: r.name)
def test_every_rung_is_causal_with_one_interface(rung):
    """(idx, targets) -> (logits, loss), and the logits at t never depend on characters after t."""
    torch.manual_seed(0)
    model = build_model({**rung.model, "vocab_size": 20}).eval()
    idx = torch.randint(1, 20, (2, 10))
    logits, loss = model(idx, idx)
    assert logits.shape == (2, 10, 20) and loss.ndim == 0 and torch.isfinite(loss)
    idx2 = idx.clone()
    idx2[:, 6:] = (idx2[:, 6:] + 1) % 20
    assert torch.allclose(model(idx2)[0][:, :6], logits[:, :6], atol=1e-6)


def test_bigram_starts_uniform():
    model = build_model({"kind": "bigram", "vocab_size": 7})
    _, loss = model(torch.zeros(1, 3, dtype=torch.long), torch.zeros(1, 3, dtype=torch.long))
    assert loss.item() == pytest.approx(math.log(7))


def test_vocab_unknown():
    v = CharVocab.from_text("hola")
    assert v.chars[0] == UNK and len(v) == 5
    assert v.encode("hoy") == [v.stoi["h"], v.stoi["o"], 0]
    assert v.unknown("hoyy!") == ["y", "!"]


# ------------------------------------------------------------------------------------------ ladder


@pytest.fixture(scope="module")
def tiny_ladder(tmp_path_factory):
    """Every rung trained 3 steps on a 12 kB sample, saved as artifacts in a temp folder."""
    root = tmp_path_factory.mktemp("artifacts")
    text = SAMPLE.read_text(encoding="utf-8")
    result = run_ladder(text=text, steps=3, progress=False, root=root, report=False)
    return root, result


def test_ladder_rows_and_cards(tiny_ladder):
    root, result = tiny_ladder
    assert [r["name"] for r in result["rows"]] == [r.name for r in LADDER]
    for row in result["rows"]:
        assert row["steps"] == 3 and row["params"] > 0
        assert row["val_bits_per_char"] == pytest.approx(row["val_loss_nats"] / math.log(2), abs=1e-3)
        card = json.loads((root / f"nets-{row['name']}" / "card.json").read_text())
        assert card["metrics"]["val_loss_nats"] == row["val_loss_nats"]
        assert card["config"]["model"]["kind"] == row["kind"] and card["data"]["vocab_size"] > 50
    assert torch.get_num_threads() >= 1


def test_ladder_unknown_rung():
    with pytest.raises(BadInput):
        run_ladder(["nope"], text="abc")


def test_char_data_split():
    text = SAMPLE.read_text(encoding="utf-8")
    d = char_data(text, block_size=16, val_chunks=5)
    X, Y = d.val
    assert X.shape == (5, 16) and torch.equal(X[0, 1:], Y[0, :-1])
    assert d.description["train_chars"] == int(len(text) * 0.9)


def test_loaded_model_reproduces_val_loss(tiny_ladder):
    root, result = tiny_ladder
    model, vocab, card = load_lm("gru", root)
    text = SAMPLE.read_text(encoding="utf-8")
    X, Y = char_data(text).val
    with torch.no_grad():
        loss = model(X, Y)[1].item()
    assert loss == pytest.approx(card["metrics"]["val_loss_nats"], abs=1e-3)


# ------------------------------------------------------------------------------------------ explain


def test_prepare_bad_input():
    v = CharVocab.from_text("abc ")
    with pytest.raises(BadInput):
        explain.prepare("   ", v, 10)
    text, ids, notices = explain.prepare("abz" * 5, v, 4)
    assert text == "ab" + UNK + "a" and ids[2] == 0
    assert {n["code"] for n in notices} == {"truncated", "unknown"}
    assert next(n for n in notices if n["code"] == "unknown")["chars"] == ["z"]


def test_explain_plots(tiny_ladder):
    root, _ = tiny_ladder
    e = explain.elman_states("Las nubes", root=root)
    assert e["chars"] == list("Las nubes") and len(e["states"]) == len(e["units"]) and len(e["states"][0]) == 9
    g = explain.lstm_gates("Las nubes están en el", root=root)
    assert set(g["gates"]) == {"i", "f", "o"}
    assert all(0 <= v <= 1 for row in g["gates"]["f"] for v in row)
    a = explain.attention_maps("x" * 100 + "ñ", root=root)
    assert len(a["chars"]) == 64 and a["notices"][0]["code"] == "truncated"
    w = torch.tensor(a["weights"])  # (L, nh, T, T)
    assert torch.allclose(w.sum(-1), torch.ones(w.shape[:-1]), atol=64 * 5e-4)  # 3 decimals
    assert torch.all(w.triu(1) == 0)  # causal
    p = explain.positional_matrix(5, 4)
    assert p["matrix"][0] == [0.0, 1.0, 0.0, 1.0]


def test_vanishing_gradient_matches_autograd(tiny_ladder):
    root, _ = tiny_ladder
    v = explain.vanishing_gradients("En un lugar", max_len=20, root=root)
    assert v["lengths"] == list(range(1, 12)) and len(v["elman"]) == 11 and len(v["lstm"]) == 11
    model, vocab, _ = load_lm("elman", root)
    cell = model.rnn.cells[0]
    x = model.emb(torch.tensor(vocab.encode("En un lugar"))).detach()

    def unroll(h0):
        h = h0[None]
        for t in range(x.size(0)):
            h = cell(x[t][None], h)
        return h[0]

    J = torch.autograd.functional.jacobian(unroll, torch.zeros(cell.hidden_size))
    assert v["elman"][-1] == pytest.approx(J.norm().item(), rel=1e-3)
