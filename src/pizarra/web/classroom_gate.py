"""Classroom mode at the door: who is asking, and what they may reach.

Only when the lab runs with a class (``Settings.classroom``, from ``pizarra serve --classroom``).
On every request, after the Host/Origin checks of ``pizarra.web.security``:

    teacher   ``Authorization: Bearer <teacher_token>`` or the ``pizarra_teacher`` cookie (set by
              opening the teacher's private link ``/profesor?token=...``): everything, as today.
    student   the ``pizarra_student`` cookie of a student who joined (``POST /api/classroom/join``)
              and was not removed.
    nobody    may read ``/static/``, ``/api/health``, the join page ``/unirse`` and
              ``POST /api/classroom/join``; any other API call → 401 in words, any page → 303 to
              ``/unirse``.

Students may not reach the teacher's pages and endpoints (``/profesor``,
``/api/classroom/teacher/...``, the roster, the queue, the attack feed), the job runner (``/trabajos``,
``/api/jobs``: no trainings), nor the code sandbox (``/api/chat/run``) unless the teacher allowed it:
403 in words. Every model call a student's request makes takes its turn in the fair queue
(``pizarra.llm.fair``) under the student's id, set here in a context variable.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from pizarra import i18n
from pizarra.classroom.room import Room
from pizarra.llm import fair

STUDENT_COOKIE = "pizarra_student"
TEACHER_COOKIE = "pizarra_teacher"
PUBLIC_EXACT = frozenset({"/api/health", "/api/classroom/join", "/unirse", "/favicon.ico"})
PUBLIC_PREFIXES = ("/static/",)
TEACHER_ONLY = (
    "/profesor",
    "/api/classroom/teacher/",
    "/api/classroom/students",
    "/api/classroom/queue",
    "/api/classroom/attacks",
    "/api/jobs",
    "/trabajos",
)
SANDBOX = ("/api/chat/run",)


def _matches(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(
        path == p or path.startswith(p if p.endswith("/") else p + "/") or (p.endswith("/") and path == p[:-1])
        for p in prefixes
    )


def identify(room: Room, request: Request) -> tuple[str | None, object]:
    """("teacher", None), ("student", Student) or (None, None)."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer ") and room.is_teacher(auth[7:].strip()):
        return "teacher", None
    if room.is_teacher(request.cookies.get(TEACHER_COOKIE)):
        return "teacher", None
    student = room.student(request.cookies.get(STUDENT_COOKIE))
    return ("student", student) if student is not None else (None, None)


THREADS = 200  # FastAPI's thread pool in a class (40 by default): see ``_more_threads``


def _more_threads() -> None:
    """Up to ~30 requests wait for their turn at a model, each in one of FastAPI's worker threads:
    with 200 threads instead of 40, cheap pages never wait for a free thread."""
    import anyio.to_thread

    limiter = anyio.to_thread.current_default_thread_limiter()
    if limiter.total_tokens < THREADS:
        limiter.total_tokens = THREADS


class ClassroomGate:
    def __init__(self, app: ASGIApp, room: Room):
        self.app, self.room = app, room
        self.threads_set = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if not self.threads_set:  # in the server's event loop, once
            _more_threads()
            self.threads_set = True
        request = Request(scope)
        path = scope.get("path", "")
        role, student = identify(self.room, request)
        scope.setdefault("state", {})
        scope["state"]["classroom_role"] = role
        scope["state"]["classroom_student"] = student
        if role is None and not (path in PUBLIC_EXACT or _matches(path, PUBLIC_PREFIXES)):
            if path == "/profesor" and self.room.is_teacher(request.query_params.get("token")):
                return await self.teacher_login(scope, receive, send)
            return await self.refuse(request, scope, receive, send, 401, "classroom.join_first")
        if role == "student":
            if _matches(path, TEACHER_ONLY):
                return await self.refuse(request, scope, receive, send, 403, "classroom.teacher_only")
            if _matches(path, SANDBOX) and not self.room.controls.sandbox:
                return await self.refuse(request, scope, receive, send, 403, "classroom.sandbox_off")
            self.room.seen(student, None if path.startswith("/api/") else path)
        if path == "/profesor" and "token" in request.query_params and role == "teacher":
            return await self.teacher_login(scope, receive, send)  # drop the token from the address bar
        token = fair.who.set(student.id if role == "student" else fair.TEACHER if role == "teacher" else None)
        try:
            await self.app(scope, receive, send)
        finally:
            fair.who.reset(token)

    async def teacher_login(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The private link: a cookie for this browser, then the dashboard without the token in the URL."""
        response = RedirectResponse("/profesor", status_code=303)
        response.set_cookie(TEACHER_COOKIE, self.room.teacher_token, httponly=True, samesite="lax", path="/")
        await response(scope, receive, send)

    async def refuse(self, request: Request, scope: Scope, receive: Receive, send: Send, status: int, key: str) -> None:
        lang = i18n.request_lang(request)
        path = scope.get("path", "")
        if status == 401 and not path.startswith("/api/") and request.method in ("GET", "HEAD"):
            target = scope.get("raw_path", path.encode()).decode("latin-1")
            query = scope.get("query_string", b"").decode("latin-1")
            nxt = target + (f"?{query}" if query else "")
            response = RedirectResponse(f"/unirse?next={quote(nxt, safe='')}", status_code=303)
        else:
            from pizarra.web.app import error_response  # the lab's one error shape (JSON or the page)

            response = error_response(request, status, i18n.t(key, lang), kind=key)
        await response(scope, receive, send)
