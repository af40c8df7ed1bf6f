"""What the chapter's page plots, computed from the trained ladder models (artifacts ``nets-*``).

    elman_states(text)     h_t of the trained Elman RNN at every character, and its next-char guesses
    lstm_gates(text)       input/forget/output gates of the trained LSTM at every character
    attention_maps(text)   the trained Transformer's attention weights, per layer and head
    positional_matrix()    the sinusoidal positional-encoding matrix
    vanishing_gradients()  ‖∂h_T/∂h_0‖ against T, trained Elman vs trained LSTM

Text goes through ``prepare``: empty text is refused, characters the model never saw become the
unknown symbol, text past the limit is cut; both with a notice ``{"code", ...}`` the page translates.
"""

from __future__ import annotations

import torch

from pizarra.errors import BadInput
from pizarra.nets.ladder import UNK, CharVocab, load_lm
from pizarra.nets.positional import sinusoidal_table

RNN_MAX_CHARS = 160  # an RNN has no context limit; this keeps the plots readable
SHOWN_UNITS = 24  # hidden units shown in the heatmaps: the ones that vary most over the text
EXAMPLES = {
    "nubes": "Las nubes están en el cielo",
    "francia": "Crecí en Francia y viví allí. Hablo fluidamente francés",
    "quijote": "En un lugar de la Mancha, de cuyo nombre no quiero acordarme",
}
VANISHING_TEXT = (
    "En un lugar de la Mancha, de cuyo nombre no quiero acordarme, no ha mucho tiempo que vivía "
    "un hidalgo de los de lanza en astillero, adarga antigua, rocín flaco y galgo corredor."
)


def prepare(text: str, vocab: CharVocab, max_chars: int) -> tuple[str, list[int], list[dict]]:
    """(text as the model sees it, its ids, notices). Raises BadInput for empty text."""
    if text is None or not text.strip():
        raise BadInput(
            "The sentence is empty: type at least one character. / La frase está vacía.", key="err.nets.empty"
        )
    text = text.encode("utf-8", "replace").decode("utf-8")  # no lone surrogates past this point
    notices = []
    if len(text) > max_chars:
        notices.append({"code": "truncated", "length": len(text), "kept": max_chars})
        text = text[:max_chars]
    unknown = vocab.unknown(text)
    if unknown:
        notices.append({"code": "unknown", "chars": unknown, "symbol": UNK})
    ids = vocab.encode(text)
    return vocab.decode(ids), ids, notices


def _top_units(m: torch.Tensor, k: int) -> list[int]:
    """Indices of the k columns of m (T, H) that vary most over time (all of them for T = 1)."""
    spread = m.std(0) if m.size(0) > 1 else m.abs()[0]
    return spread.topk(min(k, m.size(1))).indices.sort().values.tolist()


def _round(t: torch.Tensor, nd: int = 4) -> list:
    return torch.round(t.double() * 10**nd).div(10**nd).tolist()


@torch.no_grad()
def _run_cells(model, ids: list[int], record_gates: bool = False):
    """Step the (one-layer) RNN of a ladder model through ids; (h_t (T, H), gates {name: (T, H)}, logits)."""
    cell = model.rnn.cells[0]
    x = model.emb(torch.tensor([ids]))  # (1, T, E)
    state = cell.init_state(1, x)
    hs, gates = [], {}
    for t in range(len(ids)):
        if record_gates:
            h_prev = cell.output(state)
            for name, g in cell.gates(x[:, t], h_prev).items():
                gates.setdefault(name, []).append(g[0])
        state = cell(x[:, t], state)
        hs.append(cell.output(state)[0])
    h = torch.stack(hs)  # (T, H)
    return h, {k: torch.stack(v) for k, v in gates.items()}, model.head(h)  # logits (T, V)


def _next_chars(logits: torch.Tensor, vocab: CharVocab, k: int = 3) -> list[list]:
    p = logits.softmax(-1)
    top = p.topk(k, dim=-1)
    return [
        [[vocab.chars[i], round(v, 3)] for i, v in zip(ii.tolist(), vv.tolist(), strict=False)]
        for ii, vv in zip(top.indices, top.values, strict=False)
    ]


def _card_summary(card: dict) -> dict:
    m = card.get("metrics") or {}
    return {
        "artifact": card.get("name"),
        "params": m.get("params"),
        "val_loss_nats": m.get("val_loss_nats"),
        "val_bits_per_char": m.get("val_bits_per_char"),
        "steps": m.get("steps"),
    }


def elman_states(text: str, units: int = SHOWN_UNITS, root=None) -> dict:
    """The unrolled Elman RNN: h_t = tanh(W_xh x_t + W_hh h_{t-1} + b) at each character."""
    model, vocab, card = load_lm("elman", root)
    text, ids, notices = prepare(text, vocab, RNN_MAX_CHARS)
    h, _, logits = _run_cells(model, ids)
    keep = _top_units(h, units)
    return {
        "chars": list(text),
        "units": keep,
        "states": _round(h[:, keep].T, 3),  # (units, T)
        "norms": _round(h.norm(dim=1), 3),
        "next": _next_chars(logits, vocab),
        "hidden_size": h.size(1),
        "notices": notices,
        "model": _card_summary(card),
    }


def lstm_gates(text: str, units: int = SHOWN_UNITS, root=None) -> dict:
    """The trained LSTM's gates i_t, f_t, o_t (and c_t) at each character."""
    model, vocab, card = load_lm("lstm", root)
    text, ids, notices = prepare(text, vocab, RNN_MAX_CHARS)
    h, gates, logits = _run_cells(model, ids, record_gates=True)
    keep = _top_units(torch.cat([gates["i"], gates["f"], gates["o"]], dim=0).view(3, len(ids), -1).mean(0), units)
    return {
        "chars": list(text),
        "units": keep,
        "gates": {name: _round(gates[name][:, keep].T, 3) for name in ("i", "f", "o")},  # (units, T)
        "mean": {name: _round(gates[name].mean(1), 3) for name in ("i", "f", "o")},  # (T,)
        "next": _next_chars(logits, vocab),
        "hidden_size": h.size(1),
        "notices": notices,
        "model": _card_summary(card),
    }


@torch.no_grad()
def attention_maps(text: str, root=None) -> dict:
    """softmax(q·kᵀ/√d) of every head of every layer of the trained Transformer, (T, T) each."""
    model, vocab, card = load_lm("transformer", root)
    text, ids, notices = prepare(text, vocab, model.cfg.block_size)
    _, maps = model.hidden(torch.tensor([ids]))
    logits, _ = model(torch.tensor([ids]))
    return {
        "chars": list(text),
        "layers": len(maps),
        "heads": maps[0].size(1),
        "weights": [_round(w[0], 3) for w in maps],  # [layer][head][query][key]
        "next": _next_chars(logits[0], vocab),
        "context": model.cfg.block_size,
        "notices": notices,
        "model": _card_summary(card),
    }


def positional_matrix(positions: int = 64, d_model: int = 64) -> dict:
    """PE (positions, d_model): row = position, column = dimension."""
    return {"positions": positions, "d_model": d_model, "matrix": _round(sinusoidal_table(positions, d_model), 3)}


def _state_jacobians(cell, x: torch.Tensor) -> torch.Tensor:
    """∂state_t/∂state_{t-1} at every step t, (T, S, S), over the flattened state (h, or [h; c])."""
    from torch.func import jacrev, vmap

    H = cell.hidden_size
    lstm = isinstance(cell.init_state(1, x), tuple)

    def step(xt, s):  # one step on a flat state, (E,), (S,) -> (S,)
        new = cell(xt[None], (s[None, :H], s[None, H:])) if lstm else cell(xt[None], s[None])
        return (torch.cat(new, -1) if lstm else new)[0]

    with torch.no_grad():  # the states s_0 .. s_{T-1} the Jacobians are taken at
        s, before = x.new_zeros(2 * H if lstm else H), []
        for t in range(x.size(0)):
            before.append(s)
            s = step(x[t], s)
    return vmap(jacrev(step, argnums=1))(x, torch.stack(before))  # all T Jacobians in one call


def vanishing_gradients(text: str = VANISHING_TEXT, max_len: int = 120, root=None) -> dict:
    """‖∂h_T/∂h_0‖ (Frobenius) for T = 1..max_len, through the trained Elman and LSTM on ``text``.

    For the LSTM the initial state is (h_0, c_0): the gradient may flow back through the memory c.
    """
    out = {"lengths": None, "text": None, "notices": []}
    for rung in ("elman", "lstm"):
        model, vocab, card = load_lm(rung, root)
        shown, ids, notices = prepare(text, vocab, max_len)
        cell = model.rnn.cells[0]
        with torch.no_grad():
            x = model.emb(torch.tensor(ids))  # (T, E)
        H = cell.hidden_size
        P, norms = None, []
        for J in _state_jacobians(cell, x):
            P = J if P is None else J @ P  # ∂state_T/∂state_0, by the chain rule
            norms.append(P[:H].norm().item())  # rows of h_T, every column of the initial state
        out[rung] = [float(f"{v:.4g}") for v in norms]
        out["lengths"], out["text"], out["notices"] = list(range(1, len(ids) + 1)), shown, notices
        out[f"{rung}_model"] = _card_summary(card)
    return out
