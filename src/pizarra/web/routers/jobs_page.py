"""The jobs page: start a background job, watch its progress arrive over SSE, cancel it.

GET /trabajos      the page (the API it uses is ``pizarra.web.routers.jobs``)
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from pizarra.web import i18n
from pizarra.web.routers.jobs import page_texts
from pizarra.web.templating import render

router = APIRouter()


@router.get("/trabajos", response_class=HTMLResponse, tags=["pages"], summary="Background jobs")
async def jobs_page(request: Request) -> HTMLResponse:
    return render(request, "jobs.html", texts=page_texts(i18n.request_lang(request)))
