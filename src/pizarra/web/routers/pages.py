"""The shell's own pages and API: home, chapter pages, health, chapter list, vendored JavaScript.

GET /                      home: the ten chapters of the lecture
GET /api/health            {"status": "ok", "version": ...}
GET /api/chapters          the chapters: number, slug, title, summary, page address
GET /static/vendor/plotly.min.js   Plotly's JavaScript, read from the installed package
"""

from __future__ import annotations

import importlib.util
from importlib.metadata import version
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from pydantic import BaseModel

from pizarra import __version__, i18n
from pizarra.errors import AssetMissing
from pizarra.web.templating import chapter_views, render

router = APIRouter()

VENDOR_CACHE = "public, max-age=604800"  # a week: the file only changes when plotly is upgraded


class Health(BaseModel):
    status: Literal["ok"]
    version: str


class ChapterOut(BaseModel):
    number: int
    slug: str
    title: str
    summary: str
    url: str


# ---------------------------------------------------------------------------------------- pages


@router.get("/", response_class=HTMLResponse, tags=["pages"], summary="Home: the ten chapters")
async def home(request: Request) -> HTMLResponse:
    return render(request, "home.html")


# ------------------------------------------------------------------------------------------ API


@router.get("/api/health", response_model=Health, tags=["lab"], summary="Is the lab up?")
async def health() -> Health:
    return Health(status="ok", version=__version__)


@router.get("/api/chapters", response_model=list[ChapterOut], tags=["lab"], summary="The ten chapters")
async def chapters(
    request: Request,
    lang: Literal["es", "en"] | None = Query(None, description="Language of titles and summaries"),
) -> list[ChapterOut]:
    return [ChapterOut(**view) for view in chapter_views(lang or i18n.request_lang(request))]


# ----------------------------------------------------------------------------- vendored scripts


def plotly_js_path() -> Path:
    """plotly.min.js inside the installed ``plotly`` package."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise AssetMissing(
            "plotly", "The plotly package is not installed: pip install plotly.", key="err.plotly.missing"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise AssetMissing(
            "plotly",
            f"Plotly's JavaScript is missing at {path}; reinstall plotly.",
            key="err.plotly.no_js",
            path=str(path),
        )
    return path


@router.api_route("/static/vendor/plotly.min.js", methods=["GET", "HEAD"], include_in_schema=False)
async def plotly_js(request: Request) -> Response:
    """4.8 MB read once per browser: a week of caching, and 304 while the version is the same."""
    path = plotly_js_path()
    headers = {"Cache-Control": VENDOR_CACHE, "ETag": f'"plotly-{version("plotly")}"'}
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    return FileResponse(path, media_type="text/javascript", headers=headers)
