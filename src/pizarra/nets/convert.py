"""Weight converters both ways between the glass-box classes and their torch.nn references.

    rnn_from_torch(nn.RNN | nn.LSTM | nn.GRU) -> RNN          rnn_to_torch(RNN) -> nn.RNN | nn.LSTM | nn.GRU
    mha_from_torch(nn.MultiheadAttention) -> MultiHeadAttention     mha_to_torch(...)
    block_from_torch(nn.TransformerEncoderLayer, causal=False) -> EncoderBlock | DecoderBlock
    block_to_torch(EncoderBlock | DecoderBlock) -> nn.TransformerEncoderLayer

The new module gets copies of the weights (same dtype), so the two can be compared side by side.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from pizarra.nets.attention import MultiHeadAttention
from pizarra.nets.blocks import DecoderBlock, EncoderBlock, TransformerConfig
from pizarra.nets.rnn import RNN

TORCH_RNN = {"elman": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def _like(module: nn.Module) -> dict:
    p = next(module.parameters())
    return {"dtype": p.dtype, "device": p.device}


@torch.no_grad()
def rnn_from_torch(ref: nn.RNNBase) -> RNN:
    kind = {nn.RNN: "elman", nn.LSTM: "lstm", nn.GRU: "gru"}[type(ref)]
    if not ref.batch_first or ref.bidirectional or getattr(ref, "proj_size", 0) or not ref.bias:
        raise ValueError("only batch_first, unidirectional RNNs with biases and no projection convert")
    if kind == "elman" and ref.nonlinearity != "tanh":
        raise ValueError("Elman's cell is tanh; this nn.RNN uses " + ref.nonlinearity)
    ours = RNN(kind, ref.input_size, ref.hidden_size, ref.num_layers, ref.dropout).to(**_like(ref))
    for layer, cell in enumerate(ours.cells):
        cell.x2h.weight.copy_(getattr(ref, f"weight_ih_l{layer}"))
        cell.x2h.bias.copy_(getattr(ref, f"bias_ih_l{layer}"))
        cell.h2h.weight.copy_(getattr(ref, f"weight_hh_l{layer}"))
        cell.h2h.bias.copy_(getattr(ref, f"bias_hh_l{layer}"))
    return ours


@torch.no_grad()
def rnn_to_torch(ours: RNN) -> nn.RNNBase:
    first = ours.cells[0]
    ref = TORCH_RNN[ours.kind](
        first.x2h.in_features, ours.hidden_size, num_layers=ours.num_layers, dropout=ours.dropout.p, batch_first=True
    ).to(**_like(ours))
    for layer, cell in enumerate(ours.cells):
        getattr(ref, f"weight_ih_l{layer}").copy_(cell.x2h.weight)
        getattr(ref, f"bias_ih_l{layer}").copy_(cell.x2h.bias)
        getattr(ref, f"weight_hh_l{layer}").copy_(cell.h2h.weight)
        getattr(ref, f"bias_hh_l{layer}").copy_(cell.h2h.bias)
    return ref


@torch.no_grad()
def mha_from_torch(ref: nn.MultiheadAttention) -> MultiHeadAttention:
    if not ref._qkv_same_embed_dim or not ref.batch_first:
        raise ValueError("only batch_first attention with kdim = vdim = embed_dim converts")
    bias = ref.in_proj_bias is not None
    ours = MultiHeadAttention(ref.embed_dim, ref.num_heads, ref.dropout, bias).to(**_like(ref))
    for lin, w in zip((ours.W_q, ours.W_k, ours.W_v), ref.in_proj_weight.chunk(3), strict=False):
        lin.weight.copy_(w)
    if bias:
        for lin, b in zip((ours.W_q, ours.W_k, ours.W_v), ref.in_proj_bias.chunk(3), strict=False):
            lin.bias.copy_(b)
        ours.W_o.bias.copy_(ref.out_proj.bias)
    ours.W_o.weight.copy_(ref.out_proj.weight)
    return ours


@torch.no_grad()
def mha_to_torch(ours: MultiHeadAttention) -> nn.MultiheadAttention:
    bias = ours.W_q.bias is not None
    ref = nn.MultiheadAttention(ours.d_model, ours.n_heads, dropout=ours.dropout, bias=bias, batch_first=True).to(
        **_like(ours)
    )
    ref.in_proj_weight.copy_(torch.cat([ours.W_q.weight, ours.W_k.weight, ours.W_v.weight]))
    ref.out_proj.weight.copy_(ours.W_o.weight)
    if bias:
        ref.in_proj_bias.copy_(torch.cat([ours.W_q.bias, ours.W_k.bias, ours.W_v.bias]))
        ref.out_proj.bias.copy_(ours.W_o.bias)
    return ref


def _activation_name(act) -> str:
    if act is F.relu or isinstance(act, nn.ReLU):
        return "relu"
    if act is F.gelu or (isinstance(act, nn.GELU) and act.approximate == "none"):
        return "gelu"
    raise ValueError(f"unsupported activation {act!r}: relu or gelu")


_BLOCK_PAIRS = [  # (ours, torch.nn.TransformerEncoderLayer), attention handled apart
    ("ffn.linear1", "linear1"),
    ("ffn.linear2", "linear2"),
    ("norm1", "norm1"),
    ("norm2", "norm2"),
]


@torch.no_grad()
def block_from_torch(ref: nn.TransformerEncoderLayer, causal: bool = False) -> EncoderBlock:
    """An EncoderBlock (or, with ``causal``, a DecoderBlock) with ``ref``'s weights."""
    if not ref.self_attn.batch_first:
        raise ValueError("only batch_first=True layers convert")
    cfg = TransformerConfig(
        d_model=ref.self_attn.embed_dim,
        n_heads=ref.self_attn.num_heads,
        d_ff=ref.linear1.out_features,
        dropout=ref.dropout.p,
        activation=_activation_name(ref.activation),
        norm_first=ref.norm_first,
        bias=ref.linear1.bias is not None,
        layer_norm_eps=ref.norm1.eps,
    )
    ours = (DecoderBlock if causal else EncoderBlock)(cfg).to(**_like(ref))
    ours.attn = mha_from_torch(ref.self_attn)
    for mine, theirs in _BLOCK_PAIRS:
        ours.get_submodule(mine).load_state_dict(ref.get_submodule(theirs).state_dict())
    return ours


@torch.no_grad()
def block_to_torch(ours: EncoderBlock) -> nn.TransformerEncoderLayer:
    """The nn.TransformerEncoderLayer computing the same (for a DecoderBlock, call it with a causal mask)."""
    lin1 = ours.ffn.linear1
    ref = nn.TransformerEncoderLayer(
        lin1.in_features,
        ours.attn.n_heads,
        lin1.out_features,
        dropout=ours.dropout1.p,
        activation="gelu" if isinstance(ours.ffn.act, nn.GELU) else "relu",
        layer_norm_eps=ours.norm1.eps,
        batch_first=True,
        norm_first=ours.norm_first,
        bias=lin1.bias is not None,
    ).to(**_like(ours))
    ref.self_attn = mha_to_torch(ours.attn)
    for mine, theirs in _BLOCK_PAIRS:
        ref.get_submodule(theirs).load_state_dict(ours.get_submodule(mine).state_dict())
    return ref
