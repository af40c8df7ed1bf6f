"""Planted bugs: every parity check of chapter 4 must be able to FAIL.

A parity check that passes is worth something only if it fails on a wrong implementation. For every
check of ``pizarra.nets.parity.CHECKS`` this file plants realistic bugs (a swapped gate, a missing bias,
a wrong nonlinearity, heads split or merged in the wrong order, the norm on the wrong side of the
residual, sin and cos swapped, a wrong base...) by monkeypatching one function or perturbing weights,
and asserts

    the real implementation passes the check     and     the planted one fails it.

The bugs live here, never in the product code. The converters also get a check on OUTPUTS
(``converter_outputs``): a converter that is wrong the same way in both directions (a transposed
weight, two gate blocks swapped) gives back exactly the weights it was given, so a round trip cannot
see it; the module it builds computes something else, and that is what ``converter_outputs`` compares.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from pizarra.nets import attention, blocks, convert, parity, rnn
from pizarra.nets.attention import MultiHeadAttention, causal_mask
from pizarra.nets.blocks import DecoderBlock, EncoderBlock, TransformerConfig
from pizarra.nets.rnn import RNN, ElmanCell, GRUCell, LSTMCell

TOL = parity.TOL


@dataclass(frozen=True)
class Bug:
    id: str
    checks: tuple[str, ...]  # keys of parity.CHECKS that must fail with the bug planted
    plant: Callable[[pytest.MonkeyPatch], None]


def _check(name: str) -> dict:
    """One check's result; a check that raises has failed too (reported; see the tests at the end)."""
    try:
        (check,) = parity.run_checks([name])["checks"]
    except Exception as e:  # noqa: BLE001 - a crash is a failed check, not a passed one
        return {"name": name, "ok": False, "max_abs_diff": float("inf"), "crashed": repr(e)}
    return check


@pytest.fixture(scope="module")
def clean() -> dict[str, dict]:
    """Every check on the real code, run once (before any bug is planted)."""
    return {name: _check(name) for name in parity.CHECKS}


def _assert_caught(bug: Bug, clean: dict, monkeypatch) -> None:
    for name in bug.checks:
        assert clean[name]["ok"], f"the real code must pass {name}: {clean[name]}"
    bug.plant(monkeypatch)
    for name in bug.checks:
        got = _check(name)
        assert not got["ok"] and got["max_abs_diff"] > TOL, f"{name} did not catch the planted bug {bug.id}: {got}"


# ------------------------------------------------------------------------------- recurrent cells
# Each cell class is patched, so the bug reaches both the one-step check ("lstm-cell") and the layer
# that unrolls it over a padded batch ("lstm").

_elman_forward, _lstm_gates = ElmanCell.forward, LSTMCell.gates


def elman_relu(self, x, h):  # ReLU where the slide says tanh
    return torch.relu(self.x2h(x) + self.h2h(h))


def elman_no_hidden_bias(self, x, h):  # b_hh dropped
    return torch.tanh(self.x2h(x) + F.linear(h, self.h2h.weight))


def elman_forgets_the_state(self, x, h):  # h_{t-1} never read
    return torch.tanh(self.x2h(x) + self.h2h.bias)


def lstm_input_forget_swapped(self, x, h):  # PyTorch's order is i, f, g, o; read as f, i, g, o
    g = _lstm_gates(self, x, h)
    return {**g, "i": g["f"], "f": g["i"]}


def lstm_candidate_sigmoid(self, x, h):  # g_t = σ(...) instead of tanh(...)
    i, f, g, o = (self.x2h(x) + self.h2h(h)).chunk(4, dim=-1)
    return {"i": torch.sigmoid(i), "f": torch.sigmoid(f), "g": torch.sigmoid(g), "o": torch.sigmoid(o)}


def lstm_forget_bias_one(self, x, h):  # the "+1 forget bias" init trick applied in forward
    i, f, g, o = (self.x2h(x) + self.h2h(h)).chunk(4, dim=-1)
    return {"i": torch.sigmoid(i), "f": torch.sigmoid(f + 1), "g": torch.tanh(g), "o": torch.sigmoid(o)}


def lstm_h_without_tanh(self, x, state):  # h_t = o_t ⊙ c_t
    h, c = state
    gate = self.gates(x, h)
    c = gate["f"] * c + gate["i"] * gate["g"]
    return gate["o"] * c, c


def gru_reset_before_bias(self, x, h):  # n = tanh(W_xn x + b_xn + r ⊙ (W_hn h) + b_hn): Cho's variant
    xr, xz, xn = self.x2h(x).chunk(3, dim=-1)
    hr, hz, hn = self.h2h(h).chunk(3, dim=-1)
    b_hn = self.h2h.bias.chunk(3)[2]
    r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
    n = torch.tanh(xn + r * (hn - b_hn) + b_hn)
    return (1 - z) * n + z * h


def gru_update_flipped(self, x, h):  # h_t = z ⊙ n + (1 − z) ⊙ h_{t-1}
    gate = self.gates(x, h)
    return gate["z"] * gate["n"] + (1 - gate["z"]) * h


def gru_reset_update_swapped(self, x, h):  # PyTorch's order is r, z, n; read as z, r, n
    xz, xr, xn = self.x2h(x).chunk(3, dim=-1)
    hz, hr, hn = self.h2h(h).chunk(3, dim=-1)
    r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
    n = torch.tanh(xn + r * hn)
    return (1 - z) * n + z * h


def _patch(cls, attr, fn):
    return lambda mp: mp.setattr(cls, attr, fn)


CELL_BUGS = [
    Bug("elman-relu", ("elman-cell", "elman"), _patch(ElmanCell, "forward", elman_relu)),
    Bug("elman-no-hidden-bias", ("elman-cell", "elman"), _patch(ElmanCell, "forward", elman_no_hidden_bias)),
    Bug("elman-forgets-state", ("elman-cell", "elman"), _patch(ElmanCell, "forward", elman_forgets_the_state)),
    Bug("lstm-i-f-swapped", ("lstm-cell", "lstm"), _patch(LSTMCell, "gates", lstm_input_forget_swapped)),
    Bug("lstm-candidate-sigmoid", ("lstm-cell", "lstm"), _patch(LSTMCell, "gates", lstm_candidate_sigmoid)),
    Bug("lstm-forget-bias+1", ("lstm-cell", "lstm"), _patch(LSTMCell, "gates", lstm_forget_bias_one)),
    Bug("lstm-h-without-tanh", ("lstm-cell", "lstm"), _patch(LSTMCell, "forward", lstm_h_without_tanh)),
    Bug("gru-reset-before-bias", ("gru-cell", "gru"), _patch(GRUCell, "forward", gru_reset_before_bias)),
    Bug("gru-update-flipped", ("gru-cell", "gru"), _patch(GRUCell, "forward", gru_update_flipped)),
    Bug("gru-r-z-swapped", ("gru-cell", "gru"), _patch(GRUCell, "forward", gru_reset_update_swapped)),
    # the layer, not the cell: past its end a short sequence's state keeps changing over the padding
    Bug("rnn-padding-not-frozen", ("elman", "lstm", "gru"), lambda mp: mp.setattr(rnn, "_where", lambda k, n, o: n)),
]


@pytest.mark.parametrize("bug", CELL_BUGS, ids=lambda b: b.id)
def test_recurrent_checks_catch(bug, clean, monkeypatch):
    _assert_caught(bug, clean, monkeypatch)


# ------------------------------------------------------------------------------------- attention

_sdpa = attention.scaled_dot_product_attention


def sdpa_variant(*, scale_power: float = 0.5, fill: float = float("-inf")):
    """softmax(q·kᵀ/d^scale_power)·v with masked scores set to ``fill``: the real one is (0.5, −∞)."""

    def sdpa(q, k, v, mask=None, dropout_p=0.0, training=False):
        scores = q @ k.transpose(-2, -1) / q.size(-1) ** scale_power
        if mask is not None:
            scores = scores.masked_fill(~mask, fill)
        weights = scores.softmax(dim=-1)
        return F.dropout(weights, dropout_p, training) @ v, weights

    return sdpa


def _sdpa_mask_ignored(q, k, v, mask=None, dropout_p=0.0, training=False):
    return _sdpa(q, k, v, None, dropout_p, training)


SDPA_BUGS = [
    Bug(
        "scale-1/d",
        ("attention",),
        lambda mp: mp.setattr(parity, "scaled_dot_product_attention", sdpa_variant(scale_power=1)),
    ),
    Bug(
        "no-scale",
        ("attention",),
        lambda mp: mp.setattr(parity, "scaled_dot_product_attention", sdpa_variant(scale_power=0)),
    ),
    Bug(
        "masked-scores-0",
        ("attention",),
        lambda mp: mp.setattr(parity, "scaled_dot_product_attention", sdpa_variant(fill=0.0)),
    ),
    Bug(
        "mask-ignored",
        ("attention",),
        lambda mp: mp.setattr(parity, "scaled_dot_product_attention", _sdpa_mask_ignored),
    ),
]


@pytest.mark.parametrize("bug", SDPA_BUGS, ids=lambda b: b.id)
def test_attention_check_catches(bug, clean, monkeypatch):
    _assert_caught(bug, clean, monkeypatch)


def split_heads_interleaved(self, x):  # channel j goes to head j % nh instead of j // hs
    B, T, C = x.shape
    return x.view(B, T, C // self.n_heads, self.n_heads).permute(0, 3, 1, 2)  # (B, nh, T, hs)


def _heads_reversed(q, k, v, mask=None, dropout_p=0.0, training=False):
    out, weights = _sdpa(q, k, v, mask, dropout_p, training)
    return out.flip(-3), weights  # (B, nh, T, hs) concatenated last head first


def _scale_by_d_model(q, k, v, mask=None, dropout_p=0.0, training=False):
    return _sdpa(q / math.sqrt(q.size(1)), k, v, mask, dropout_p, training)  # /√(nh·hs) = /√d_model


def _causal_part_dropped(q, k, v, mask=None, dropout_p=0.0, training=False):
    return _sdpa(q, k, v, None if mask is None else mask[..., -1:, :], dropout_p, training)  # last row: padding only


def _mha_sdpa(fn):
    return lambda mp: mp.setattr(attention, "scaled_dot_product_attention", fn)


MHA = ("multihead-padding", "multihead-causal")
MHA_BUGS = [
    Bug("heads-split-interleaved", MHA, _patch(MultiHeadAttention, "split_heads", split_heads_interleaved)),
    Bug("heads-concatenated-reversed", MHA, _mha_sdpa(_heads_reversed)),
    Bug("scale-sqrt-d_model", MHA, _mha_sdpa(_scale_by_d_model)),
    Bug("mask-ignored", MHA, _mha_sdpa(_sdpa_mask_ignored)),
    Bug("causal-part-of-mask-dropped", ("multihead-causal",), _mha_sdpa(_causal_part_dropped)),
]


@pytest.mark.parametrize("bug", MHA_BUGS, ids=lambda b: b.id)
def test_multihead_checks_catch(bug, clean, monkeypatch):
    _assert_caught(bug, clean, monkeypatch)


# ---------------------------------------------------------------------------------------- blocks


def block_forward_without_residual(which: str):
    """EncoderBlock.forward with the residual connection around ``which`` ("attn" or "ffn") dropped."""

    def forward(self, x, mask=None, need_weights=True):
        keep_attn, keep_ffn = which != "attn", which != "ffn"
        if self.norm_first:
            y, weights = self._attend(self.norm1(x), mask, need_weights)
            x = x + y if keep_attn else y
            f = self.dropout2(self.ffn(self.norm2(x)))
            x = x + f if keep_ffn else f
        else:
            y, weights = self._attend(x, mask, need_weights)
            x = self.norm1(x + y if keep_attn else y)
            f = self.dropout2(self.ffn(x))
            x = self.norm2(x + f if keep_ffn else f)
        return x, weights

    return forward


def _after_block_from_torch(change: Callable[[EncoderBlock], None]):
    """Plant: parity converts torch's layer as usual, then ``change`` alters the block it got."""

    def plant(mp):
        real = convert.block_from_torch

        def converted(ref, causal=False):
            ours = real(ref, causal=causal)
            change(ours)
            return ours

        mp.setattr(parity, "block_from_torch", converted)

    return plant


def _flip_norm(b):
    b.norm_first = not b.norm_first


def _other_activation(b):
    b.ffn.act = nn.ReLU() if isinstance(b.ffn.act, nn.GELU) else nn.GELU()


def _gelu_tanh(b):
    b.ffn.act = nn.GELU(approximate="tanh")


def _eps(b):
    b.norm1.eps = b.norm2.eps = 1e-6


def _decoder_without_causal_when_padded(self, x, mask=None, need_weights=True):
    causal = causal_mask(x.size(1), x.device)
    return EncoderBlock.forward(self, x, causal if mask is None else mask, need_weights)


BLOCKS = ("encoder-postnorm", "encoder-prenorm", "decoder")
BLOCK_BUGS = [
    Bug("norm-first-flipped", BLOCKS, _after_block_from_torch(_flip_norm)),
    Bug("attention-residual-dropped", BLOCKS, _patch(EncoderBlock, "forward", block_forward_without_residual("attn"))),
    Bug("ffn-residual-dropped", BLOCKS, _patch(EncoderBlock, "forward", block_forward_without_residual("ffn"))),
    Bug("relu-gelu-swapped", BLOCKS, _after_block_from_torch(_other_activation)),
    Bug("gelu-tanh-approximation", ("encoder-prenorm", "decoder"), _after_block_from_torch(_gelu_tanh)),
    Bug("layernorm-eps-1e-6", BLOCKS, _after_block_from_torch(_eps)),
    Bug(
        "causal-mask-sees-next-token",
        ("decoder",),
        lambda mp: mp.setattr(blocks, "causal_mask", lambda T, device=None: torch.ones(T, T, dtype=torch.bool).tril(1)),
    ),
    Bug(
        "causal-mask-lost-with-padding",
        ("decoder",),
        _patch(DecoderBlock, "forward", _decoder_without_causal_when_padded),
    ),
]


@pytest.mark.parametrize("bug", BLOCK_BUGS, ids=lambda b: b.id)
def test_block_checks_catch(bug, clean, monkeypatch):
    _assert_caught(bug, clean, monkeypatch)


# ----------------------------------------------------------------------------- sinusoidal positions


def sinusoidal_variant(*, base: float = 10000.0, swap: bool = False, exponent: str = "2i", start: int = 0):
    """The table PE with one thing changed (the real one: base 10000, sin on even columns, 2i/d, pos from 0)."""

    def table(n_positions, d_model, dtype=torch.float32):
        pos = torch.arange(start, start + n_positions, dtype=torch.float64)[:, None]
        k = torch.arange(0, d_model, 2, dtype=torch.float64)
        if exponent == "i":
            k = k / 2  # pos / base^(i/d) with i the pair index
        angle = pos / torch.pow(base, k / d_model)
        even, odd = (torch.cos, torch.sin) if swap else (torch.sin, torch.cos)
        pe = torch.zeros(n_positions, d_model, dtype=torch.float64)
        pe[:, 0::2], pe[:, 1::2] = even(angle), odd(angle)
        return pe.to(dtype)

    return table


def _table(**kw):
    return lambda mp: mp.setattr(parity, "sinusoidal_table", sinusoidal_variant(**kw))


SIN_BUGS = [
    Bug("sin-cos-swapped", ("sinusoidal",), _table(swap=True)),
    Bug("base-1000", ("sinusoidal",), _table(base=1000.0)),
    Bug("exponent-i-over-d", ("sinusoidal",), _table(exponent="i")),
    Bug("positions-from-1", ("sinusoidal",), _table(start=1)),
]


def test_sinusoidal_variant_is_the_real_table_when_nothing_is_changed():
    """The planted tables differ from the real one by exactly what their name says."""
    from pizarra.nets.positional import sinusoidal_table

    assert torch.equal(sinusoidal_variant()(50, 16, torch.float64), sinusoidal_table(50, 16, torch.float64))


@pytest.mark.parametrize("bug", SIN_BUGS, ids=lambda b: b.id)
def test_sinusoidal_check_catches(bug, clean, monkeypatch):
    _assert_caught(bug, clean, monkeypatch)


# ------------------------------------------------------------------------------------ converters
# 1. A bug in ONE direction: the round-trip check ("converters") sees it.


def _one_way(name: str, change: Callable[[nn.Module], None]):
    def plant(mp):
        real = getattr(convert, name)

        def converted(module, *args, **kw):
            out = real(module, *args, **kw)
            with torch.no_grad():
                change(out)
            return out

        mp.setattr(parity, name, converted)

    return plant


def _transpose(w: torch.Tensor) -> None:
    w.copy_(w.T.clone())


def _transpose_hh(ref: nn.RNNBase) -> None:
    if ref.mode == "RNN_TANH":  # Elman: W_hh is square
        _transpose(ref.weight_hh_l0)


ONE_WAY_BUGS = [
    Bug("rnn_to_torch-whh-transposed", ("converters",), _one_way("rnn_to_torch", lambda r: _transpose_hh(r))),
    Bug(
        "mha_from_torch-wo-transposed", ("converters",), _one_way("mha_from_torch", lambda m: _transpose(m.W_o.weight))
    ),
    Bug(
        "block_to_torch-norm2-scaled", ("converters",), _one_way("block_to_torch", lambda r: r.norm2.weight.mul_(1.001))
    ),
]


@pytest.mark.parametrize("bug", ONE_WAY_BUGS, ids=lambda b: b.id)
def test_roundtrip_check_catches_a_one_way_bug(bug, clean, monkeypatch):
    _assert_caught(bug, clean, monkeypatch)


# 2. The same bug in BOTH directions gives the weights back unchanged: only outputs can tell.

DTYPE, B, T, C, H = torch.float64, 3, 5, 4, 4  # H == C: W_hh and W_ih both square, so a transposition fits


def _randomize(module: nn.Module, g: torch.Generator) -> nn.Module:
    """Every parameter random, biases and LayerNorms included (their defaults 0 and 1 hide swaps)."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.5)
    return module


def converter_outputs() -> dict:
    """Every converter, both directions, judged on what the converted module COMPUTES.

    ours (random weights) -> *_to_torch -> same outputs on a random batch, and
    torch (random weights) -> *_from_torch -> same outputs; same result shape as a parity check."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(B, T, C, generator=g, dtype=DTYPE, requires_grad=True)  # grad on: no fused fast path
    pairs = []
    for kind, TorchRNN in convert.TORCH_RNN.items():
        ours = _randomize(RNN(kind, C, H, num_layers=2).to(DTYPE), g)
        pairs.append((ours(x)[0], convert.rnn_to_torch(ours)(x)[0]))
        ref = _randomize(TorchRNN(C, H, num_layers=2, batch_first=True).to(DTYPE), g)
        pairs.append((ref(x)[0], convert.rnn_from_torch(ref)(x)[0]))
    ours = _randomize(MultiHeadAttention(C, 2).to(DTYPE), g)
    pairs.append((ours(x)[0], convert.mha_to_torch(ours)(x, x, x, need_weights=False)[0]))
    ref = _randomize(nn.MultiheadAttention(C, 2, batch_first=True).to(DTYPE), g)
    pairs.append((ref(x, x, x, need_weights=False)[0], convert.mha_from_torch(ref)(x)[0]))
    mask = ~causal_mask(T)  # torch's convention: True = may NOT attend
    for norm_first, activation, causal in ((False, "relu", False), (True, "gelu", False), (True, "gelu", True)):
        cfg = TransformerConfig(d_model=C, n_heads=2, d_ff=8, activation=activation, norm_first=norm_first)
        ours = _randomize((DecoderBlock if causal else EncoderBlock)(cfg).to(DTYPE), g)
        ref = convert.block_to_torch(ours)
        pairs.append((ours(x)[0], ref(x, src_mask=mask, is_causal=True) if causal else ref(x)))
        ref = nn.TransformerEncoderLayer(
            C, 2, 8, dropout=0.0, activation=activation, batch_first=True, norm_first=norm_first
        ).to(DTYPE)
        ref = _randomize(ref, g)
        want = ref(x, src_mask=mask, is_causal=True) if causal else ref(x)
        pairs.append((want, convert.block_from_torch(ref, causal=causal)(x)[0]))
    return {
        "name": "converters-vs-torch-outputs",
        "max_abs_diff": parity._maxdiff(pairs),
        "compares": "RNN/LSTM/GRU, multi-head attention, encoder/decoder blocks with random weights (biases and "
        "norms too), both directions: outputs of the converted module on a random batch",
    }


def _roundtrip_diff() -> float:
    """torch -> ours -> torch, weights only (what a round trip can see)."""
    torch.manual_seed(0)
    refs = [nn.RNN(C, H, 2, batch_first=True), nn.LSTM(C, H, 2, batch_first=True), nn.GRU(C, H, batch_first=True)]
    pairs = []
    for r in refs:
        back = convert.rnn_to_torch(convert.rnn_from_torch(r)).state_dict()
        pairs += [(p, back[n]) for n, p in r.state_dict().items()]
    mha = nn.MultiheadAttention(C, 2, batch_first=True)
    back = convert.mha_to_torch(convert.mha_from_torch(mha)).state_dict()
    pairs += [(p, back[n]) for n, p in mha.state_dict().items()]
    layer = nn.TransformerEncoderLayer(C, 2, 8, batch_first=True)
    with torch.no_grad():
        layer.norm1.weight.mul_(2)  # the two norms differ, so a swap of them shows
    back = convert.block_to_torch(convert.block_from_torch(layer)).state_dict()
    pairs += [(p, back[n]) for n, p in layer.state_dict().items()]
    return parity._maxdiff(pairs)


def _swap_blocks(w: torch.Tensor, n: int, a: int, b: int) -> torch.Tensor:
    """w with its row blocks a and b (of n equal blocks) exchanged."""
    parts = list(w.chunk(n))
    parts[a], parts[b] = parts[b], parts[a]
    return torch.cat(parts)


def _reverse_heads(w: torch.Tensor, n_heads: int) -> torch.Tensor:
    """w's rows (one block of hs rows per head) with the heads in reverse order."""
    return torch.cat(list(w.chunk(n_heads))[::-1])


def _symmetric(name: str, fix_ours: Callable, fix_torch: Callable):
    """Plant the same mistake in ``<name>_from_torch`` and ``<name>_to_torch`` (in convert and in parity)."""

    def plant(mp):
        real_from, real_to = getattr(convert, f"{name}_from_torch"), getattr(convert, f"{name}_to_torch")

        def from_torch(ref, *args, **kw):
            ours = real_from(ref, *args, **kw)
            with torch.no_grad():
                fix_ours(ours)
            return ours

        def to_torch(ours):
            ref = real_to(ours)
            with torch.no_grad():
                fix_torch(ref)
            return ref

        for module in (convert, parity):
            mp.setattr(module, f"{name}_from_torch", from_torch)
            mp.setattr(module, f"{name}_to_torch", to_torch)

    return plant


def _rnn_bug(kinds: tuple[str, ...], change: Callable[[torch.Tensor, int], torch.Tensor], which=("ih", "hh")):
    """Apply ``change`` (an involution) to the weights/biases named by ``which`` of every layer, both ways."""
    n_gates = {"elman": 1, "lstm": 4, "gru": 3}

    def fix_ours(ours: RNN):
        if ours.kind in kinds:
            for cell in ours.cells:
                for lin in [cell.x2h] * ("ih" in which) + [cell.h2h] * ("hh" in which):
                    lin.weight.copy_(change(lin.weight, n_gates[ours.kind]))
                    lin.bias.copy_(change(lin.bias, n_gates[ours.kind]))

    def fix_torch(ref: nn.RNNBase):
        kind = {nn.RNN: "elman", nn.LSTM: "lstm", nn.GRU: "gru"}[type(ref)]
        if kind in kinds:
            for layer in range(ref.num_layers):
                for part in which:
                    for p in (getattr(ref, f"weight_{part}_l{layer}"), getattr(ref, f"bias_{part}_l{layer}")):
                        p.copy_(change(p, n_gates[kind]))

    return _symmetric("rnn", fix_ours, fix_torch)


def _transpose_square(w, n):
    return w.T.clone() if w.ndim == 2 and w.shape[0] == w.shape[1] else w


def _fix_mha_ours(change):
    def fix(m: MultiHeadAttention):
        lins = (m.W_q, m.W_k, m.W_v)
        w = change(torch.cat([lin.weight for lin in lins]), m.n_heads)
        b = change(torch.cat([lin.bias for lin in lins]), m.n_heads)
        for lin, wi, bi in zip(lins, w.chunk(3), b.chunk(3), strict=True):
            lin.weight.copy_(wi), lin.bias.copy_(bi)

    return fix


def _fix_mha_torch(change):
    def fix(m: nn.MultiheadAttention):
        m.in_proj_weight.copy_(change(m.in_proj_weight.clone(), m.num_heads))
        m.in_proj_bias.copy_(change(m.in_proj_bias.clone(), m.num_heads))

    return fix


def _q_k_swapped(w, n_heads):
    return _swap_blocks(w, 3, 0, 1)


def _heads_reversed_in_qkv(w, n_heads):
    return torch.cat([_reverse_heads(part, n_heads) for part in w.chunk(3)])


def _swap_norms(m, a: str, b: str):
    na, nb = m.get_submodule(a), m.get_submodule(b)
    saved = {k: v.clone() for k, v in na.state_dict().items()}
    na.load_state_dict(nb.state_dict())
    nb.load_state_dict(saved)


def _swap_both_norms(m) -> None:
    _swap_norms(m, "norm1", "norm2")


def _sym(bug_id: str, plant, suite_checks: tuple[str, ...]):
    """A converter bug, with the checks of `pizarra nets check` that see it too (they convert torch -> ours)."""
    return pytest.param(Bug(bug_id, suite_checks, plant), id=bug_id)


def _mha_bug(change):
    return _symmetric("mha", _fix_mha_ours(change), _fix_mha_torch(change))


RNNS = ("elman", "lstm", "gru")
SYMMETRIC_BUGS = [
    _sym("elman-whh-transposed", _rnn_bug(("elman",), _transpose_square, which=("hh",)), ("elman",)),
    _sym("lstm-gates-i-f-swapped", _rnn_bug(("lstm",), lambda w, n: _swap_blocks(w, n, 0, 1)), ("lstm",)),
    _sym("lstm-gates-g-o-swapped", _rnn_bug(("lstm",), lambda w, n: _swap_blocks(w, n, 2, 3)), ("lstm",)),
    _sym("gru-gates-r-z-swapped", _rnn_bug(("gru",), lambda w, n: _swap_blocks(w, n, 0, 1)), ("gru",)),
    _sym("mha-q-k-swapped", _mha_bug(_q_k_swapped), (*MHA, *BLOCKS)),
    _sym("mha-heads-reversed", _mha_bug(_heads_reversed_in_qkv), (*MHA, *BLOCKS)),
    # the block checks now randomise both LayerNorms, so they see this one too
    _sym("block-norms-swapped", _symmetric("block", _swap_both_norms, _swap_both_norms), BLOCKS),
]


def test_converter_outputs_pass_on_the_real_converters():
    r = converter_outputs()
    assert r["max_abs_diff"] <= TOL, r


@pytest.mark.parametrize("bug", SYMMETRIC_BUGS)
def test_outputs_catch_a_converter_wrong_the_same_way_both_ways(bug, clean, monkeypatch):
    assert _roundtrip_diff() <= TOL and converter_outputs()["max_abs_diff"] <= TOL  # the real converters
    bug.plant(monkeypatch)
    assert _roundtrip_diff() <= TOL, "the planted bug is symmetric: a round trip gives the weights back"
    got = converter_outputs()
    assert got["max_abs_diff"] > TOL, f"the output check missed {bug.id}: {got}"
    for name in bug.checks:  # `pizarra nets check` fails too where it converts torch -> ours
        assert clean[name]["ok"] and not _check(name)["ok"], name


# --------------------------------------------------------------------- holes in the parity checks
# Found by planting bugs, and closed in src/pizarra/nets/parity.py: _maxdiff returns inf for a missing
# gradient or a difference that is not finite; check_mha and check_block randomise every parameter.


def test_nan_gradients_fail_the_check(clean, monkeypatch):
    def nan_grad(self, x, h):  # the right output, and NaN gradients w.r.t. x (0 · ∞ of sqrt at 0)
        return _elman_forward(self, x, h) + 0 * (x - x.detach()).abs().sqrt().sum(-1, keepdim=True)

    _assert_caught(
        Bug("nan-gradients", ("elman-cell", "elman"), _patch(ElmanCell, "forward", nan_grad)), clean, monkeypatch
    )


def test_block_checks_see_the_two_norms_swapped(clean, monkeypatch):
    _assert_caught(
        Bug("norms-swapped", BLOCKS, _after_block_from_torch(_swap_both_norms)),
        clean,
        monkeypatch,
    )


def test_an_unused_weight_fails_the_cell_check_without_crashing(monkeypatch):
    monkeypatch.setattr(ElmanCell, "forward", elman_no_hidden_bias)
    (check,) = parity.run_checks(["elman-cell"])["checks"]
    assert not check["ok"]
