"""The lab's defences in a real browser (pizarra.web.security).

- The pages run under the Content-Security-Policy with no violation: home, two chapters that draw
  Plotly charts, the API docs.
- A foreign page (another origin on this machine) cannot make the lab change anything.
- A rebound name (DNS rebinding, here ``*.localhost``, which Chromium resolves to 127.0.0.1
  itself) gets 421: the hostile page reads no answer and runs no code.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

import pytest

pytestmark = pytest.mark.browser

WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`);
});
"""
NETS = "/capitulo/redes-recurrentes-transformers"
NETS_PLOTS = ["elman-plot", "lstm-plot", "attention-plot", "positional-plot", "vanishing-plot"]
EMBEDDINGS = "/capitulo/embeddings"


def watch(page) -> list[str]:
    """Collect every CSP complaint: the DOM event and Chromium's console messages."""
    problems: list[str] = []
    page.add_init_script(WATCH_CSP)
    page.on(
        "console",
        lambda m: problems.append(m.text) if "Content Security Policy" in m.text or "Refused to" in m.text else None,
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    return problems


def violations(page, problems) -> list[str]:
    return problems + page.evaluate("window.__csp || []")


def test_home_and_chapters_with_charts_run_under_the_csp(page, live_server, screenshot):
    problems = watch(page)
    response = page.goto(live_server + "/")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    page.wait_for_load_state("networkidle")
    assert violations(page, problems) == [], "/"

    page.goto(live_server + NETS)
    for plot in NETS_PLOTS:  # Plotly: inline styles, SVG, data: images
        page.wait_for_selector(f'#{plot}[data-drawn="1"] .main-svg', timeout=90_000)
    assert violations(page, problems) == [], NETS

    page.goto(live_server + EMBEDDINGS)
    page.wait_for_selector("#projector-plot .main-svg", timeout=90_000)
    page.wait_for_selector("#neighbors-table:not([hidden]) tbody tr", timeout=60_000)
    assert violations(page, problems) == [], EMBEDDINGS
    screenshot("csp-embeddings")


def test_every_chapter_page_loads_under_the_csp(page, live_server):
    """Inline scripts, style attributes, event handlers: whatever a page runs as it loads."""
    from pizarra.chapters import CHAPTERS

    problems = watch(page)
    for chapter in CHAPTERS:
        page.goto(f"{live_server}/capitulo/{chapter.slug}")
        page.wait_for_timeout(500)  # the scripts that start on load
        assert violations(page, problems) == [], chapter.slug


def test_api_docs_run_under_the_csp(page, live_server):
    problems = watch(page)
    page.goto(live_server + "/docs")
    page.locator(".swagger-ui .info .title").wait_for()
    page.locator(".opblock-summary-path", has_text="/api/health").first.wait_for()
    assert violations(page, problems) == [], "/docs"
    answered: list[str] = []
    page.on("response", lambda r: answered.append(r.url))
    page.goto(live_server + "/redoc")
    page.locator("h1", has_text="Pizarra").first.wait_for(timeout=60_000)
    page.wait_for_load_state("networkidle")
    # ReDoc's "powered by" logo comes from its CDN: the CSP blocks it before it leaves the machine
    # (no response ever comes back), which is the policy doing its job, not the page breaking.
    cdn_logo = "https://cdn.redoc.ly/redoc/logo-mini.svg"
    assert [v for v in violations(page, problems) if cdn_logo not in v] == [], "/redoc"
    page.requests[:] = [u for u in page.requests if u != cdn_logo]
    page.csp_expected.append(cdn_logo)
    assert cdn_logo not in answered


@pytest.fixture
def hostile_site():
    """``hostile_site(html)`` serves ``html`` from another port of 127.0.0.1: another origin (a real
    server, so that Chromium files it under the loopback address space like the lab)."""
    servers = []

    def serve(html: str) -> str:
        class Page(BaseHTTPRequestHandler):
            def do_GET(self):
                body = html.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def lab_api(live_server: str, method: str, path: str, body: dict | None = None) -> dict:
    """Call the lab as a script would (no Origin, no Referer)."""
    data = json.dumps(body).encode() if body is not None else None
    request = Request(live_server + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_a_foreign_page_cannot_change_anything(page, live_server, hostile_site):
    """A page at another origin of this machine (another port) posts to the lab with fetch() and a
    form, and loads from it with an image: the lab sees where they come from and refuses."""
    job = lab_api(live_server, "POST", "/api/jobs", {"kind": "demo.count", "params": {"n": 600, "delay_s": 0.1}})
    evil = hostile_site(
        (
            "<!doctype html><title>hostile</title><body>"
            f"<form id=f method=post action='{live_server}/api/gandalf/new'></form></body>"
        )
    )
    failed: dict[str, str] = {}
    page.on("requestfailed", lambda r: failed.__setitem__(urlsplit(r.url).path, r.failure))
    page.goto(evil + "/page.html")
    outcome = page.evaluate(
        """async ([lab, id]) => {
        const out = {};
        for (const path of [`/api/jobs/${id}/cancel`, "/api/gandalf/new", "/api/chat/run"]) {
            out[path] = await fetch(lab + path, {method: "POST", mode: "no-cors", body: '{"code": "print(1)"}'})
                .then((r) => r.type, (e) => String(e));
        }
        out.img = await new Promise((done) => { const img = new Image(); img.onload = () => done("loaded");
            img.onerror = () => done("error"); img.src = lab + "/api/nets/vanishing"; document.body.append(img); });
        return out;
    }""",
        [live_server, job["id"]],
    )
    assert outcome["img"] == "error"
    # The job is untouched: the cancel was refused (403; its answer is also unreadable, CORP).
    assert not lab_api(live_server, "GET", f"/api/jobs/{job['id']}")["cancel_requested"], (outcome, failed)
    # A form navigates: here the refusal itself can be seen (JSON under /api/), in Spanish.
    with page.expect_navigation() as navigation:
        page.evaluate("document.getElementById('f').submit()")
    assert navigation.value.status == 403
    assert "otra web" in navigation.value.json()["error"]["message"]
    # The control: the lab's own page may cancel the same job.
    page.goto(live_server + "/")
    status = page.evaluate("(id) => fetch(`/api/jobs/${id}/cancel`, {method: 'POST'}).then((r) => r.status)", job["id"])
    assert status == 200 and lab_api(live_server, "GET", f"/api/jobs/{job['id']}")["cancel_requested"]


def test_a_rebound_name_gets_421_not_answers(browser, live_server):
    """DNS rebinding: the hostile page's name now points at 127.0.0.1, so to the browser the lab
    is the page's own origin. The Host header still carries the hostile name: 421."""
    port = urlsplit(live_server).port
    rebound = f"http://rebind-attack.localhost:{port}"
    context = browser.new_context(locale="es-ES")
    try:
        page = context.new_page()
        response = page.goto(rebound + "/")
        assert response.status == 421
        assert "rebind-attack.localhost" in page.locator("main").inner_text()
        results = page.evaluate("""async () => {
            const out = [];
            for (const [method, path, body] of [["GET", "/api/chapters"], ["GET", "/api/gandalf/info"],
                                                ["POST", "/api/chat/run", JSON.stringify({code: "print(6*7)"})]]) {
                const r = await fetch(path, {method, body, headers: {"Content-Type": "application/json"}});
                out.push([path, r.status, await r.text()]);
            }
            return out;
        }""")
        for path, status, text in results:
            assert status == 421, (path, status, text[:200])
            assert set(json.loads(text)) == {"error"}, path
    finally:
        context.close()
