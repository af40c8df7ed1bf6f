"""Glass box = black box: every class of ``pizarra.nets`` against its PyTorch reference.

Each check builds the torch.nn reference with random weights (float64), copies them into ours with
the converters, runs both on the same batch (variable lengths, padding and causal masks), and
compares the outputs AND the gradients of a random scalar of the outputs w.r.t. the inputs and
every weight. ``max_abs_diff`` is the largest difference over all of them; a check is ``ok`` below
``TOL`` = 1e-6.

    pizarra nets check [--json]   ->   {"checks": [{"name", "max_abs_diff", "ok", "compares"}], "ok"}
"""

from __future__ import annotations

import copy
import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from pizarra.nets.attention import causal_mask, padding_mask, scaled_dot_product_attention
from pizarra.nets.convert import (
    block_from_torch,
    block_to_torch,
    mha_from_torch,
    mha_to_torch,
    rnn_from_torch,
    rnn_to_torch,
)
from pizarra.nets.positional import sinusoidal_table
from pizarra.nets.rnn import CELLS

TOL = 1e-6
DTYPE = torch.float64
B, T, C, H = 4, 7, 5, 6  # batch, time, input width, hidden width
LENGTHS = torch.tensor([7, 3, 5, 1])  # variable lengths, unsorted, one of length 1


def _maxdiff(pairs) -> float:
    """The largest |a - b| over all pairs; inf when one side is missing (a gradient that never came) or a
    difference is NaN or infinite, so that neither can pass for equal."""
    worst = 0.0
    for a, b in pairs:
        if a is None or b is None:
            return math.inf
        d = (a - b).abs().max().item()
        if not math.isfinite(d):
            return math.inf
        worst = max(worst, d)
    return worst


def _randomize(module: nn.Module, seed: int = 0) -> nn.Module:
    """Every parameter random: the default init makes LayerNorms (1, 0) and attention biases 0, so a
    converter swapping the two norms, or two zero biases, would go unseen."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.5)
    return module


def _grads_as_module(module: nn.Module) -> nn.Module:
    """A copy of ``module`` whose parameters hold its gradients, so converters can map them too."""
    g = copy.deepcopy(module)
    with torch.no_grad():
        for p, q in zip(g.parameters(), module.parameters(), strict=False):
            p.copy_(q.grad if q.grad is not None else torch.zeros_like(q))
    return g


def _param_grads(module: nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.grad for n, p in module.named_parameters()}


def _compare_weights_and_grads(ref: nn.Module, ours_as_ref: nn.Module, grads_as_ref: nn.Module) -> list:
    """Pairs (ref weight, converted ours weight) and (ref grad, converted ours grad), by name."""
    ours_w = dict(ours_as_ref.named_parameters())
    ours_g = dict(grads_as_ref.named_parameters())
    pairs = []
    for name, p in ref.named_parameters():
        pairs.append((p.detach(), ours_w[name].detach()))
        pairs.append((p.grad, ours_g[name].detach()))
    return pairs


def _inputs(seed: int, *shape):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, generator=g, dtype=DTYPE)
    return x.clone().requires_grad_(), x.clone().requires_grad_(), g


# -------------------------------------------------------------------------------------------- checks


def check_rnn(kind: str, num_layers: int = 2) -> dict:
    """Our RNN(kind) on a right-padded batch with ``lengths`` vs nn.RNN/LSTM/GRU on the PackedSequence."""
    torch.manual_seed(0)
    ref = {"elman": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind](C, H, num_layers=num_layers, batch_first=True).to(
        DTYPE
    )
    ours = rnn_from_torch(ref)
    x_ref, x_ours, g = _inputs(1, B, T, C)
    R = torch.randn(B, T, H, generator=g, dtype=DTYPE)  # random projection: loss = <R, out> + <Rh, h_n>
    Rh = torch.randn(num_layers, B, H, generator=g, dtype=DTYPE)

    packed = pack_padded_sequence(x_ref, LENGTHS, batch_first=True, enforce_sorted=False)
    out_p, state_ref = ref(packed)
    out_ref, _ = pad_packed_sequence(out_p, batch_first=True, total_length=T)  # (B, T, H), 0 past the end
    h_ref = state_ref[0] if kind == "lstm" else state_ref  # (L, B, H)
    out_ours, states = ours(x_ours, lengths=LENGTHS)
    h_ours = torch.stack([CELLS[kind].output(s) for s in states])  # (L, B, H)
    pairs = [(out_ref, out_ours), (h_ref, h_ours)]
    if kind == "lstm":
        pairs.append((state_ref[1], torch.stack([s[1] for s in states])))

    ((out_ref * R).sum() + (h_ref * Rh).sum()).backward()
    ((out_ours * R).sum() + (h_ours * Rh).sum()).backward()
    pairs.append((x_ref.grad, x_ours.grad))
    pairs += _compare_weights_and_grads(ref, rnn_to_torch(ours), rnn_to_torch(_grads_as_module(ours)))
    return {
        "name": f"{kind}-vs-nn.{ref.__class__.__name__}",
        "max_abs_diff": _maxdiff(pairs),
        "compares": f"{num_layers} layers, batch {B}, lengths {LENGTHS.tolist()} (packed), outputs, "
        "final states, grads w.r.t. input and all weights",
    }


def check_cell(kind: str) -> dict:
    """One step of our cell vs nn.RNNCell/LSTMCell/GRUCell."""
    torch.manual_seed(0)
    ref = {"elman": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}[kind](C, H).to(DTYPE)
    ours = CELLS[kind](C, H).to(DTYPE)
    with torch.no_grad():
        ours.x2h.weight.copy_(ref.weight_ih), ours.x2h.bias.copy_(ref.bias_ih)
        ours.h2h.weight.copy_(ref.weight_hh), ours.h2h.bias.copy_(ref.bias_hh)
    x_ref, x_ours, g = _inputs(2, B, C)
    h_ref, h_ours, _ = _inputs(3, B, H)
    if kind == "lstm":
        c_ref, c_ours, _ = _inputs(4, B, H)
        a, b = ref(x_ref, (h_ref, c_ref)), ours(x_ours, (h_ours, c_ours))
        ya, yb = a[0] + 2 * a[1], b[0] + 2 * b[1]  # one output that depends on both h_t and c_t
    else:
        ya, yb = ref(x_ref, h_ref), ours(x_ours, h_ours)
    R = torch.randn(B, H, generator=g, dtype=DTYPE)
    (ya * R).sum().backward()
    (yb * R).sum().backward()
    extra = [(c_ref.grad, c_ours.grad)] if kind == "lstm" else []
    grads = {
        "weight_ih": ours.x2h.weight.grad,
        "bias_ih": ours.x2h.bias.grad,
        "weight_hh": ours.h2h.weight.grad,
        "bias_hh": ours.h2h.bias.grad,
    }
    pairs = [(ya, yb), (x_ref.grad, x_ours.grad), (h_ref.grad, h_ours.grad), *extra]
    pairs += [(p.grad, grads[n]) for n, p in ref.named_parameters()]
    return {
        "name": f"{kind}-cell-vs-nn.{ref.__class__.__name__}",
        "max_abs_diff": _maxdiff(pairs),
        "compares": "one step: new state, grads w.r.t. input, state and weights",
    }


def check_sdpa() -> dict:
    """softmax(q·kᵀ/√d)·v vs F.scaled_dot_product_attention, with causal & padding masks."""
    q1, q2, g = _inputs(5, B, 2, T, 8)
    k1, k2, _ = _inputs(6, B, 2, T, 8)
    v1, v2, _ = _inputs(7, B, 2, T, 8)
    mask = causal_mask(T) & padding_mask(LENGTHS, T)  # (B, 1, T, T)
    ref = F.scaled_dot_product_attention(q1, k1, v1, attn_mask=mask)
    ours, weights = scaled_dot_product_attention(q2, k2, v2, mask)
    R = torch.randn(B, 2, T, 8, generator=g, dtype=DTYPE)
    (ref * R).sum().backward()
    (ours * R).sum().backward()
    pairs = [
        (ref, ours),
        (q1.grad, q2.grad),
        (k1.grad, k2.grad),
        (v1.grad, v2.grad),
        (weights.sum(-1), torch.ones_like(weights.sum(-1))),
    ]  # rows of weights sum to 1
    return {
        "name": "attention-vs-F.scaled_dot_product_attention",
        "max_abs_diff": _maxdiff(pairs),
        "compares": "causal + padding mask: output, grads w.r.t. q, k, v; weights sum to 1",
    }


def check_mha(causal: bool) -> dict:
    """MultiHeadAttention vs nn.MultiheadAttention (per-head weights too), padding [+ causal] mask."""
    torch.manual_seed(0)
    d, heads = 8, 2
    ref = _randomize(nn.MultiheadAttention(d, heads, batch_first=True).to(DTYPE))
    ours = mha_from_torch(ref)
    x_ref, x_ours, g = _inputs(8, B, T, d)
    pad = padding_mask(LENGTHS, T)  # (B, 1, 1, T), True = real token
    mask = pad & causal_mask(T) if causal else pad
    y_ref, w_ref = ref(
        x_ref,
        x_ref,
        x_ref,
        key_padding_mask=~pad[:, 0, 0],
        attn_mask=~causal_mask(T) if causal else None,
        need_weights=True,
        average_attn_weights=False,
    )
    y_ours, w_ours = ours(x_ours, mask=mask)
    R = torch.randn(B, T, d, generator=g, dtype=DTYPE)
    (y_ref * R).sum().backward()
    (y_ours * R).sum().backward()
    pairs = [(y_ref, y_ours), (w_ref, w_ours), (x_ref.grad, x_ours.grad)]
    pairs += _compare_weights_and_grads(ref, mha_to_torch(ours), mha_to_torch(_grads_as_module(ours)))
    return {
        "name": f"multihead-{'causal' if causal else 'padding'}-vs-nn.MultiheadAttention",
        "max_abs_diff": _maxdiff(pairs),
        "compares": f"{heads} heads, padding{' + causal' if causal else ''} mask: output, per-head "
        "weights, grads w.r.t. input and all weights",
    }


def check_block(norm_first: bool, activation: str, causal: bool) -> dict:
    """EncoderBlock / DecoderBlock vs nn.TransformerEncoderLayer (the decoder with a causal src_mask)."""
    torch.manual_seed(0)
    d = 8
    ref = _randomize(
        nn.TransformerEncoderLayer(
            d, 2, 16, dropout=0.0, activation=activation, batch_first=True, norm_first=norm_first
        ).to(DTYPE)
    )
    ours = block_from_torch(ref, causal=causal)
    x_ref, x_ours, g = _inputs(9, B, T, d)
    pad = padding_mask(LENGTHS, T)
    y_ref = ref(
        x_ref, src_mask=~causal_mask(T) if causal else None, src_key_padding_mask=~pad[:, 0, 0], is_causal=causal
    )
    y_ours, _ = ours(x_ours, pad)  # the DecoderBlock adds its causal mask itself
    R = torch.randn(B, T, d, generator=g, dtype=DTYPE)
    (y_ref * R).sum().backward()
    (y_ours * R).sum().backward()
    pairs = [(y_ref, y_ours), (x_ref.grad, x_ours.grad)]
    pairs += _compare_weights_and_grads(ref, block_to_torch(ours), block_to_torch(_grads_as_module(ours)))
    kind = "decoder" if causal else "encoder"
    return {
        "name": f"{kind}-block-{'prenorm' if norm_first else 'postnorm'}-{activation}-vs-nn.TransformerEncoderLayer",
        "max_abs_diff": _maxdiff(pairs),
        "compares": f"padding{' + causal' if causal else ''} mask: output, grads w.r.t. input and all weights",
    }


def check_sinusoidal() -> dict:
    """Our vectorised table vs the formula written element by element with ``math``."""
    n, d = 50, 16
    ours = sinusoidal_table(n, d, dtype=DTYPE)
    ref = torch.tensor(
        [
            [math.sin(p / 10000 ** (i / d)) if i % 2 == 0 else math.cos(p / 10000 ** ((i - 1) / d)) for i in range(d)]
            for p in range(n)
        ],
        dtype=DTYPE,
    )
    return {
        "name": "sinusoidal-positions-vs-formula",
        "max_abs_diff": _maxdiff([(ref, ours)]),
        "compares": "PE[pos, 2i] = sin(pos/10000^(2i/d)), PE[pos, 2i+1] = cos(...), 50 × 16",
    }


def check_roundtrip() -> dict:
    """torch -> ours -> torch gives back exactly the same weights, for every converter."""
    torch.manual_seed(0)
    refs = [nn.RNN(C, H, 2, batch_first=True), nn.LSTM(C, H, 2, batch_first=True), nn.GRU(C, H, batch_first=True)]
    pairs = []
    for r in refs:
        back = rnn_to_torch(rnn_from_torch(r))
        pairs += [(p, back.state_dict()[n]) for n, p in r.state_dict().items()]
    mha = nn.MultiheadAttention(8, 2, batch_first=True)
    pairs += [(p, mha_to_torch(mha_from_torch(mha)).state_dict()[n]) for n, p in mha.state_dict().items()]
    layer = nn.TransformerEncoderLayer(8, 2, 16, batch_first=True)
    back = block_to_torch(block_from_torch(layer)).state_dict()
    pairs += [(p, back[n]) for n, p in layer.state_dict().items()]
    return {
        "name": "converters-roundtrip",
        "max_abs_diff": _maxdiff(pairs),
        "compares": "nn.RNN/LSTM/GRU, nn.MultiheadAttention, nn.TransformerEncoderLayer state_dicts",
    }


CHECKS: dict[str, Callable[[], dict]] = {
    "elman": lambda: check_rnn("elman"),
    "lstm": lambda: check_rnn("lstm"),
    "gru": lambda: check_rnn("gru"),
    "elman-cell": lambda: check_cell("elman"),
    "lstm-cell": lambda: check_cell("lstm"),
    "gru-cell": lambda: check_cell("gru"),
    "attention": check_sdpa,
    "multihead-padding": lambda: check_mha(False),
    "multihead-causal": lambda: check_mha(True),
    "encoder-postnorm": lambda: check_block(False, "relu", False),
    "encoder-prenorm": lambda: check_block(True, "gelu", False),
    "decoder": lambda: check_block(True, "gelu", True),
    "sinusoidal": check_sinusoidal,
    "converters": check_roundtrip,
}


def run_checks(names: list[str] | None = None) -> dict:
    """Run the checks ``names`` (default all): ``{"checks": [...], "ok": all ok, "tolerance": TOL}``."""
    results = []
    for name in names or CHECKS:
        r = CHECKS[name]()
        r["max_abs_diff"] = float(r["max_abs_diff"])
        r["ok"] = bool(r["max_abs_diff"] <= TOL)
        results.append({"name": r["name"], "max_abs_diff": r["max_abs_diff"], "ok": r["ok"], "compares": r["compares"]})
    return {"checks": results, "ok": all(r["ok"] for r in results), "tolerance": TOL, "dtype": "float64"}
