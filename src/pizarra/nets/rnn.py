"""Recurrent cells from the slide's equations, and one layer that unrolls any of them over time.

Each cell owns two linear maps, exactly as ``torch.nn.RNN/LSTM/GRU`` do:
``x2h`` (weight W_x·, bias b_x·) reads the input and ``h2h`` (W_h·, b_h·) reads the previous state.
Gate order inside the stacked weights is PyTorch's (LSTM: i, f, g, o; GRU: r, z, n), so weights
copy across unchanged (see ``convert.py``).
"""

from __future__ import annotations

import torch
from torch import nn


class ElmanCell(nn.Module):
    """Elman's simple recurrent cell:  h_t = tanh(W_xh x_t + W_hh h_{t-1} + b).

    (The output y_t = W_hy h_t is the model's head, a separate Linear on top of the layer.)
    """

    n_gates = 1

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.hidden_size = hidden_size
        self.x2h = nn.Linear(input_size, hidden_size)  # W_xh, b_xh
        self.h2h = nn.Linear(hidden_size, hidden_size)  # W_hh, b_hh

    def init_state(self, batch: int, like: torch.Tensor) -> torch.Tensor:
        return like.new_zeros(batch, self.hidden_size)  # h_0 = 0, (B, H)

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.x2h(x) + self.h2h(h))  # (B, H)

    @staticmethod
    def output(state: torch.Tensor) -> torch.Tensor:
        return state


class LSTMCell(nn.Module):
    """Long short-term memory (Hochreiter & Schmidhuber, 1997):

    i_t = σ(W_xi x_t + W_hi h_{t-1} + b_i)        input gate: how much new to write
    f_t = σ(W_xf x_t + W_hf h_{t-1} + b_f)        forget gate: how much memory to keep
    g_t = tanh(W_xg x_t + W_hg h_{t-1} + b_g)     candidate memory
    o_t = σ(W_xo x_t + W_ho h_{t-1} + b_o)        output gate: how much memory to show
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    h_t = o_t ⊙ tanh(c_t)
    """

    n_gates = 4

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.hidden_size = hidden_size
        self.x2h = nn.Linear(input_size, 4 * hidden_size)  # [W_xi; W_xf; W_xg; W_xo]
        self.h2h = nn.Linear(hidden_size, 4 * hidden_size)  # [W_hi; W_hf; W_hg; W_ho]

    def init_state(self, batch: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        zeros = like.new_zeros(batch, self.hidden_size)
        return zeros, zeros  # (h_0, c_0), each (B, H)

    def gates(self, x: torch.Tensor, h: torch.Tensor) -> dict[str, torch.Tensor]:
        """The four gates at one step, each (B, H)."""
        i, f, g, o = (self.x2h(x) + self.h2h(h)).chunk(4, dim=-1)
        return {"i": torch.sigmoid(i), "f": torch.sigmoid(f), "g": torch.tanh(g), "o": torch.sigmoid(o)}

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]):
        h, c = state
        gate = self.gates(x, h)
        c = gate["f"] * c + gate["i"] * gate["g"]  # (B, H)
        h = gate["o"] * torch.tanh(c)  # (B, H)
        return h, c

    @staticmethod
    def output(state) -> torch.Tensor:
        return state[0]


class GRUCell(nn.Module):
    """Gated recurrent unit (Cho et al., 2014), PyTorch's formulation:

    r_t = σ(W_xr x_t + b_xr + W_hr h_{t-1} + b_hr)          reset gate
    z_t = σ(W_xz x_t + b_xz + W_hz h_{t-1} + b_hz)          update gate
    n_t = tanh(W_xn x_t + b_xn + r_t ⊙ (W_hn h_{t-1} + b_hn))  candidate state
    h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}
    """

    n_gates = 3

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.hidden_size = hidden_size
        self.x2h = nn.Linear(input_size, 3 * hidden_size)  # [W_xr; W_xz; W_xn]
        self.h2h = nn.Linear(hidden_size, 3 * hidden_size)  # [W_hr; W_hz; W_hn]

    def init_state(self, batch: int, like: torch.Tensor) -> torch.Tensor:
        return like.new_zeros(batch, self.hidden_size)

    def gates(self, x: torch.Tensor, h: torch.Tensor) -> dict[str, torch.Tensor]:
        xr, xz, xn = self.x2h(x).chunk(3, dim=-1)
        hr, hz, hn = self.h2h(h).chunk(3, dim=-1)
        r = torch.sigmoid(xr + hr)
        z = torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        return {"r": r, "z": z, "n": n}

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        gate = self.gates(x, h)
        return (1 - gate["z"]) * gate["n"] + gate["z"] * h  # (B, H)

    @staticmethod
    def output(state: torch.Tensor) -> torch.Tensor:
        return state


CELLS = {"elman": ElmanCell, "lstm": LSTMCell, "gru": GRUCell}


def _where(keep: torch.Tensor, new, old):
    """new where keep (B, 1) else old, for a state that is a tensor or a tuple of tensors."""
    if isinstance(new, tuple):
        return tuple(torch.where(keep, n, o) for n, o in zip(new, old, strict=False))
    return torch.where(keep, new, old)


class RNN(nn.Module):
    """Unroll a cell over time, ``num_layers`` stacked: layer l reads the outputs of layer l-1.

        for t in 1..T:  state_t = cell(x_t, state_{t-1});  out_t = h_t

    ``lengths`` (B,) gives each sequence's true length in a right-padded batch: past its end a
    sequence's state stops changing and its outputs are 0, which is what ``nn.RNN`` computes on a
    ``PackedSequence`` (and ``pad_packed_sequence`` pads with 0). Batch first: x is (B, T, C).
    """

    def __init__(self, kind: str, input_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0):
        super().__init__()
        if kind not in CELLS:
            raise ValueError(f"kind must be one of {', '.join(CELLS)}, got {kind!r}")
        self.kind, self.hidden_size, self.num_layers = kind, hidden_size, num_layers
        self.cells = nn.ModuleList(
            CELLS[kind](input_size if layer == 0 else hidden_size, hidden_size) for layer in range(num_layers)
        )
        self.dropout = nn.Dropout(dropout)  # between layers, as in torch.nn.RNN

    def forward(self, x: torch.Tensor, state: list | None = None, lengths: torch.Tensor | None = None):
        """x (B, T, C) -> (outputs (B, T, H) of the last layer, final state of every layer)."""
        B, T, _ = x.shape
        states = list(state) if state is not None else [c.init_state(B, x) for c in self.cells]
        valid = None if lengths is None else (torch.arange(T, device=x.device)[None, :] < lengths[:, None])  # (B, T)
        for layer, cell in enumerate(self.cells):
            s, outs = states[layer], []
            for t in range(T):
                new = cell(x[:, t], s)
                s = new if valid is None else _where(valid[:, t, None], new, s)
                h = cell.output(s)  # (B, H)
                outs.append(h if valid is None else h * valid[:, t, None])
            states[layer] = s
            x = torch.stack(outs, dim=1)  # (B, T, H)
            if layer < self.num_layers - 1:
                x = self.dropout(x)
        return x, states
