"""Chapter 3 in a real browser: the lecture's prompts answer on load, the projector draws and
lists a clicked word's neighbours, bad input shows a readable error; the lecture's two quizzes
(a word lands where it is dropped, the answer is drawn in the map's own coordinates with labels
that do not overlap); every slow wait shows a spinner with a measured estimate and can be
cancelled without starting the work twice. Screenshots in screenshots/."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from conftest import SCREENSHOTS, outside_requests
from pizarra.embeddings import projector

pytestmark = pytest.mark.browser

URL = "/capitulo/embeddings"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


def test_lecture_prompts_answer_on_load(page, live_server, screenshot):
    page.goto(live_server + URL)
    page.wait_for_selector("#neighbors-table:not([hidden]) tbody tr", timeout=60_000)
    assert page.locator("#neighbors-table tbody tr").count() == 10
    page.wait_for_selector("#analogy-results li", timeout=30_000)
    assert "reina" in page.locator("#analogy-results").inner_text()
    page.wait_for_selector("#formula-results li", timeout=30_000)
    assert "tarde" in page.locator("#formula-results").inner_text()
    page.wait_for_selector("#projector-plot .main-svg", timeout=60_000)
    assert page.locator("#quiz-tray .quiz-chip").count() == 1  # «manzana», the lecture's quiz 1
    assert page.locator("#quiz-board .quiz-point.ref").count() == 9
    screenshot("embeddings-es")


def test_formula_examples_and_errors(page, live_server):
    page.goto(live_server + URL)
    page.wait_for_selector("#formula-results li", timeout=60_000)
    page.locator("#formula-lab .chip", has_text="DIST(perro, gato)").click()
    page.wait_for_function("() => document.querySelector('#formula-value').textContent.startsWith('=')")
    page.fill("#formula-input", "LERP(mañana, noche")
    page.click("#formula-form button[type=submit]")
    err = page.locator("#formula-lab .error-box")
    err.wait_for(state="visible")
    assert "19" in err.inner_text()
    page.fill("#neighbors-word", "rey2")  # not a word of letters: no vector, a readable error
    page.click("#neighbors-form button[type=submit]")
    page.locator("#neighbors-lab .error-box").wait_for(state="visible")
    assert "rey2" in page.locator("#neighbors-lab .error-box").inner_text()


def test_a_word_outside_the_vocabulary_is_built_from_its_pieces_and_says_so(page, live_server, screenshot):
    page.goto(live_server + URL)
    page.wait_for_selector("#neighbors-table:not([hidden]) tbody tr", timeout=60_000)
    note = page.locator("#neighbors-lab .pieces-note")
    assert note.is_hidden()  # «madrid» is in the vocabulary
    page.fill("#neighbors-word", "reyy")  # a typo: neighbours from its pieces, and the word it looks like
    page.click("#neighbors-form button[type=submit]")
    note.wait_for(state="visible")
    text = note.inner_text()
    assert "«reyy» no está en el vocabulario" in text and "«rey»" in text, text
    assert page.locator("#neighbors-lab .error-box").inner_text() == ""
    assert page.locator("#neighbors-table tbody tr").count() == 10
    page.fill("#neighbors-word", "baloncestistas")
    page.click("#neighbors-form button[type=submit]")
    page.wait_for_function(
        "() => document.querySelector('#neighbors-lab .pieces-note').textContent.includes('baloncestistas')"
    )
    screenshot("embeddings-pieces-es")
    page.fill("#neighbors-word", "madrid")  # a known word again: the note goes away
    page.click("#neighbors-form button[type=submit]")
    note.wait_for(state="hidden")


def test_projector_click_lists_neighbours_and_quiz_reveal(page, live_server, screenshot):
    page.goto(live_server + URL + "?lang=en")
    page.wait_for_selector("#projector-plot .main-svg", timeout=60_000)
    page.fill("#projector-word", "rey")
    page.select_option("#projector-form select[name=dims]", "3")
    page.click("#projector-form button[type=submit]")
    page.wait_for_selector('#projector-plot[data-dims="3"][data-points="41"]', timeout=30_000)
    page.fill("#projector-word", "")
    page.select_option("#projector-form select[name=dims]", "2")
    page.click("#projector-form button[type=submit]")
    page.wait_for_selector('#projector-plot[data-dims="2"] .scatterlayer .point')
    page.locator("#projector-plot .scatterlayer .point").first.click(force=True)
    page.wait_for_selector("#projector-picked li", timeout=30_000)
    # quiz: drag a word onto the board, then reveal
    chip = page.locator("#quiz-tray .quiz-chip").first
    chip.hover()
    box = page.locator("#quiz-board").bounding_box()  # after hover(), which may scroll
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.8, box["y"] + box["height"] * 0.2, steps=5)
    page.mouse.up()
    assert page.locator("#quiz-board .quiz-chip:not(.truth)").count() == 1
    page.click("#quiz-reveal")
    assert page.locator("#quiz-board .quiz-point.truth").count() >= 1
    assert page.locator("#quiz-explain").is_visible()
    screenshot("embeddings-en-projector-quiz")


# ------------------------------------------------------------------------------- quiz (issue #18)
@pytest.fixture
def phone(browser, live_server):
    """A touch phone (390x844, Spanish) whose requests must all go to 127.0.0.1."""
    context = browser.new_context(locale="es-ES", **PHONE)
    page = context.new_page()
    page.set_default_timeout(30_000)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    yield page
    context.close()
    assert not outside_requests(requests)


def open_quiz(page, live_server, query="", round_=1):
    page.goto(live_server + URL + query)
    if round_ != 1:
        page.click(f'.quiz-round[data-round="{round_}"]')
    page.wait_for_selector(f'#quiz-board[data-round="{round_}"] .quiz-point.ref', state="attached", timeout=60_000)
    page.wait_for_selector("#quiz-tray .quiz-chip")
    page.evaluate(
        "document.querySelector('#quiz-question').scrollIntoView({block: 'start'})"
    )  # tray and board on screen


def chip_center(page, word):
    """Where the chip of ``word`` is, as a fraction of the board's inside, and what holds it."""
    return page.evaluate(
        """(word) => {
        const board = document.querySelector("#quiz-board");
        const chip = document.querySelector(`.quiz-chip[data-word="${word}"]`);
        const b = board.getBoundingClientRect(), c = chip.getBoundingClientRect();
        return {parent: chip.parentElement.id,
                x: (c.left + c.width / 2 - b.left - board.clientLeft) / board.clientWidth,
                y: (c.top + c.height / 2 - b.top - board.clientTop) / board.clientHeight};
    }""",
        word,
    )


def board_point(page, fx, fy):
    """Page coordinates of the fraction (fx, fy) of the board's inside."""
    return page.evaluate(
        """([fx, fy]) => {
        const board = document.querySelector("#quiz-board"), b = board.getBoundingClientRect();
        return [b.left + board.clientLeft + fx * board.clientWidth, b.top + board.clientTop + fy * board.clientHeight];
    }""",
        [fx, fy],
    )


def test_quiz_first_mouse_drag_lands_where_released(page, live_server):
    """The first drag from the tray used to drop the word on the board's top edge (the chip lost its
    pointer capture when it moved into the board); it must land under the pointer at once."""
    open_quiz(page, live_server)
    for word, (fx, fy) in (("manzana", (0.7, 0.3)),):
        page.locator(f'#quiz-tray .quiz-chip[data-word="{word}"]').hover()
        page.mouse.down()
        x, y = board_point(page, fx, fy)
        page.mouse.move(x, y, steps=8)
        page.mouse.up()
        got = chip_center(page, word)
        assert got["parent"] == "quiz-board"
        assert abs(got["x"] - fx) < 0.01 and abs(got["y"] - fy) < 0.01, got
    # dropped outside the board, a word goes back to the tray
    page.locator('#quiz-board .quiz-chip[data-word="manzana"]').hover()
    page.mouse.down()
    page.mouse.move(5, 5, steps=4)
    page.mouse.up()
    assert chip_center(page, "manzana")["parent"] == "quiz-tray"


def test_quiz_first_touch_drag_lands_where_released(phone, live_server):
    """The same with a finger (touch events → pointer events), on a phone, for every word of quiz 2."""
    open_quiz(phone, live_server, round_=2)
    cdp = phone.context.new_cdp_session(phone)
    words = [c.get_attribute("data-word") for c in phone.locator("#quiz-tray .quiz-chip").all()]
    assert words[0] == "vaca" and len(words) == 3
    for i, word in enumerate(words):
        box = phone.locator(f'#quiz-tray .quiz-chip[data-word="{word}"]').bounding_box()
        fx, fy = 0.25 + 0.25 * i, 0.6 - 0.2 * i
        x0, y0 = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        x1, y1 = board_point(phone, fx, fy)
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x0, "y": y0}]})
        for k in range(1, 9):
            point = {"x": x0 + (x1 - x0) * k / 8, "y": y0 + (y1 - y0) * k / 8}
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        got = chip_center(phone, word)
        assert got["parent"] == "quiz-board", (word, got)
        assert abs(got["x"] - fx) < 0.015 and abs(got["y"] - fy) < 0.015, (word, got)


def drawn_points(page):
    """Every point drawn on the board: its place (fraction of the board's inside), its label's box
    and its dot's box (page pixels), and whether it is an answer."""
    return page.evaluate(
        """() => {
        const board = document.querySelector("#quiz-board"), b = board.getBoundingClientRect();
        const box = (el) => {
            const r = el.getBoundingClientRect();
            return {x: r.left, y: r.top, w: r.width, h: r.height};
        };
        const inside = {x: b.left + board.clientLeft, y: b.top + board.clientTop,
                        w: board.clientWidth, h: board.clientHeight};
        return [...board.querySelectorAll(".quiz-point")].map((p) => {
            const r = p.getBoundingClientRect();
            return {word: p.dataset.word, truth: p.classList.contains("truth"),
                    x: (r.left - b.left - board.clientLeft) / board.clientWidth,
                    y: (r.top - b.top - board.clientTop) / board.clientHeight,
                    label: box(p.querySelector(".label")), dot: box(p.querySelector(".dot")),
                    board: inside};
        });
    }"""
    )


def overlap(a, b):
    return (
        a["x"] < b["x"] + b["w"] - 0.5
        and b["x"] < a["x"] + a["w"] - 0.5
        and a["y"] < b["y"] + b["h"] - 0.5
        and (b["y"] < a["y"] + a["h"] - 0.5)
    )


@pytest.mark.parametrize("round_", [1, 2])
@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_quiz_reveal_in_the_maps_own_coordinates_without_overlaps(request, live_server, round_, screen):
    """The answer used to be rescaled on its own (min-max of the asked words alone) while the board
    meant something else, and its chips were stacked on one another. Now every point, the map's
    and the answer's, is where the server's coordinates say in the one frame the server gives,
    and no label covers another label or a dot."""
    p = request.getfixturevalue("page" if screen == "desktop" else "phone")
    if screen == "desktop":
        p.set_viewport_size({"width": 1366, "height": 768})
    open_quiz(p, live_server, round_=round_)
    data = p.request.get(f"{live_server}/api/embeddings/quiz?vectors=es&round={round_}").json()
    p.click("#quiz-reveal")
    p.wait_for_selector("#quiz-board.revealed .quiz-point.truth", state="attached")
    drawn = drawn_points(p)
    f = data["frame"]
    expected = {q["word"]: q for q in data["points"]}
    assert sorted(d["word"] for d in drawn) == sorted(expected)  # every word: map and answer
    assert {d["word"] for d in drawn if d["truth"]} == {q["word"] for q in data["points"] if q["role"] == "asked"}
    for d in drawn:
        q = expected[d["word"]]
        fx, fy = (q["x"] - f["x0"]) / (f["x1"] - f["x0"]), (f["y1"] - q["y"]) / (f["y1"] - f["y0"])
        assert abs(d["x"] - fx) < 0.003 and abs(d["y"] - fy) < 0.003, (d["word"], d["x"], d["y"], fx, fy)
        assert 0.02 < fx < 0.98 and 0.02 < fy < 0.98  # inside the board, not on its edge
    for i, a in enumerate(drawn):
        b = a["board"]
        lab = a["label"]
        assert lab["x"] >= b["x"] - 0.5 and lab["y"] >= b["y"] - 0.5, a["word"]
        assert lab["x"] + lab["w"] <= b["x"] + b["w"] + 0.5 and lab["y"] + lab["h"] <= b["y"] + b["h"] + 0.5, a["word"]
        for c in drawn[i + 1 :]:
            assert not overlap(lab, c["label"]), (a["word"], c["word"])
        for c in drawn:
            assert not overlap(lab, c["dot"]), (a["word"], "covers the dot of", c["word"])
    assert p.locator("#quiz-explain").is_visible()
    if screen == "desktop":
        p.locator("#quiz-lab").screenshot(path=str(SCREENSHOTS / f"embeddings-quiz{round_}-reveal-1366.png"))
    else:
        SCREENSHOTS.mkdir(exist_ok=True)
        p.locator("#quiz-lab").screenshot(path=str(SCREENSHOTS / f"embeddings-quiz{round_}-reveal-390.png"))


def test_summary_promise_is_the_quiz(page, live_server):
    """The chapter's summary promises «¿dónde pondrías manzana?»: the quiz asks exactly that (the
    lecture's quiz 1), and its quiz 2 asks for «vaca» on the size × age map, as the slide does."""
    open_quiz(page, live_server)
    assert "¿dónde pondrías manzana?" in page.locator(".chapter-head .lead").inner_text()
    assert page.locator("#quiz-question").inner_text() == "¿Dónde pondrías «manzana»?"
    assert [c.get_attribute("data-word") for c in page.locator("#quiz-tray .quiz-chip").all()] == ["manzana"]
    page.click('.quiz-round[data-round="2"]')
    page.wait_for_selector('#quiz-board[data-round="2"] .quiz-point.ref', state="attached")
    assert page.locator("#quiz-question").inner_text() == "¿Dónde pondrías «vaca»?"
    refs = {p.get_attribute("data-word") for p in page.locator("#quiz-board .quiz-point.ref").all()}
    assert refs == {"cachorro", "perro", "ternero"}  # the slide's map
    # in English, with the English vectors: "where would you put apple?"
    open_quiz(page, live_server, "?lang=en")
    assert "where would you put apple?" in page.locator(".chapter-head .lead").inner_text()
    page.select_option("#vectors", "glove")
    page.wait_for_selector('#quiz-tray .quiz-chip[data-word="apple"]', timeout=60_000)
    assert page.locator("#quiz-question").inner_text() == "Where would you put “apple”?"


# --------------------------------------------------------------------------- waits (issue #18)
@pytest.fixture
def waits(tmp_path, monkeypatch):
    """A fresh record of this chapter's waits (no measurement yet, nothing loaded) for the server."""
    fresh = projector.Waits(tmp_path / "waits.json")
    monkeypatch.setattr(projector, "WAITS", fresh)
    return fresh


def test_slow_projection_spinner_estimate_cancel_and_no_second_computation(page, live_server, waits, monkeypatch):
    """A UMAP that takes seconds shows at once a spinner with the estimate measured on this machine
    and a Cancel button; Cancel stops the page waiting and says the server finishes; asking again
    joins the computation still running instead of starting a second one."""
    release, calls = threading.Event(), []

    def slow_umap(x, dims, seed=0):  # the real one takes ~20 s the first time: here, until released
        calls.append(len(x))
        release.wait(60)
        return np.arange(len(x) * dims, dtype=np.float32).reshape(len(x), dims)

    monkeypatch.setattr(projector, "umap", slow_umap)
    waits.measured()["umap"] = {"runs": {"12": 4.0}}  # as if a 12-word UMAP took 4 s here before
    waits.warmed("umap")
    try:
        page.goto(live_server + URL)
        page.wait_for_selector("#projector-plot[data-points]", timeout=60_000)
        before = page.locator("#projector-plot").get_attribute("data-points")
        words = "sol luna mar río monte valle nube lluvia nieve viento fuego tierra"
        page.fill("#projector-words", words)
        page.select_option("#projector-form select[name=method]", "umap")
        page.click("#projector-form button[type=submit]")
        wait = page.locator("#projector-lab .wait")
        wait.wait_for(state="visible", timeout=5_000)
        text = wait.inner_text()
        assert "de unos 4,0 s" in text and "medida en este ordenador" in text, text
        for _ in range(200):  # the projection starts once its estimate has come back
            if calls:
                break
            page.wait_for_timeout(50)
        assert len(calls) == 1 and wait.inner_text().startswith("Calculando")
        page.click("#projector-lab .wait-cancel")
        wait.wait_for(state="hidden")
        note = page.locator("#projector-lab .wait-note")
        assert note.is_visible() and "el servidor termina el cálculo" in note.inner_text()
        assert page.locator("#projector-lab").get_attribute("aria-busy") is None
        assert (
            page.locator("#projector-plot").get_attribute("data-points") == before
        )  # nothing drawn: it stopped waiting
        page.click("#projector-form button[type=submit]")  # the same again, while the server still computes
        wait.wait_for(state="visible", timeout=5_000)
        assert "El servidor ya estaba calculando esta proyección" in wait.inner_text()
        assert note.is_hidden()
        release.set()
        page.wait_for_selector('#projector-plot[data-points="12"]', timeout=30_000)
        assert wait.is_hidden()
        assert len(calls) == 1 and waits.computations == 1  # computed once, not twice in parallel
        assert waits.measured()["umap"]["runs"]["12"] != 4.0  # measured again, for the next estimate
    finally:
        release.set()


def test_first_load_of_vectors_shows_a_wait_in_every_lab(page, live_server, waits, monkeypatch, screenshot):
    """Switching to the English vectors loads 400k words the first time: every lab says so, with the
    estimate, and one of them can stop waiting while the others go on."""
    from pizarra.embeddings import vectors as vectors_module

    real, release = vectors_module.load_vectors, threading.Event()

    def slow_load(name="es"):
        if name == "glove":
            release.wait(60)
        return real(name)

    monkeypatch.setattr(vectors_module, "load_vectors", slow_load)
    waits.measured()["load:glove"] = 3.5
    try:
        page.goto(live_server + URL)
        page.wait_for_selector("#neighbors-table:not([hidden]) tbody tr", timeout=60_000)
        page.wait_for_selector('#quiz-board[data-round="1"] .quiz-point.ref', state="attached")
        first_neighbour = page.locator("#neighbors-table tbody tr td").nth(1).inner_text()
        page.select_option("#vectors", "glove")
        for lab in ("neighbors", "analogy", "formula", "quiz"):
            wait = page.locator(f"#{lab}-lab .wait")
            wait.wait_for(state="visible", timeout=5_000)
            assert "Cargando los vectores" in wait.inner_text() and "3,5 s" in wait.inner_text(), lab
        screenshot("embeddings-wait-load")
        page.click("#neighbors-lab .wait-cancel")
        assert "termina de cargar los vectores" in page.locator("#neighbors-lab .wait-note").inner_text()
        release.set()
        page.wait_for_selector('#quiz-tray .quiz-chip[data-word="apple"]', timeout=60_000)
        page.wait_for_function("() => document.querySelector('#analogy-results').textContent.includes('queen')")
        assert page.locator("#quiz-lab .wait").is_hidden()
        assert page.locator("#neighbors-table tbody tr td").nth(1).inner_text() == first_neighbour  # it stopped waiting
        assert page.locator("#neighbors-lab .error-box").inner_text() == ""
    finally:
        release.set()
