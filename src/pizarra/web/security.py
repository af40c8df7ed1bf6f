"""Who may talk to the lab: a web page in the teacher's own browser is a stranger.

    install(app, settings)   wires everything below into ``create_app`` (one line there)

    Guard (ASGI middleware, outermost), on every request:
        Host        only the names the lab is served as: 127.0.0.1, localhost, [::1] (any port) and
                    ``Settings.allowed_hosts``; anything else → 421 (no Host, or two → 400). This
                    is what stops DNS rebinding: a hostile page that points its own name at
                    127.0.0.1 still sends its own name as Host.
        Origin      a state-changing request (POST, PUT, PATCH, DELETE...) whose ``Origin`` (or,
                    without it, ``Referer``) is not one of the allowed hosts on the same scheme and
                    port → 403; so are ``Origin: null``, two Origin headers, and ``Sec-Fetch-Site:
                    cross-site`` (or ``same-site``: another port of this machine). A request with
                    none of these headers (curl, the CLI, scripts) passes.
        Fetch       a cross-site (or same-site) GET that is not a top-level navigation (``<img>``,
                    ``<script>``, ``fetch`` from another site: each could make the lab run a model)
                    → 403; following a link to the lab from another site still works.
        Body        more than MAX_BODY bytes → 413: on ``Content-Length`` before reading
                    anything, and while a chunked body arrives (bytes are counted as they come
                    and reading stops at the limit), before any parsing.
        Headers     CSP, nosniff, X-Frame-Options, Referrer-Policy, COOP, CORP on every answer.

    RateLimiter  Gandalf's guesses: ``settings.guess_limit`` (5 per 60 s) per player (the game
                 cookie, which holds the passwords) and level, then 429 with ``Retry-After``
                 (``check_guess``, called by the router). In memory, bounded.

Settings read from the environment (the app is built by uvicorn as a factory, with no arguments):

    PIZARRA_ALLOWED_HOSTS   extra names or addresses the lab answers as, separated by commas or
                            spaces (``pizarra.web.app.serve`` adds its ``--host``; ``--classroom``
                            will add the LAN addresses). 0.0.0.0 and :: are never names: binding
                            every interface does not mean "any Host".
    PIZARRA_GUESS_LIMIT     Gandalf's guess limit as ``N/SECONDS`` (default ``5/60``); ``off`` lifts it.

Messages are in the request's language (``security.*`` keys in the web catalogues) and take the
shape of every other error: JSON under /api/, the styled error page elsewhere.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pizarra import i18n

ENV_HOSTS = "PIZARRA_ALLOWED_HOSTS"
ENV_GUESS_LIMIT = "PIZARRA_GUESS_LIMIT"
LOOPBACK: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")
UNSPECIFIED = {"0.0.0.0", "::"}  # bind addresses, never names a browser could be sent to
MAX_BODY = 1024 * 1024  # bytes: the largest legitimate request (a 50-message chat) is far below
GUESS_LIMIT: tuple[int, float] = (5, 60.0)  # guesses, seconds: per player and level
SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}

# Everything the pages load is same-origin: /static (Plotly from /static/vendor), fetch() to /api.
# The templates hold inline <script> blocks, inline event handlers and style="" attributes, and
# Plotly writes inline styles: hence 'unsafe-inline' (no 'unsafe-eval', no remote origin at all).
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HEADERS: tuple[tuple[str, str], ...] = (
    ("content-security-policy", CSP),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "same-origin"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
)

# ----------------------------------------------------------------------------------------------
# Host names: parsed strictly, compared exactly (no trailing dot, no userinfo, no odd characters).

_AUTHORITY = re.compile(r"(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::([0-9]{1,5}))?")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def normalize_host(name: str) -> str | None:
    """``'LocalHost'`` → ``'localhost'``, ``'[0:0::1]'`` → ``'::1'``; None if not a plain name or address."""
    name = name.lower()
    if name.startswith("[") and name.endswith("]"):
        try:
            return str(ipaddress.IPv6Address(name[1:-1]))
        except ValueError:
            return None
    if ":" in name:  # a bare IPv6 address (in settings, never in a Host header)
        try:
            return str(ipaddress.IPv6Address(name))
        except ValueError:
            return None
    if name and all(part.isdigit() for part in name.split(".")):  # looks like IPv4: must be one
        try:
            return str(ipaddress.IPv4Address(name))  # refuses 127.1, 0x7f.0.0.1, 0127.0.0.1
        except ValueError:
            return None
    labels = name.split(".")
    return name if len(name) <= 253 and all(_LABEL.fullmatch(label) for label in labels) else None


def split_authority(value: str) -> tuple[str, int | None] | None:
    """``'localhost:8000'`` → ``('localhost', 8000)``, ``'[::1]'`` → ``('::1', None)``; None if malformed."""
    match = _AUTHORITY.fullmatch(value.lower())
    if not match or (match[2] and not 0 < int(match[2]) < 65536):
        return None
    host = normalize_host(match[1])
    return (host, int(match[2]) if match[2] else None) if host else None


def parse_hosts(text: str | Iterable[str]) -> tuple[str, ...]:
    """Names from settings or the environment, normalised; ports, bind-all addresses and junk dropped."""
    items = re.split(r"[,\s]+", text) if isinstance(text, str) else list(text)
    hosts: list[str] = []
    for item in items:
        item = item.strip()
        if not item or item.strip("[]") in UNSPECIFIED:
            continue
        parsed = split_authority(item) or ((normalize_host(item), None) if normalize_host(item) else None)
        if parsed and parsed[0] not in UNSPECIFIED and parsed[0] not in hosts:
            hosts.append(parsed[0])
    return tuple(hosts)


def default_allowed_hosts() -> tuple[str, ...]:
    """``Settings.allowed_hosts``' default: loopback plus ``$PIZARRA_ALLOWED_HOSTS``."""
    return parse_hosts([*LOOPBACK, *parse_hosts(os.environ.get(ENV_HOSTS, ""))])


def announce_hosts(hosts: Iterable[str]) -> tuple[str, ...]:
    """Add ``hosts`` to ``$PIZARRA_ALLOWED_HOSTS`` (what ``serve()`` does before uvicorn builds the app)."""
    current = parse_hosts(os.environ.get(ENV_HOSTS, ""))
    merged = parse_hosts([*current, *parse_hosts(list(hosts))])
    if merged:
        os.environ[ENV_HOSTS] = ",".join(merged)
    return merged


def default_guess_limit() -> tuple[int, float] | None:
    """``Settings.guess_limit``' default: ``$PIZARRA_GUESS_LIMIT`` (``N/SECONDS`` or ``off``), else 5/60."""
    text = os.environ.get(ENV_GUESS_LIMIT, "").strip().lower()
    if text in ("off", "none", "0"):
        return None
    match = re.fullmatch(r"(\d+)\s*/\s*(\d+(?:\.\d+)?)", text)
    if match and int(match[1]) > 0 and float(match[2]) > 0:
        return int(match[1]), float(match[2])
    return GUESS_LIMIT


# ----------------------------------------------------------------------------------------------
# The middleware.


def header_values(scope: Scope, name: bytes) -> list[str]:
    return [value.decode("latin-1") for key, value in scope.get("headers", ()) if key.lower() == name]


class Guard:
    """Host check, cross-site refusal, body limit and security headers (see the module's docstring)."""

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str] = LOOPBACK, max_body: int = MAX_BODY):
        self.app = app
        self.allowed = frozenset(parse_hosts(list(allowed_hosts)))
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        if scope["type"] == "http":
            send = self.with_headers(send)
        problem = self.check_host(scope) or self.check_site(scope)
        if problem is None and scope["type"] == "http":
            problem = self.check_length(scope)
        if problem is not None:
            if scope["type"] == "websocket":  # closing before accepting: the server answers 403
                return await send({"type": "websocket.close", "code": 1008})
            return await self.refuse(scope, receive, send, *problem)
        if scope["type"] == "websocket":
            return await self.app(scope, receive, send)
        await self.limit_body(scope, receive, send)

    # -- checks: each returns None (fine) or (status, catalogue key, values) ----------------------

    def check_host(self, scope: Scope) -> tuple | None:
        hosts = header_values(scope, b"host")
        if len(hosts) != 1:
            return 400, "security.host.missing" if not hosts else "security.host.several", {}
        parsed = split_authority(hosts[0])
        if parsed is None or parsed[0] not in self.allowed:
            shown = "".join(c for c in hosts[0][:80] if c.isprintable())
            port = (parsed and parsed[1]) or (scope.get("server") or (None, None))[1]
            url = "http://127.0.0.1" + (f":{port}" if port and port != 80 else "")
            return 421, "security.host.message", {"host": shown or "?", "url": url}
        return None

    def request_origin(self, scope: Scope) -> tuple[str, int]:
        """The scheme and port this request reached (Host is already checked)."""
        scheme = {"ws": "http", "wss": "https"}.get(scope.get("scheme", "http"), scope.get("scheme", "http"))
        _, port = split_authority(header_values(scope, b"host")[0])
        return scheme, port or DEFAULT_PORTS.get(scheme, 80)

    def same_origin(self, scope: Scope, url: str, referer: bool = False) -> bool:
        """Is ``url`` (an Origin, or a Referer when ``referer``) one of the allowed hosts, same scheme and port?"""
        if referer:
            try:
                parts = urlsplit(url)
            except ValueError:
                return False
            if "@" in parts.netloc or parts.scheme.lower() not in ("http", "https"):
                return False
            scheme, authority = parts.scheme.lower(), parts.netloc
        else:
            scheme, sep, authority = url.partition("://")
            scheme = scheme.lower()
            if not sep or scheme not in ("http", "https"):
                return False
        parsed = split_authority(authority)
        if parsed is None or parsed[0] not in self.allowed:
            return False
        port = parsed[1] or DEFAULT_PORTS[scheme]
        return (scheme, port) == self.request_origin(scope)

    def check_site(self, scope: Scope) -> tuple | None:
        refused = 403, "security.origin.message", {}
        site = [v.strip().lower() for v in header_values(scope, b"sec-fetch-site")]
        method = scope.get("method", "GET").upper() if scope["type"] == "http" else "WEBSOCKET"
        if method in SAFE_METHODS:
            # Fetch Metadata: another site may link to the lab (a navigation), not load from it.
            mode = [v.strip().lower() for v in header_values(scope, b"sec-fetch-mode")]
            dest = [v.strip().lower() for v in header_values(scope, b"sec-fetch-dest")]
            if {"cross-site", "same-site"} & set(site) and (mode != ["navigate"] or not set(dest) <= {"document"}):
                return refused
            return None
        if {"cross-site", "same-site"} & set(site):  # same-site: another port of this machine
            return refused
        origins = header_values(scope, b"origin")
        if origins:
            if len(origins) > 1 or not self.same_origin(scope, origins[0]):  # "null" included
                return refused
            return None
        referers = header_values(scope, b"referer")
        if referers and (len(referers) > 1 or not self.same_origin(scope, referers[0], referer=True)):
            return refused
        return None

    def check_length(self, scope: Scope) -> tuple | None:
        lengths = header_values(scope, b"content-length")
        if not lengths:
            return None
        if len(set(lengths)) > 1 or not re.fullmatch(r"[0-9]{1,19}", lengths[0].strip()):  # not "²", not 1e6
            return 400, "security.length.bad", {}
        if int(lengths[0]) > self.max_body:
            return 413, "security.body.message", {"limit": self.limit_text()}
        return None

    def limit_text(self) -> str:
        return f"{self.max_body / 1024 / 1024:g} MB"

    # -- answers --------------------------------------------------------------------------------

    async def refuse(self, scope: Scope, receive: Receive, send: Send, status: int, key: str, values: dict) -> None:
        from pizarra.web.app import error_response  # app.py imports this module

        request = Request(scope)
        message = i18n.t(key, i18n.request_lang(request), **values)
        headers = {"connection": "close"} if status in (400, 413) else None
        response = error_response(request, status, message, headers=headers)
        await response(scope, receive, send)

    async def limit_body(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Count the body as it arrives; past the limit, read no more and answer 413.

        Past the limit the app (or a middleware inside, which may be reading the body in a task of
        its own) is told the client went away (``http.disconnect``): it stops at once, whatever it
        makes of that is dropped, and the 413 is sent here once it has returned.
        """
        received = 0
        tripped = False  # the body passed the limit: the answer is ours
        app_started = False  # the app had begun its answer before that (a stream): leave it be

        async def counted_receive() -> Message:
            nonlocal received, tripped
            if tripped:  # never read past the limit
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    tripped = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal app_started
            if tripped and not app_started:
                return  # an error made of the cut body (400, 500): the 413 replaces it
            app_started = app_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not tripped or app_started:
                raise
        if tripped and not app_started:
            await self.refuse(scope, receive, send, 413, "security.body.message", {"limit": self.limit_text()})

    @staticmethod
    def with_headers(send: Send) -> Send:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS:
                    if name not in headers:
                        headers[name] = value
            await send(message)

        return send_with_headers


# ----------------------------------------------------------------------------------------------
# Gandalf's guesses: a password of a few words falls to a script in seconds without a limit.


class RateLimiter:
    """At most ``limit`` hits per ``window`` seconds per key (a sliding window), in memory.

    Keys are forgotten oldest first beyond ``max_keys``, so memory stays bounded whatever the
    traffic. ``hit(key)`` records a hit and returns 0, or returns the seconds to wait (not recorded).
    """

    def __init__(self, limit: int, window: float, max_keys: int = 10_000, clock=time.monotonic):
        self.limit, self.window, self.max_keys, self.clock = int(limit), float(window), max_keys, clock
        self.hits: OrderedDict[object, deque[float]] = OrderedDict()
        self.lock = threading.Lock()

    def hit(self, key: object) -> float:
        now = self.clock()
        with self.lock:
            times = self.hits.get(key)
            if times is None:
                times = self.hits[key] = deque(maxlen=self.limit)
            self.hits.move_to_end(key)
            while times and now - times[0] >= self.window:
                times.popleft()
            if len(times) >= self.limit:
                return max(self.window - (now - times[0]), 0.001)
            times.append(now)
            while len(self.hits) > self.max_keys:
                self.hits.popitem(last=False)
            return 0.0


def check_guess(request: Request, player: str, level: int, lang: str) -> None:
    """Count one guess of ``player`` at ``level``; 429 past ``settings.guess_limit``.

    The player is the game cookie: the passwords belong to it (without the cookie a client is a
    new player with new passwords, so dropping it gains nothing). The client address is left out
    of the key on purpose: with it, one cookie would get a fresh budget from every address it is
    sent from (IPv6 temporary addresses; ``X-Forwarded-For``, which uvicorn believes from 127.0.0.1).
    """
    limiter = getattr(request.app.state, "guess_limiter", None)
    if limiter is None:
        return
    wait = limiter.hit((player, level))
    if wait:
        seconds = math.ceil(wait)
        message = i18n.t(
            "security.rate.message",
            lang,
            level=level,
            seconds=seconds,
            limit=limiter.limit,
            window=f"{limiter.window:g}",
        )
        raise HTTPException(429, message, headers={"Retry-After": str(seconds)})


def install(app, settings) -> None:
    """Wire the guard (outermost middleware) and Gandalf's guess limit into ``app``."""
    limit = getattr(settings, "guess_limit", GUESS_LIMIT)
    app.state.guess_limiter = RateLimiter(*limit) if limit else None
    app.add_middleware(Guard, allowed_hosts=getattr(settings, "allowed_hosts", LOOPBACK))
