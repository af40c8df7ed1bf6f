"""A hostile web page in the teacher's own browser: what the lab refuses (pizarra.web.security).

DNS rebinding (a foreign Host), cross-site requests (a foreign Origin/Referer, Sec-Fetch-Site),
huge bodies (Content-Length and chunked), brute-forcing Gandalf's passwords, and the headers every
answer carries. The app here is built with the real defaults (loopback only, 5 guesses per 60 s);
the tests' ``testserver`` name from tests/conftest.py is not among them.
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import socket
import time

import pytest
import uvicorn
from fastapi.testclient import TestClient

from pizarra import i18n
from pizarra.web import app as web_app
from pizarra.web import security
from pizarra.web.app import Settings, create_app
from pizarra.web.security import MAX_BODY, RateLimiter
from support.serving import serving

BASE = "http://127.0.0.1:8000"
ORIGIN = BASE


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    db = tmp_path_factory.mktemp("db") / "jobs.sqlite"
    return create_app(Settings(db_path=db, allowed_hosts=security.LOOPBACK, guess_limit=security.GUESS_LIMIT))


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app, base_url=BASE) as c:
        yield c


@pytest.fixture
def fresh(app):
    """A client with no cookies (a new Gandalf player)."""
    with TestClient(app, base_url=BASE) as c:
        yield c


def asgi_call(app, method="GET", path="/", headers=(), chunks=(), receive=None, scheme="http"):
    """Call the ASGI app directly (no HTTP client in between): (status, headers, body, reads).

    ``headers`` is a list of (name, value) so that duplicates and odd values reach the app as
    sent; ``chunks`` is the body as it arrives; ``reads`` counts the calls to ``receive``.
    """
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": scheme,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
        "client": ("203.0.113.7", 50000),
        "server": ("127.0.0.1", 8000),
    }
    chunks = list(chunks)
    reads = 0
    sent: list[dict] = []

    async def default_receive():
        nonlocal reads
        reads += 1
        if reads <= len(chunks):
            return {"type": "http.request", "body": chunks[reads - 1], "more_body": reads < len(chunks)}
        if not chunks and reads == 1:
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(3600)  # a client that sends nothing more

    async def counting_receive():
        nonlocal reads
        reads += 1
        return await receive(reads)

    async def send(message):
        sent.append(message)

    # In a thread of its own: after the browser tests, Playwright's sync API leaves an event loop
    # running in this one, and asyncio.run() refuses to start inside it.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, app(scope, counting_receive if receive else default_receive, send)).result(60)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    hdrs = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return start["status"], hdrs, body, reads


def error_message(response) -> str:
    body = response.json()
    assert set(body) == {"error"} and body["error"]["status"] == response.status_code
    return body["error"]["message"]


# ----------------------------------------------------------------------------------------------
# Host: DNS rebinding


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/capitulo/seguridad-alineamiento",
        "/api/health",
        "/api/chapters",
        "/static/css/pizarra.css",
        "/docs",
        "/openapi.json",
    ],
)
def test_foreign_host_is_421_everywhere(client, path):
    r = client.get(path, headers={"host": "evil.example"})
    assert r.status_code == 421
    assert "evil.example" in r.text and "PIZARRA_ALLOWED_HOSTS" in r.text


def test_foreign_host_cannot_run_code(client):
    r = client.post("/api/chat/run", json={"code": "print(1)"}, headers={"host": "evil.example"})
    assert r.status_code == 421
    assert "no responde al nombre «evil.example». Ábrelo en http://127.0.0.1:8000 " in error_message(r)
    r = client.post("/api/chat/run?lang=en", json={"code": "print(1)"}, headers={"host": "evil.example:8000"})
    assert r.status_code == 421 and "does not answer to the name" in error_message(r)


def test_misdirected_page_is_readable_html_in_spanish(client):
    r = client.get("/", headers={"host": "evil.example:8000", "accept": "text/html"})
    assert r.status_code == 421 and r.headers["content-type"].startswith("text/html")
    assert "Dirección equivocada" in r.text and 'data-status="421"' in r.text


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.0.0.1:8000",
        "127.0.0.1:1",
        "127.0.0.1:65535",
        "localhost",
        "localhost:8000",
        "LOCALHOST:8000",
        "LocalHost",
        "[::1]",
        "[::1]:8000",
        "[0:0:0:0:0:0:0:1]:8000",
    ],
)
def test_allowed_hosts_with_any_port_pass(client, host):
    assert client.get("/api/health", headers={"host": host}).status_code == 200


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:8000",
        "127.0.0.1.evil.example",
        "127.0.0.1.evil.example:8000",
        "localhost.evil.example",
        "evil.localhost",
        "localhost.",
        "localhost.:8000",
        "127.0.0.1.",
        "testserver",  # only the test settings announce it
        "127.1",
        "127.0.0.01",
        "0x7f.0.0.1",
        "2130706433",
        "127.0.0.2",
        "0.0.0.0",
        "0.0.0.0:8000",
        "[::]:8000",
        "::1",
        "[::1",
        "[::1]evil",
        "[::ffff:127.0.0.1]:8000",
        "[::1]:8000:80",
        "127.0.0.1:8000@evil.example",
        "evil.example@127.0.0.1",
        "user:pw@localhost:8000",
        "127.0.0.1:",
        "127.0.0.1:0",
        "127.0.0.1:65536",
        "127.0.0.1:99999",
        "127.0.0.1:80a",
        "localhost:8000:80",
        "127.0.0.1 ",
        " 127.0.0.1",
        "127.0.0.1,evil.example",
        "127.0.0.1/evil",
        "localhost%2eevil.example",
        "xn--localhost-",
        "-localhost",
        "a" * 300,
        "",
    ],
)
def test_other_hosts_are_misdirected(app, host):
    status, headers, body, _ = asgi_call(app, "GET", "/api/health", [("Host", host)])
    assert status in (400, 421) and headers["content-type"] == "application/json"
    assert json.loads(body)["error"]["message"]


def test_missing_or_duplicate_host_is_400(app):
    status, _, body, _ = asgi_call(app, "GET", "/api/health", [])
    assert status == 400 and "Host" in json.loads(body)["error"]["message"]
    for hosts in (
        ["127.0.0.1:8000", "evil.example"],
        ["evil.example", "127.0.0.1:8000"],
        ["127.0.0.1:8000", "127.0.0.1:8000"],
    ):
        status, _, body, _ = asgi_call(app, "GET", "/api/health", [("Host", h) for h in hosts])
        assert status == 400, hosts
    # Header names are case-insensitive: "HOST" and "host" are two Host headers.
    status, _, _, _ = asgi_call(app, "GET", "/api/health", [("HOST", "127.0.0.1"), ("host", "evil.example")])
    assert status == 400


def test_the_allowed_set_is_a_setting_extended_by_the_environment(monkeypatch):
    monkeypatch.delenv(security.ENV_HOSTS, raising=False)
    assert Settings().allowed_hosts == ("127.0.0.1", "localhost", "::1")
    monkeypatch.setenv(security.ENV_HOSTS, "Aula-3.local, 192.168.1.20:8000 [fe80::1] 0.0.0.0 :: bad_name")
    assert Settings().allowed_hosts == ("127.0.0.1", "localhost", "::1", "aula-3.local", "192.168.1.20", "fe80::1")
    app = create_app(Settings(routers=("pizarra.web.routers.pages",)))
    with TestClient(app, base_url="http://aula-3.local:8000") as c:
        assert c.get("/api/health").status_code == 200
        assert c.get("/api/health", headers={"host": "[fe80::1]:8000"}).status_code == 200
        assert c.get("/api/health", headers={"host": "192.168.1.20"}).status_code == 200
        assert c.get("/api/health", headers={"host": "192.168.1.21"}).status_code == 421
        assert c.get("/api/health", headers={"host": "0.0.0.0:8000"}).status_code == 421
        r = c.post("/api/health", headers={"origin": "http://aula-3.local:8000"})
        assert r.status_code == 405  # past the guard (the route only answers GET)


def test_serve_announces_its_host_but_binding_everything_is_not_any_host(monkeypatch):
    import uvicorn as uv

    calls = []
    monkeypatch.setattr(uv, "run", lambda *a, **k: calls.append((a, k)))
    monkeypatch.delenv(security.ENV_HOSTS, raising=False)
    web_app.serve(host="0.0.0.0", port=8123)
    assert security.ENV_HOSTS not in os.environ
    assert Settings().allowed_hosts == security.LOOPBACK
    web_app.serve(host="mi-portatil.local", port=8123)
    web_app.serve(host="192.168.1.20", port=8123)
    assert Settings().allowed_hosts[-2:] == ("mi-portatil.local", "192.168.1.20")
    assert calls[-1][0] == ("pizarra.web.app:create_app",) and calls[-1][1]["factory"] is True


# ----------------------------------------------------------------------------------------------
# Origin / Referer / Fetch metadata: cross-site requests


@pytest.fixture
def running_job(client):
    r = client.post("/api/jobs", json={"kind": "demo.count", "params": {"n": 600, "delay_s": 0.1}})
    assert r.status_code == 201, r.text
    job = r.json()
    yield job
    client.post(f"/api/jobs/{job['id']}/cancel")


def test_bodyless_cross_site_post_cannot_cancel_a_job(client, running_job):
    job_id = running_job["id"]
    for headers in (
        {"origin": "http://evil.example"},
        {"origin": "null"},
        {"referer": "http://evil.example/page.html"},
        {"sec-fetch-site": "cross-site"},
        {"origin": "http://127.0.0.1:8001"},
    ):
        r = client.post(f"/api/jobs/{job_id}/cancel", headers=headers)
        assert r.status_code == 403, (headers, r.text)
        assert "viene de otra web" in error_message(r)
    job = client.get(f"/api/jobs/{job_id}").json()
    assert job["status"] in ("queued", "running") and not job["cancel_requested"]
    r = client.post(f"/api/jobs/{job_id}/cancel", headers={"origin": ORIGIN, "sec-fetch-site": "same-origin"})
    assert r.status_code == 200 and r.json()["cancel_requested"]  # the lab's own page may cancel


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",
        "null",
        "NULL",
        "",
        "http://127.0.0.1:8001",
        "http://127.0.0.1",
        "https://127.0.0.1:8000",
        "ws://127.0.0.1:8000",
        "file://",
        "chrome-extension://abcdef",
        "http://127.0.0.1:8000@evil.example",
        "http://evil.example@127.0.0.1:8000",
        "http://u:p@127.0.0.1:8000",
        "http://127.0.0.1.evil.example:8000",
        "http://localhost.:8000",
        "http://evil.localhost:8000",
        "http://127.0.0.1:8000/",
        "http://127.0.0.1:8000/path",
        "http://127.0.0.1:8000 http://evil.example",
        "http://[::1]:8001",
        "http://0.0.0.0:8000",
        "http://testserver",
        "http://127.0.0.1:08000x",
        "HTTP://EVIL.EXAMPLE:8000",
        "//127.0.0.1:8000",
        "127.0.0.1:8000",
    ],
)
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_foreign_origins_are_refused(client, origin, method):
    r = client.request(method, "/api/gandalf/new", headers={"origin": origin})
    assert r.status_code == 403, r.text


@pytest.mark.parametrize(
    "origin",
    [
        "http://127.0.0.1:8000",
        "http://localhost:8000",
        "http://[::1]:8000",
        "HTTP://LocalHost:8000",
        "http://[0::1]:8000",
    ],
)
def test_same_origin_requests_pass(client, origin):
    r = client.post("/api/gandalf/new", headers={"origin": origin, "sec-fetch-site": "same-origin"})
    assert r.status_code == 200 and r.json()["ok"]


def test_default_ports_are_compared_too(app):
    with TestClient(app, base_url="http://localhost") as c:  # Host: localhost → port 80
        assert c.post("/api/gandalf/new", headers={"origin": "http://localhost"}).status_code == 200
        assert c.post("/api/gandalf/new", headers={"origin": "http://localhost:80"}).status_code == 200
        assert c.post("/api/gandalf/new", headers={"origin": "http://localhost:8000"}).status_code == 403


def test_referer_is_checked_when_there_is_no_origin(client):
    ok = client.post("/api/gandalf/new", headers={"referer": f"{BASE}/capitulo/seguridad-alineamiento?lang=en"})
    assert ok.status_code == 200
    for referer in (
        "http://evil.example/",
        "http://127.0.0.1:8000@evil.example/",
        "http://evil.example/?next=http://127.0.0.1:8000/",
        "http://127.0.0.1:9999/",
        "not a url",
        "http://[::1/",
    ):
        assert client.post("/api/gandalf/new", headers={"referer": referer}).status_code == 403, referer
    # Origin wins over Referer: a foreign Origin with a same-origin Referer is still foreign.
    r = client.post("/api/gandalf/new", headers={"origin": "http://evil.example", "referer": f"{BASE}/"})
    assert r.status_code == 403


def test_two_origin_headers_are_refused(app):
    good = [("Host", "127.0.0.1:8000"), ("Origin", ORIGIN)]
    assert asgi_call(app, "POST", "/api/gandalf/new", good)[0] == 200
    assert asgi_call(app, "POST", "/api/gandalf/new", [*good, ("Origin", "http://evil.example")])[0] == 403
    assert asgi_call(app, "POST", "/api/gandalf/new", [*good, ("ORIGIN", ORIGIN)])[0] == 403


def test_scripts_without_origin_or_referer_pass(client):
    assert client.post("/api/gandalf/new").status_code == 200  # curl, the CLI, a notebook
    assert client.post("/api/gandalf/new", headers={"sec-fetch-site": "none"}).status_code == 200


def test_sec_fetch_site_cross_site_is_refused_even_with_a_good_origin(client):
    r = client.post("/api/gandalf/new", headers={"origin": ORIGIN, "sec-fetch-site": "cross-site"})
    assert r.status_code == 403
    r = client.post("/api/gandalf/new", headers={"origin": ORIGIN, "sec-fetch-site": "same-site"})
    assert r.status_code == 403


def test_other_sites_may_link_to_the_lab_but_not_load_from_it(client):
    navigate = {"sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate", "sec-fetch-dest": "document"}
    assert client.get("/", headers=navigate).status_code == 200  # a link from the course's slides
    # <img>/<script>/fetch() from another site: each could make the lab run a model for nothing.
    for extra in (
        {"sec-fetch-mode": "no-cors", "sec-fetch-dest": "image"},
        {"sec-fetch-mode": "no-cors", "sec-fetch-dest": "script"},
        {"sec-fetch-mode": "cors", "sec-fetch-dest": "empty"},
        {"sec-fetch-mode": "navigate", "sec-fetch-dest": "iframe"},
    ):
        r = client.get("/api/health", headers={"sec-fetch-site": "cross-site", **extra})
        assert r.status_code == 403, extra
    same = {"sec-fetch-site": "same-origin", "sec-fetch-mode": "cors", "sec-fetch-dest": "empty"}
    assert client.get("/api/health", headers=same).status_code == 200
    r = client.get("/api/health", headers={"sec-fetch-site": "same-site", "sec-fetch-mode": "no-cors"})
    assert r.status_code == 403  # same-site: another port of this machine


def test_the_guard_comes_before_validation_and_routing(client):
    r = client.post("/api/gandalf/guess", content=b"not json", headers={"origin": "http://evil.example"})
    assert r.status_code == 403
    r = client.post("/no/such/route", headers={"origin": "http://evil.example"})
    assert r.status_code == 403


# ----------------------------------------------------------------------------------------------
# Security headers


def assert_security_headers(headers):
    csp = headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["frame-ancestors"] == "'none'" and directives["connect-src"] == "'self'"
    assert directives["default-src"] == "'self'" and directives["object-src"] == "'none'"
    assert "'unsafe-eval'" not in csp and "*" not in csp and "http" not in csp  # no remote origin
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["cross-origin-opener-policy"] == "same-origin"
    assert headers["cross-origin-resource-policy"] == "same-origin"


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/capitulo/redes-recurrentes-transformers",
        "/api/health",
        "/api/chapters",
        "/static/css/pizarra.css",
        "/static/favicon.svg",
        "/static/vendor/plotly.min.js",
        "/docs",
        "/openapi.json",
        "/no/such/page",
        "/api/no/such/route",
    ],
)
def test_security_headers_on_every_answer(client, path):
    r = client.get(path)
    assert r.status_code in (200, 404)
    assert_security_headers(r.headers)


def test_security_headers_on_refusals_and_errors(client):
    assert_security_headers(client.get("/", headers={"host": "evil.example"}).headers)
    assert_security_headers(client.post("/api/gandalf/new", headers={"origin": "null"}).headers)
    assert_security_headers(client.post("/api/gandalf/new", content=b"x" * (MAX_BODY + 1)).headers)
    assert_security_headers(client.post("/api/gandalf/guess", json={"level": 0, "guess": ""}).headers)


# ----------------------------------------------------------------------------------------------
# Request size


def test_a_body_of_exactly_the_limit_is_read(fresh):
    body = json.dumps({"level": 1, "guess": "x"}).encode()
    body += b" " * (MAX_BODY - len(body))  # JSON allows trailing white space
    r = fresh.post("/api/gandalf/guess", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text


def test_one_byte_over_the_limit_is_413_by_content_length(client):
    r = client.post("/api/chat/run", content=b"x" * (MAX_BODY + 1), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert "demasiado grande" in error_message(r) and "1 MB" in error_message(r)
    r = client.post("/api/chat/run?lang=en", content=b"x" * (MAX_BODY + 1))
    assert r.status_code == 413 and "too large" in error_message(r)


def test_one_byte_over_the_limit_is_413_when_chunked(client):
    def chunks():
        yield b"x" * MAX_BODY
        yield b"x"

    r = client.post("/api/chat/run", content=chunks(), headers={"content-type": "application/json"})
    assert r.request.headers.get("transfer-encoding") == "chunked" and "content-length" not in r.request.headers
    assert r.status_code == 413 and "demasiado grande" in error_message(r)


def test_a_huge_content_length_is_refused_without_reading(app):
    async def receive(n):
        raise AssertionError("the body was read")

    headers = [("Host", "127.0.0.1:8000"), ("Content-Type", "application/json"), ("Content-Length", str(2 * 1024**3))]
    status, hdrs, body, reads = asgi_call(app, "POST", "/api/chat/run", headers, receive=receive)
    assert status == 413 and reads == 0 and hdrs["connection"] == "close"
    assert "demasiado grande" in json.loads(body)["error"]["message"]


def test_a_chunked_body_stops_being_read_at_the_limit(app, caplog):
    chunk = b"x" * 65536

    async def endless(n):  # a client that never stops sending
        return {"type": "http.request", "body": chunk, "more_body": True}

    headers = [("Host", "127.0.0.1:8000"), ("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")]
    for path in ("/api/chat/run", "/api/gandalf/guess", "/api/jobs", "/capitulo/texto-a-numeros"):
        status, _, body, reads = asgi_call(app, "POST", path, headers, receive=endless)
        if status == 405:  # a page that takes no POST never reads the body at all
            assert reads == 0, path
            continue
        assert status == 413, (path, status, body[:300])
        assert reads == MAX_BODY // len(chunk) + 1, path  # one chunk past the limit, then no more
    assert not [r for r in caplog.records if r.levelname == "ERROR"]  # a refusal, not a crash


@pytest.mark.parametrize("length", ["abc", "-1", "1e6", "12 34", "\u00b2", "0x10", "+5", "9" * 40])
def test_a_malformed_content_length_is_400(app, length):
    headers = [("Host", "127.0.0.1:8000"), ("Content-Length", length)]
    assert asgi_call(app, "POST", "/api/gandalf/new", headers)[0] == 400
    two = [("Host", "127.0.0.1:8000"), ("Content-Length", "2"), ("Content-Length", str(2 * MAX_BODY))]
    assert asgi_call(app, "POST", "/api/gandalf/new", two)[0] == 400


# ----------------------------------------------------------------------------------------------
# Gandalf: guesses per player and level


def guess(c, level=1, word="nope", **kw):
    return c.post(f"/api/gandalf/guess?{kw.get('query', '')}", json={"level": level, "guess": word})


def test_guesses_are_rate_limited_per_player_and_level(app):
    limit, window = security.GUESS_LIMIT
    with TestClient(app, base_url=BASE) as alice, TestClient(app, base_url=BASE) as bob:
        for _ in range(limit):
            assert guess(alice, level=8).status_code == 200
        r = guess(alice, level=8)
        assert r.status_code == 429
        retry = int(r.headers["retry-after"])
        assert 0 < retry <= window
        message = error_message(r)
        assert "nivel 8" in message and f"dentro de {retry} s" in message
        r = guess(alice, level=8, query="lang=en")
        assert r.status_code == 429 and f"Try again in {int(r.headers['retry-after'])} s" in error_message(r)
        # Another level of the same player, and another player at the same level: unaffected.
        assert guess(alice, level=7).status_code == 200
        for _ in range(limit):
            assert guess(bob, level=8).status_code == 200
        assert guess(bob, level=8).status_code == 429
        # Even the right password waits: the limit is what stops a brute force.
        assert guess(alice, level=8, word="whatever").status_code == 429


def test_the_player_is_the_game_cookie_whatever_the_address(app):
    """The passwords belong to the cookie: a new address with the same cookie (X-Forwarded-For,
    another IPv6 address) gets no fresh budget; dropping the cookie means new passwords."""
    from pizarra.web.routers import gandalf

    with TestClient(app, base_url=BASE) as c:
        for _ in range(security.GUESS_LIMIT[0]):
            assert guess(c, level=3).status_code == 200
        assert guess(c, level=3).status_code == 429
        pid = c.cookies[gandalf.COOKIE]
    with TestClient(app, base_url=BASE, client=("192.0.2.9", 1234), cookies={gandalf.COOKIE: pid}) as moved:
        assert guess(moved, level=3).status_code == 429
    with TestClient(app, base_url=BASE) as new_player:  # no cookie: a new player, new passwords
        assert guess(new_player, level=3).status_code == 200
        assert new_player.cookies[gandalf.COOKIE] != pid


def test_rate_limiter_window_and_memory_bound():
    now = [0.0]
    limiter = RateLimiter(5, 60, max_keys=100, clock=lambda: now[0])
    for t in range(5):  # five tries at t = 0, 1, 2, 3, 4 s
        now[0] = float(t)
        assert limiter.hit("a") == 0.0
    now[0] = 10.0
    assert limiter.hit("a") == pytest.approx(50.0)
    assert limiter.hit("a") == pytest.approx(50.0)  # a refused try does not count
    assert limiter.hit("b") == 0.0  # another key
    now[0] = 60.0
    assert limiter.hit("a") == 0.0  # the try at t = 0 left the window
    assert limiter.hit("a") == pytest.approx(1.0)  # the one at t = 1 leaves it at t = 61
    for i in range(1000):
        limiter.hit(("player", i))
    assert len(limiter.hits) == 100


def test_guess_limit_setting(monkeypatch):
    monkeypatch.setenv(security.ENV_GUESS_LIMIT, "3/10")
    assert Settings().guess_limit == (3, 10.0)
    monkeypatch.setenv(security.ENV_GUESS_LIMIT, "off")
    assert Settings().guess_limit is None
    monkeypatch.setenv(security.ENV_GUESS_LIMIT, "lots")
    assert Settings().guess_limit == security.GUESS_LIMIT
    monkeypatch.delenv(security.ENV_GUESS_LIMIT)
    assert Settings().guess_limit == (5, 60.0)


def test_messages_exist_in_both_languages():
    keys = [k for k in i18n.catalogue("es") if k.startswith("security.")]
    assert len(keys) >= 6 and all(k in i18n.catalogue("en") for k in keys)
    for status in (400, 403, 413, 421, 429):
        assert f"error.{status}.title" in i18n.catalogue("es") and f"error.{status}.title" in i18n.catalogue("en")


# ----------------------------------------------------------------------------------------------
# The same over real sockets: uvicorn in a thread, raw HTTP/1.1.


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    app = create_app(
        Settings(
            db_path=tmp_path_factory.mktemp("live") / "jobs.sqlite",
            allowed_hosts=security.LOOPBACK,
            guess_limit=security.GUESS_LIMIT,
        )
    )
    with serving(app) as port:
        yield port


def raw(port: int, head: str, body_chunks=(), timeout: float = 10.0) -> bytes:
    """Send ``head`` (and body chunks, stopping as soon as the server answers); the server's answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head.encode("latin-1"))
        for chunk in body_chunks:
            if select.select([sock], [], [], 0)[0]:
                break  # it answered already: like curl, stop sending
            try:
                sock.sendall(chunk)
            except OSError:
                break
        answer = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data = sock.recv(65536)
            except OSError:
                break
            if not data:
                break
            answer += data
            if b"\r\n\r\n" in answer:
                head_part, _, rest = answer.partition(b"\r\n\r\n")
                length = [
                    int(line.split(b":")[1])
                    for line in head_part.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ]
                if length and len(rest) >= length[0]:
                    break
        return answer


def test_live_duplicate_and_foreign_host(live):
    ok = raw(live, f"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1:{live}\r\nConnection: close\r\n\r\n")
    assert ok.startswith(b"HTTP/1.1 200")
    assert b"content-security-policy:" in ok.lower()
    two = raw(
        live, f"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1:{live}\r\nHost: evil.example\r\nConnection: close\r\n\r\n"
    )
    assert two.startswith(b"HTTP/1.1 400")
    foreign = raw(live, "GET /api/health HTTP/1.1\r\nhOsT: EVIL.example\r\nConnection: close\r\n\r\n")
    assert foreign.startswith(b"HTTP/1.1 421")
    # An absolute request target names the lab, the Host header names another: Host decides.
    absolute = raw(
        live, f"GET http://127.0.0.1:{live}/api/health HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n"
    )
    assert absolute.startswith(b"HTTP/1.1 4")


def test_live_huge_content_length_is_answered_at_once(live):
    started = time.monotonic()
    answer = raw(
        live,
        f"POST /api/chat/run HTTP/1.1\r\nHost: 127.0.0.1:{live}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {2 * 1024**3}\r\nExpect: 100-continue\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]  # no "100 Continue": the body is never asked for
    assert time.monotonic() - started < 5
    assert "demasiado grande" in json.loads(answer.partition(b"\r\n\r\n")[2])["error"]["message"]


def test_live_endless_chunked_body_is_cut_at_the_limit(live):
    chunk = b"x" * 65536
    framed = b"%x\r\n%s\r\n" % (len(chunk), chunk)
    answer = raw(
        live,
        f"POST /api/chat/run HTTP/1.1\r\nHost: 127.0.0.1:{live}\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n",
        body_chunks=[framed] * 400,
    )  # 25 MiB offered
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_pizarra_serve_announces_the_host_it_binds(monkeypatch):
    """`pizarra serve --host NAME` (what `make run` calls): the lab then answers to NAME, not to any Host."""
    from typer.testing import CliRunner

    from pizarra.cli import app as cli_app

    monkeypatch.delenv(security.ENV_HOSTS, raising=False)
    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: seen.update(k))
    result = CliRunner().invoke(cli_app, ["serve", "--host", "pizarra.lan", "--port", "8123"])
    assert result.exit_code == 0 and seen["host"] == "pizarra.lan"
    assert "pizarra.lan" in security.default_allowed_hosts()
    assert "evil.example" not in security.default_allowed_hosts()
