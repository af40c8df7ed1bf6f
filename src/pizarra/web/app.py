"""The lab's web shell: app factory, middleware, language, error pages, offline API docs.

    create_app(settings) -> FastAPI
        routers      every module in ROUTERS: the shell's and each chapter's (``pizarra.chapters``)
        /static      CSS, icons; /static/vendor/* is JavaScript read from installed packages
        /docs        Swagger UI and /redoc served from this machine (never from a CDN)
        errors       HTML error page in the user's language, or JSON under /api/

No module-level ``app``: run it with ``uvicorn --factory pizarra.web.app:create_app`` or
``pizarra serve``. The web layer holds no model logic: routers call the chapter packages.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from starlette.datastructures import MutableHeaders, QueryParams
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pizarra import __version__, classroom, i18n
from pizarra.chapters import routers
from pizarra.classroom.room import Room
from pizarra.errors import PizarraError
from pizarra.llm import fair
from pizarra.web import security
from pizarra.web.disconnect import CancelOnDisconnect
from pizarra.web.templating import render

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"

# Every router of the lab: the shell's and each chapter's, from the table of contents (``chapters.py``).
# A module that does not exist (yet) is skipped with a warning, so the shell always builds.
ROUTERS: tuple[str, ...] = routers()

LANG_COOKIE_MAX_AGE = 365 * 24 * 3600


@dataclass
class Settings:
    """What a running lab may change. ``db_path``: the job database (None: the runner's default).
    ``allowed_hosts``: the Host names the lab answers as (loopback plus ``$PIZARRA_ALLOWED_HOSTS``);
    ``guess_limit``: Gandalf guesses per player and level as (n, seconds), None: no limit
    (``$PIZARRA_GUESS_LIMIT``). See ``pizarra.web.security``. ``classroom``: the class when the lab
    serves one (``$PIZARRA_CLASSROOM``; see ``pizarra.classroom``)."""

    db_path: Path | None = None
    routers: tuple[str, ...] = ROUTERS
    allowed_hosts: tuple[str, ...] = field(default_factory=security.default_allowed_hosts)
    guess_limit: tuple[int, float] | None = field(default_factory=security.default_guess_limit)
    classroom: Room | None = field(default_factory=classroom.from_env)  # None: not classroom mode


# ----------------------------------------------------------------------------------------------
# Errors: people get a page in their language, programs get JSON, nobody gets a traceback.


class FieldError(BaseModel):
    field: str  # where, e.g. "query.k" or "body.params.n"
    message: str  # what was expected


class ErrorDetail(BaseModel):
    status: int
    message: str  # a complete sentence in the user's language (or the catalogue's)
    fields: list[FieldError] | None = None  # 422 from validation: every bad field
    kind: str | None = None  # Pizarra's error class, e.g. "AssetMissing"
    name: str | None = None  # AssetMissing: the data set or model that is missing


class ErrorBody(BaseModel):
    """Every error of /api/*: ``{"error": {"status", "message", ...}}``."""

    error: ErrorDetail


def wants_json(request: Request) -> bool:
    """API routes answer JSON; so does any client that asks for JSON and not HTML."""
    accept = request.headers.get("accept", "")
    return request.url.path.startswith("/api/") or ("application/json" in accept and "text/html" not in accept)


def error_response(request: Request, status: int, message: str, headers: dict | None = None, **extra) -> Response:
    """``{"error": {"status", "message", ...}}`` for /api/*, else the styled error page."""
    if wants_json(request):
        body = {"error": {"status": status, "message": message, **extra}}
        return JSONResponse(body, status_code=status, headers=headers)
    lang = i18n.request_lang(request)
    key = f"error.{status}.title"
    title = i18n.t(key, lang) if key in i18n.catalogue(lang) else i18n.t("error.title", lang, status=status)
    response = render(request, "error.html", status_code=status, status=status, title=title, message=message)
    response.headers.update(headers or {})
    return response


async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """404, 405 and every HTTPException a router raises."""
    status = exc.status_code
    if status in (204, 304):  # no body allowed
        return Response(status_code=status, headers=exc.headers)
    lang = i18n.request_lang(request)
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
    extra = {}
    if getattr(exc, "i18n_key", None):  # a router's sentence from the catalogue
        message = i18n.error_text(exc, lang)
    elif isinstance(exc.detail, str) and exc.detail and exc.detail != phrase:
        # the framework's own English sentences are translated; a router's own is kept
        message = i18n.http_detail_text(exc.detail, lang) or exc.detail
    else:
        if not isinstance(exc.detail, str):
            extra["detail"] = exc.detail
        key = f"error.{status}.message"
        key = key if key in i18n.catalogue(lang) else "error.generic.message"
        message = i18n.t(key, lang, path=request.url.path, method=request.method)
    return error_response(request, status, message, headers=exc.headers, **extra)


async def on_validation_error(request: Request, exc: RequestValidationError) -> Response:
    """422 that names every bad field and says what was expected, in the request's language
    (pydantic's error ``type`` and ``ctx`` through the catalogue, see ``i18n.validation_text``)."""
    lang = i18n.request_lang(request)
    fields, listing = [], []
    for err in exc.errors():
        loc = err.get("loc", ())
        text = i18n.validation_text(err, lang)
        fields.append({"field": ".".join(str(part) for part in loc), "message": text})
        where = loc[:1] if err.get("type") == "json_invalid" else loc  # ("body", 16): a position, not a field
        listing.append(f"{i18n.field_label(where, lang)}: {text}")
    listing_text = "; ".join(listing) + "."
    message = i18n.t("error.422.message", lang, fields=listing_text[:1].upper() + listing_text[1:])
    return error_response(request, 422, message, fields=fields)


async def on_pizarra_error(request: Request, exc: PizarraError) -> Response:
    """Pizarra's own errors carry their status (AssetMissing → 503) and a human sentence."""
    status = getattr(exc, "status_code", 500)
    if status >= 500:  # expected (a missing model), yet worth a line in the server's log
        log.warning("%s on %s %s: %s", type(exc).__name__, request.method, request.url.path, exc)
    extra = {"kind": type(exc).__name__}
    if isinstance(getattr(exc, "name", None), str):
        extra["name"] = exc.name
    if isinstance(getattr(exc, "retry_after", None), int):
        extra["retry_after"] = exc.retry_after  # 429/503 of a busy model: also the Retry-After header
    headers = getattr(exc, "headers", None)
    return error_response(
        request,
        status,
        i18n.error_text(exc, i18n.request_lang(request)),
        headers=headers if isinstance(headers, dict) else None,
        **extra,
    )


class CatchAll:
    """Any other exception: log it here with its traceback, answer a plain 500 page/JSON."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:  # too late for an error page: let the server close the connection
                raise
            request = Request(scope)
            message = i18n.t("error.500.message", i18n.request_lang(request))
            response = error_response(request, 500, message)
            await response(scope, receive, send)


class LangCookie:
    """``?lang=en`` on any page remembers the choice in the ``lang`` cookie."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        lang = None
        if scope["type"] == "http":
            lang = i18n.normalize(QueryParams(scope.get("query_string", b"")).get("lang"))
        if lang is None:
            return await self.app(scope, receive, send)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie = f"{i18n.COOKIE}={lang}; Path=/; Max-Age={LANG_COOKIE_MAX_AGE}; SameSite=Lax"
                MutableHeaders(scope=message).append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_cookie)


# ----------------------------------------------------------------------------------------------
# Offline API docs: Swagger UI and ReDoc from the ``fastapi-offline`` package, never a CDN.

DOCS_VENDOR = "/static/vendor/docs"


def docs_assets_dir() -> Path | None:
    """The folder with swagger-ui-bundle.js, swagger-ui.css and redoc.standalone.js."""
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "static"
    return folder if (folder / "swagger-ui-bundle.js").is_file() else None


def add_docs(app: FastAPI) -> None:
    """/docs (Swagger UI) and /redoc with every asset served from /static/vendor/docs/."""
    folder = docs_assets_dir()
    if folder is None:
        log.warning("fastapi-offline is not installed: /docs is off (the schema stays at /openapi.json)")
        return
    app.mount(DOCS_VENDOR, StaticFiles(directory=folder), name="docs-vendor")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title=f"{app.title} · API",
            swagger_js_url=f"{DOCS_VENDOR}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_VENDOR}/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
            swagger_ui_parameters={"validatorUrl": None},  # no badge from validator.swagger.io
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=app.openapi_url,
            title=f"{app.title} · API",
            redoc_js_url=f"{DOCS_VENDOR}/redoc.standalone.js",
            redoc_favicon_url="/static/favicon.svg",
            with_google_fonts=False,
        )


def document_errors(app: FastAPI) -> None:
    """FastAPI documents 422 as ``{"detail": [...]}``; make the schema say what the lab answers."""
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        text = json.dumps(generate()).replace(
            '"#/components/schemas/HTTPValidationError"', '"#/components/schemas/ErrorBody"'
        )
        schema = json.loads(text)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.pop("HTTPValidationError", None)
        if '"#/components/schemas/ValidationError"' not in json.dumps(schema):
            components.pop("ValidationError", None)
        error_schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(error_schema.pop("$defs"))
        components["ErrorBody"] = error_schema
        app.openapi_schema = schema
        return schema

    app.openapi = openapi


# ----------------------------------------------------------------------------------------------


def include_routers(app: FastAPI, settings: Settings) -> None:
    """Include every router module; a module with ``attach_runner`` gets it called too."""
    for name in settings.routers:
        if importlib.util.find_spec(name) is None:
            log.warning("router %s does not exist yet: skipped", name)
            continue
        module = importlib.import_module(name)  # a broken router fails loudly, not silently
        app.include_router(module.router)
        if hasattr(module, "attach_runner"):
            module.attach_runner(app, db_path=settings.db_path)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the lab: routers, static files, language cookie, error handling, offline docs."""
    settings = settings or Settings()
    app = FastAPI(
        title="Pizarra",
        version=__version__,
        description="Laboratorio local de «Intro a LLMs» · local lab for “Intro to LLMs”.",
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    include_routers(app, settings)
    add_docs(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    document_errors(app)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(PizarraError, on_pizarra_error)
    room = settings.classroom
    # model work stops when its client goes (see web.disconnect); a class gets shorter turns
    app.add_middleware(CancelOnDisconnect, budget_s=classroom.BUDGET_S if room is not None else None)
    app.add_middleware(CatchAll)
    app.add_middleware(LangCookie)
    if room is not None:  # who is asking, and what they may reach (see web.classroom_gate)
        from pizarra.web.classroom_gate import ClassroomGate

        fair.enable()
        app.add_middleware(ClassroomGate, room=room)
    else:
        fair.disable()
    security.install(app, settings)  # outermost: Host/Origin checks, body limit, headers, guess limit
    return app


def serve(host: str = "127.0.0.1", port: int = 8000, log_level: str = "info") -> None:
    """Run the lab with uvicorn (what ``pizarra serve`` and ``make run`` call)."""
    import uvicorn

    security.announce_hosts([host])  # the app (built by uvicorn) answers to this name too
    uvicorn.run("pizarra.web.app:create_app", factory=True, host=host, port=port, log_level=log_level)
