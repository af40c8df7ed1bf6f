"""Every page on a phone and on a classroom projector (issue #18, point 6: "Screens").

Two screens, each its own browser context:
    phone      390x844 CSS px, device scale factor 3, a touch screen with the mobile viewport
               (a page wider than 390 px makes a phone's layout viewport grow: ``innerWidth`` must stay 390)
    projector  1024x768 at 150 % browser zoom: a CSS viewport of 683x512 at device scale factor 1.5

Each page is visited after its main demo has run where that is cheap (its tables and plots must be on
screen to be measured), and then:
    - the page never scrolls sideways (``scrollWidth <= innerWidth``) and nothing sticks out of its right edge
      unless it sits inside a box that scrolls by itself;
    - every table is fully visible, or inside a box that scrolls horizontally (overflow-x auto/scroll)
      and is itself no wider than the screen;
    - every formula box fits (it wraps; no hidden part to scroll to);
    - no chart's title is cut at the chart's edges or drawn over the chart (Plotly never wraps a title);
    - on the phone, no Plotly toolbar (modebar) covers a chart's title.
Chapter 4's attention heatmaps label both axes with the tokens, every token, at every screen size
(chapter 7 draws no attention heatmap).
Screenshots in tests/browser/screenshots/screens-*.png.
"""

from __future__ import annotations

import pytest

from conftest import SCREENSHOTS, outside_requests
from pizarra.chapters import BY_SLUG, CHAPTERS
from support.serving import serving

pytestmark = pytest.mark.browser

SCREENS = {
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 3,
        "is_mobile": True,
        "has_touch": True,
    },
    "projector": {"viewport": {"width": 683, "height": 512}, "device_scale_factor": 1.5},
}
DESKTOP = {"viewport": {"width": 1366, "height": 768}}
FORMULAS = "main .nets-eq"  # the chapters' boxes of equations (chapter 4)
LONG = 120_000  # a model loads on first use, on a shared 2-core machine


def chapter(slug: str) -> str:
    return BY_SLUG[slug].url


# ----------------------------------------------------------------------------------- the demos


def demo_gen(page):  # chapter 1: a review classified by the discriminative models and the LLM
    page.click("#gen-button")
    page.locator("#gen-llm .model-result").wait_for(timeout=3 * LONG)


def demo_text(page):  # chapter 2: tokens, the tokenizer comparison, the document-term matrix
    page.wait_for_selector("#tokens .tok", timeout=LONG)
    page.wait_for_selector("#matrix tbody tr", timeout=LONG)
    page.click("#compare-go")
    page.wait_for_selector("#compare-table:not([hidden]) tbody tr", timeout=LONG)


def demo_embeddings(page):  # chapter 3: neighbours, formulas and the projector answer on load
    page.wait_for_selector("#neighbors-table:not([hidden]) tbody tr", timeout=LONG)
    page.wait_for_selector("#formula-results li", timeout=LONG)
    page.wait_for_selector("#projector-plot .main-svg", timeout=LONG)


def demo_nets(page):  # chapter 4: every plot and the parity table
    for plot in ("elman-plot", "lstm-plot", "attention-plot", "positional-plot", "vanishing-plot"):
        page.wait_for_selector(f'#{plot}[data-drawn="1"] .main-svg', timeout=LONG)
    page.wait_for_selector("#parity-table:not([hidden]) tbody tr", timeout=LONG)


def demo_imdb(page):  # chapter 5: a review through every shipped model
    page.click("#predict-button")
    page.locator("#predict-results .model-result").first.wait_for(timeout=LONG)


def demo_similarity(page):  # chapter 6: the lecture's scores and the semantic map, on load
    page.locator("#compare-table").wait_for(state="visible", timeout=LONG)
    page.locator("#map-plot .scatterlayer .point").first.wait_for(timeout=LONG)


def demo_generation(page):  # chapter 7: the next-token chart from Gemma, on load
    page.locator("#next-plot .bars .point").first.wait_for(timeout=LONG)


def demo_chat(page):  # chapter 8: the data table
    page.locator("#data-table tbody tr").first.wait_for(timeout=LONG)


def demo_images(page):  # chapter 10: a search and a generated batch
    page.click("#search-button")
    page.locator("#search-results img").first.wait_for(timeout=LONG)
    page.click("#gen-button")
    page.locator("#gen-out img").nth(15).wait_for(timeout=LONG)


def demo_jobs(page):  # the jobs page: a short job runs to its end and joins the table
    page.select_option("#job-kind", "demo.count")
    page.click("#job-start")
    page.wait_for_function("() => document.querySelector('#job-table tbody').textContent.includes('terminado')")


DEMOS = {
    "discriminativa-generativa": demo_gen,
    "texto-a-numeros": demo_text,
    "embeddings": demo_embeddings,
    "redes-recurrentes-transformers": demo_nets,
    "imdb": demo_imdb,
    "entender-texto": demo_similarity,
    "generar-texto": demo_generation,
    "instrucciones-chat-alucinaciones": demo_chat,
    "seguridad-alineamiento": None,  # the game needs an LLM per question: its table is on the page already
    "generar-imagenes": demo_images,
}
assert set(DEMOS) == {c.slug for c in CHAPTERS}, "a new chapter needs its line here"
PAGES = [("/", None), *((chapter(slug), demo) for slug, demo in DEMOS.items()), ("/trabajos", demo_jobs)]


# ----------------------------------------------------------------------------------- measuring

MEASURE = """([W, formulas]) => {
  const vw = window.innerWidth, problems = [];
  const visible = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
      (typeof el.className === "string" && el.className ? "." + el.className.trim().split(/\\s+/).join(".") : "");
  const ox = (el) => getComputedStyle(el).overflowX, px = Math.round;
  const clipper = (el) => {  // the nearest box (el itself included) that does not let el spill out
    for (let a = el; a && a !== document.body && a !== document.documentElement; a = a.parentElement)
      if (ox(a) !== "visible") return a;
    return null;
  };
  const sw = document.documentElement.scrollWidth;
  if (vw > W) problems.push(`the layout viewport grew to ${vw}px: the page is wider than the screen`);
  if (sw > vw) problems.push(`the page scrolls sideways: scrollWidth ${sw} > innerWidth ${vw}`);
  // nothing sticks out of the right edge unless a box scrolls it (or the page hides it on purpose, far left)
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    if (!visible(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.right > W + 1 && r.width > 0 && !clipper(el.parentElement)) out.push(`${name(el)} (right ${px(r.right)})`);
  }
  if (out.length) problems.push(`cut off at the right edge: ${out.slice(0, 5).join(", ")}`);
  for (const t of document.querySelectorAll("table")) {
    if (!visible(t)) continue;
    const r = t.getBoundingClientRect(), box = clipper(t);
    if (!box) {
      if (r.left < -1 || r.right > W + 1) problems.push(`table ${name(t)} is cut off (${px(r.left)}..${px(r.right)})`);
      continue;
    }
    const b = box.getBoundingClientRect();
    if (["auto", "scroll"].includes(ox(box))) {
      if (b.left < -1 || b.right > W + 1)
        problems.push(`the box that scrolls table ${name(t)} is wider than the screen (${px(b.left)}..${px(b.right)})`);
    } else if (box.scrollWidth > box.clientWidth + 1) {
      problems.push(`table ${name(t)} is clipped by ${name(box)} (overflow-x ${ox(box)}), not scrolled`);
    }
  }
  for (const f of document.querySelectorAll(formulas)) {
    if (!visible(f)) continue;
    const r = f.getBoundingClientRect();
    if (f.scrollWidth > f.clientWidth + 1 || r.left < -1 || r.right > W + 1)
      problems.push(`formula ${name(f)} needs ${f.scrollWidth}px, has ${f.clientWidth}: ${f.textContent.slice(0, 30)}`);
  }
  for (const plot of document.querySelectorAll(".js-plotly-plot")) {  // Plotly never wraps a title: it gets cut
    const svg = plot.querySelector(".main-svg");
    if (!svg || !visible(plot)) continue;
    const s = svg.getBoundingClientRect();
    const areas = [...plot.querySelectorAll(".nsewdrag")].map((d) => d.getBoundingClientRect());  // the plot areas
    for (const t of plot.querySelectorAll(".gtitle, .g-xtitle text, .g-ytitle text")) {
      const r = t.getBoundingClientRect();
      if (r.width > 0 && (r.left < s.left - 1 || r.right > s.right + 1))
        problems.push(`#${plot.id}: its title «${t.textContent.slice(0, 40)}» is cut at the chart's edge`);
      if (t.classList.contains("gtitle") && areas.some((a) => r.bottom > a.top + 1 && r.top < a.bottom - 1
                                                         && r.right > a.left + 1 && r.left < a.right - 1))
        problems.push(`#${plot.id}: its title «${t.textContent.slice(0, 40)}» lies over the chart`);
    }
  }
  return problems;
}"""

MODEBAR = """() => {
  const hit = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1;
  const problems = [];
  for (const plot of document.querySelectorAll(".js-plotly-plot")) {
    const bar = plot.querySelector(".modebar");
    if (!bar || !bar.getClientRects().length) continue;
    const style = getComputedStyle(bar);  // opacity does not count: a tap on the chart shows the bar
    if (style.display === "none" || style.visibility === "hidden") continue;
    const b = bar.getBoundingClientRect();
    if (b.width < 1 || b.height < 1) continue;
    for (const title of plot.querySelectorAll(".gtitle, .g-gtitle text")) {
      const r = title.getBoundingClientRect();
      if (r.width > 0 && hit(b, r))
        problems.push(`#${plot.id}: the toolbar covers the title «${title.textContent.slice(0, 40)}»`);
    }
  }
  return [...new Set(problems)];
}"""


def check_screen(page, screen: str) -> list[str]:
    """What is wrong with the page on that screen; asked again for a few seconds while Plotly settles
    (a chart redraws itself once it has measured its margins): what remains is real."""
    width = SCREENS[screen]["viewport"]["width"]
    for _ in range(8):
        problems = page.evaluate(MEASURE, [width, FORMULAS])
        if screen == "phone":
            problems += page.evaluate(MODEBAR)
        if not problems:
            break
        page.wait_for_timeout(500)
    return problems


# ----------------------------------------------------------------------------------- fixtures


@pytest.fixture
def open_screen(browser):
    """``open_screen("phone")``: a fresh context of that screen whose every request must go to 127.0.0.1."""
    made = []

    def open_(screen: str, **extra):
        settings = SCREENS[screen] if screen in SCREENS else DESKTOP
        context = browser.new_context(locale="es-ES", **settings, **extra)
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.requests = []
        page.on("request", lambda request: page.requests.append(request.url))
        page.csp = []
        page.on("console", lambda msg: page.csp.append(msg.text) if "Content Security Policy" in msg.text else None)
        made.append((context, page))
        return page

    yield open_
    for context, page in made:
        context.close()
        outside = outside_requests(page.requests)
        assert not outside, f"requests left 127.0.0.1: {outside}"
        assert not page.csp, f"the page broke its own Content-Security-Policy: {page.csp[:3]}"


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"screens-{name}.png"), full_page=True)


def slug_of(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1] or "home"


# ----------------------------------------------------------------------------------- the tests


@pytest.mark.parametrize("screen", list(SCREENS))
@pytest.mark.parametrize("path, demo", PAGES, ids=[slug_of(p) for p, _ in PAGES])
def test_page_fits_the_screen(open_screen, live_server, screen, path, demo):
    page = open_screen(screen)
    page.goto(live_server + path)
    if demo:
        demo(page)
    page.wait_for_load_state("networkidle")
    shot(page, f"{screen}-{slug_of(path)}")
    problems = check_screen(page, screen)
    assert not problems, f"{path} on the {screen}:\n  " + "\n  ".join(problems)


@pytest.fixture(scope="module")
def classroom_server(tmp_path_factory):
    """A classroom server (its own Room) on 127.0.0.1: the join page and the teacher's dashboard exist only there."""
    from pizarra.classroom.room import Room
    from pizarra.llm import fair
    from pizarra.web.app import Settings, create_app

    cache = tmp_path_factory.mktemp("classroom")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PIZARRA_CACHE", str(cache))
        room = Room()
        app = create_app(Settings(db_path=cache / "jobs.sqlite", classroom=room))
        with serving(app, "the classroom server") as port:
            yield f"http://127.0.0.1:{port}", room
        fair.disable()


@pytest.mark.parametrize("screen", list(SCREENS))
def test_classroom_pages_fit_the_screen(open_screen, classroom_server, screen):
    base, room = classroom_server
    page = open_screen(screen)
    page.goto(f"{base}/unirse?code={room.code}")
    shot(page, f"{screen}-classroom-join")
    problems = check_screen(page, screen)
    assert not problems, f"/unirse on the {screen}:\n  " + "\n  ".join(problems)
    page.goto(f"{base}/profesor?token={room.teacher_token}")
    assert page.url.endswith("/profesor")
    page.wait_for_selector("#students")
    shot(page, f"{screen}-classroom-teacher")
    problems = check_screen(page, screen)
    assert not problems, f"/profesor on the {screen}:\n  " + "\n  ".join(problems)


# ------------------------------------------------------------------------- attention heatmap labels

ATTENTION = chapter("redes-recurrentes-transformers")
TICKS = """() => {
  const plot = document.getElementById("attention-plot"), L = plot._fullLayout, axes = {};
  for (const key of Object.keys(L).filter((k) => /^[xy]axis\\d*$/.test(k))) {
    const id = key[0] + key.slice(5);  // xaxis2 -> x2
    const along = key[0] === "x" ? ["left", "right"] : ["top", "bottom"];
    const ticks = [...plot.querySelectorAll(`.${id}tick text`)].filter((t) => t.getClientRects().length)
      .map((t) => ({text: t.textContent, box: t.getBoundingClientRect()}))
      .sort((a, b) => a.box[along[0]] - b.box[along[0]]);  // x: left to right; y: top to bottom
    let overlaps = 0;  // neighbouring labels drawn on top of each other
    for (let i = 1; i < ticks.length; i++) if (ticks[i].box[along[0]] < ticks[i - 1].box[along[1]] - 1) overlaps++;
    // a label is the token, maybe after its position ("3:s"); "␣" is a space
    axes[key] = {shown: L[key].showticklabels, labels: ticks.map((t) => t.text.replace(/^\\d+:/, "")), overlaps};
  }
  return axes;
}"""


def shown(text: str) -> list[str]:
    """The page's tokens as they are written on an axis: a space is ␣, a line break ↵."""
    return ["␣" if c == " " else "↵" if c == "\n" else c for c in text]


@pytest.mark.parametrize("screen", ["phone", "projector", "desktop"])
def test_attention_heatmaps_label_both_axes_with_the_tokens(open_screen, live_server, screen):
    page = open_screen(screen)
    page.goto(live_server + ATTENTION)
    for sentence in (None, "En un lugar de la Mancha, de cuyo nombre no quiero acordarme"):  # 27 and 60 tokens
        if sentence:
            page.fill("#attention-text", sentence)
            page.locator("#attention-form button[type=submit]").click()
            page.wait_for_selector(f'#attention-plot[data-text="{sentence}"]', timeout=LONG)
        page.wait_for_selector('#attention-plot[data-drawn="1"] .main-svg', timeout=LONG)
        page.wait_for_timeout(300)
        text = page.locator("#attention-plot").get_attribute("data-text")
        tokens = shown(text)
        axes = page.evaluate(TICKS)
        assert page.evaluate("document.getElementById('attention-plot').data.length") == 8  # 2 layers x 4 heads
        assert len(axes) == 16, f"each heatmap has its own x and y axis: {sorted(axes)}"
        for key, axis in axes.items():  # keys along x (left to right), queries along y (top to bottom)
            where = f"{screen}, {len(tokens)} tokens, {key}"
            assert axis["shown"], f"{where}: the labels are hidden"
            assert axis["labels"] == tokens, f"{where}: reads {axis['labels']}, not the tokens {tokens}"
            assert axis["overlaps"] == 0, f"{where}: {axis['overlaps']} labels drawn on top of others"
        SCREENSHOTS.mkdir(exist_ok=True)
        page.locator("#attention").screenshot(path=str(SCREENSHOTS / f"screens-attention-{screen}-{len(tokens)}.png"))
