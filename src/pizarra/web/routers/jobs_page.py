"""The jobs page: pick a kind, fill its form (built in the browser from the kind's parameter schema),
start it, watch its progress and its loss curve arrive over SSE, cancel it, find the model it saved.

GET /trabajos      the page (the API it uses is ``pizarra.web.routers.jobs``)

The page's data block carries, for each kind: its schema, its words in the page's language, the
chapter that uses what it trains, and whether it needs the data sets (``PIZARRA_DATA``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from pizarra import i18n
from pizarra.config import data_dir
from pizarra.jobs import list_kinds
from pizarra.jobs.trainings import CHAPTER_OF
from pizarra.web.routers.jobs import page_texts
from pizarra.web.templating import render

router = APIRouter()

# The order of the kinds in the menu: the demos, then the trainings in the lecture's order
ORDER = ("demo.train", "demo.count", "w2v.train", "nets.rung", "imdb.train", "lm.train", "images.classifier")
ORDER += ("images.autoencoder",)
# What the form shows first for a demo: a run short enough to watch (the schema keeps the API's defaults)
PRESETS = {"demo.count": {"n": 20, "delay_s": 0.2}, "demo.train": {"steps": 300}}
GROUPS = ("field", "stage", "metric", "ui")  # jobs.<group>.<name> catalogue keys the script looks up


def page_data(lang: str) -> dict:
    catalogue = i18n.catalogue(lang)
    texts = page_texts(lang)
    for group in GROUPS:
        prefix = f"jobs.{group}."
        texts[group] = {key[len(prefix) :]: text for key, text in catalogue.items() if key.startswith(prefix)}
    rank = {name: i for i, name in enumerate(ORDER)}
    kinds = []
    for kind in sorted(list_kinds(), key=lambda k: (rank.get(k.name, len(ORDER)), k.name)):
        schema = kind.params_model.model_json_schema()
        kinds.append(
            {
                "kind": kind.name,
                "title": catalogue.get(f"jobs.kinds.{kind.name}", kind.title),
                "help": catalogue.get(f"jobs.help.{kind.name}", kind.description),
                "schema": schema,
                "fields": list(schema.get("properties", {})),  # the form's order (tojson sorts keys)
                "preset": PRESETS.get(kind.name, {}),
                "chapter": CHAPTER_OF.get(kind.name),
                "needs_data": kind.name in CHAPTER_OF,
            }
        )
    return {"texts": texts, "kinds": kinds, "has_data": data_dir() is not None}


@router.get("/trabajos", response_class=HTMLResponse, tags=["pages"], summary="Background jobs")
async def jobs_page(request: Request) -> HTMLResponse:
    return render(request, "jobs.html", page=page_data(i18n.request_lang(request)))
