"""Chapter 4 — Redes recurrentes y Transformers, written from the slide's equations.

    rnn.py         ElmanCell, LSTMCell, GRUCell and RNN (a layer that unrolls any of them)
    attention.py   scaled_dot_product_attention, MultiHeadAttention, causal_mask, padding_mask
    positional.py  SinusoidalPositions, LearnedPositions
    blocks.py      TransformerConfig, EncoderBlock, DecoderBlock, TransformerEncoder, TransformerLM
    convert.py     weight converters both ways between these classes and torch.nn
    parity.py      every "glass box = black box" check (``pizarra nets check``)
    ladder.py      bigram -> MLP -> Elman -> GRU -> LSTM -> Transformer language models (``pizarra nets ladder``)
    explain.py     what the page plots: states, gates, attention, positions, vanishing gradients
    cli.py         `pizarra nets check | ladder`

Every class here computes exactly what its PyTorch reference computes given the same weights
(``parity.py`` proves it to 1e-6 in float64, outputs and gradients).
"""

from pizarra.nets.attention import MultiHeadAttention, causal_mask, padding_mask, scaled_dot_product_attention
from pizarra.nets.blocks import DecoderBlock, EncoderBlock, TransformerConfig, TransformerEncoder, TransformerLM
from pizarra.nets.positional import LearnedPositions, SinusoidalPositions, sinusoidal_table
from pizarra.nets.rnn import RNN, ElmanCell, GRUCell, LSTMCell

__all__ = [
    "RNN",
    "DecoderBlock",
    "ElmanCell",
    "EncoderBlock",
    "GRUCell",
    "LSTMCell",
    "LearnedPositions",
    "MultiHeadAttention",
    "SinusoidalPositions",
    "TransformerConfig",
    "TransformerEncoder",
    "TransformerLM",
    "causal_mask",
    "padding_mask",
    "scaled_dot_product_attention",
    "sinusoidal_table",
]
