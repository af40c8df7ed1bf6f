"""Chapter 4 — Redes recurrentes y Transformers: the page and its JSON API.

    GET /capitulo/redes-recurrentes-transformers   the page (plots drawn from the API below)
    GET /api/nets/elman?text=          h_t of the trained Elman RNN per character
    GET /api/nets/lstm?text=           i_t, f_t, o_t of the trained LSTM per character
    GET /api/nets/attention?text=      attention weights of the trained Transformer, per layer and head
    GET /api/nets/positional           the sinusoidal positional-encoding matrix
    GET /api/nets/vanishing            ‖∂h_T/∂h_0‖ vs T, Elman vs LSTM
    GET /api/nets/ladder               the measured ladder (validation loss, params, time)
    GET /api/nets/check                every glass box = black box parity check

Thin: the work is in :mod:`pizarra.nets.explain`, :mod:`pizarra.nets.ladder` and :mod:`pizarra.nets.parity`.
"""

from __future__ import annotations

import json
from functools import lru_cache

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from pizarra import i18n
from pizarra.web.templating import chapter_page

SLUG = "redes-recurrentes-transformers"
VANISHING_MAX = 120  # characters of the built-in sentence the gradient is followed through
MAX_TEXT = 1000  # characters accepted by the API; the models then keep what they can (with a notice)

router = APIRouter()
api = APIRouter(prefix="/api/nets", tags=["nets"])

TextQ = Query(
    ...,
    max_length=MAX_TEXT,
    description=f"A sentence (at most {MAX_TEXT} characters; "
    "the models keep the first 64 (Transformer) or 160 (RNNs), with a notice).",
)


@lru_cache(maxsize=1)
def ladder_table() -> dict:
    """The ladder as measured: reports/nets_ladder.json, else the shipped artifacts' cards."""
    from pizarra.assets.artifacts import list_artifacts
    from pizarra.nets.ladder import LADDER, REPORT, artifact_name

    if REPORT.is_file():
        report = json.loads(REPORT.read_text(encoding="utf-8"))
        return {"rows": report.get("rows", []), "data": report.get("data"), "source": "reports/nets_ladder.json"}
    cards = {a["name"]: a for a in list_artifacts()}
    rows = [cards[artifact_name(r.name)]["metrics"] for r in LADDER if artifact_name(r.name) in cards]
    return {"rows": rows, "data": None, "source": "artifacts"}


@router.get(
    f"/capitulo/{SLUG}",
    response_class=HTMLResponse,
    tags=["pages"],
    summary="Chapter 4: recurrent networks and Transformers",
)
def nets_page(request: Request) -> HTMLResponse:
    from pizarra.nets.explain import EXAMPLES

    lang = i18n.request_lang(request)
    strings = {k: v for k, v in i18n.catalogue(lang).items() if k.startswith("nets.js.")}
    return chapter_page(request, SLUG, ladder=ladder_table(), examples=EXAMPLES, js_strings=strings)


@api.get("/elman", summary="Hidden states of the trained Elman RNN, character by character")
def elman(text: str = TextQ) -> dict:
    from pizarra.nets.explain import elman_states

    return elman_states(text)


@api.get("/lstm", summary="Input, forget and output gates of the trained LSTM, character by character")
def lstm(text: str = TextQ) -> dict:
    from pizarra.nets.explain import lstm_gates

    return lstm_gates(text)


@api.get("/attention", summary="Attention weights of the trained Transformer, per layer and head")
def attention(text: str = TextQ) -> dict:
    from pizarra.nets.explain import attention_maps

    return attention_maps(text)


@api.get("/positional", summary="The sinusoidal positional-encoding matrix PE (positions × d_model)")
def positional(positions: int = Query(64, ge=1, le=256), d_model: int = Query(64, ge=2, le=256)) -> dict:
    from pizarra.nets.explain import positional_matrix

    return positional_matrix(positions, d_model)


@lru_cache(maxsize=1)
def _vanishing() -> dict:
    from pizarra.nets.explain import vanishing_gradients

    return vanishing_gradients(max_len=VANISHING_MAX)


@api.get("/vanishing", summary="‖∂h_T/∂h_0‖ against T for the trained Elman RNN and LSTM")
def vanishing(max_len: int = Query(VANISHING_MAX, ge=1, le=VANISHING_MAX, description="longest T shown")) -> dict:
    full = _vanishing()
    cut = lambda xs: xs[:max_len]  # noqa: E731
    return {**full, "lengths": cut(full["lengths"]), "elman": cut(full["elman"]), "lstm": cut(full["lstm"])}


@api.get("/ladder", summary="The ladder bigram → MLP → Elman → GRU → LSTM → Transformer, as measured")
def ladder() -> dict:
    return ladder_table()


@lru_cache(maxsize=1)
def _checks() -> dict:
    from pizarra.nets.parity import run_checks

    return run_checks()


@api.get("/check", summary="Glass box = black box: every parity check against torch.nn (float64)")
def check() -> dict:
    return _checks()


router.include_router(api)
