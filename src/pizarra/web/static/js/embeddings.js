// Chapter 3 labs: each form calls /api/embeddings/* and draws the answer. No external requests.
(function () {
  "use strict";
  const T = Pizarra.data().strings;  // this page's words (its JSON block #page-data)
  const $ = (sel, root = document) => root.querySelector(sel);
  const vectorsName = () => $("#vectors").value;
  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (m, k) => (k in values ? values[k] : m));

  const api = Pizarra.api;  // api(url, body, {signal}): GET when body is left out

  // ------------------------------------------------------------------------------------- waits
  // A wait over about a second shows a spinner, the seconds so far, the server's estimate (measured on
  // this machine: POST /api/embeddings/estimate) and a Cancel button that aborts the fetch. The server
  // cannot stop a t-SNE/UMAP half-way: the note after Cancel says so (and asking again reuses it).
  const WAIT_SHOW_S = 0.8;
  const loadedVectors = new Set();  // vector sets this page has had an answer from: no load to wait for
  const seconds = (s) => Pizarra.num(s, s < 10 ? 1 : 0);

  class Wait {
    constructor(section) {
      this.section = section;
      this.box = $(".wait", section);
      this.note = $(".wait-note", section);
      this.controller = new AbortController();
      this.signal = this.controller.signal;
      this.t0 = performance.now();
      this.est = null;
      this.slow = false;  // a t-SNE/UMAP: the server goes on after Cancel
      this.note.hidden = true;
      $(".wait-cancel", section).onclick = () => this.cancel();
      this.timer = setInterval(() => this.draw(), 200);
    }
    estimate(est) { if (this.timer) { this.est = est; this.draw(); } }  // (an answer after the end changes nothing)
    draw() {
      const elapsed = (performance.now() - this.t0) / 1000;
      if (this.box.hidden && elapsed < WAIT_SHOW_S && !(this.est && this.est.seconds >= 1)) return;
      let text = fill(T.wait_progress_unknown, { elapsed: seconds(elapsed) });
      let what = T.wait_compute;
      if (this.est && this.est.steps.length) {  // no steps: nothing slow expected, the seconds so far only
        const step = ["joins", "queue", "load", "compile", "ready"].find((s) => this.est.steps.some((x) => x.step === s));
        if (step) what = T[`wait_${step}`];
        const total = seconds(this.est.seconds);
        text = fill(elapsed > this.est.seconds ? T.wait_progress_over : T.wait_progress, { elapsed: seconds(elapsed), total })
          + ` (${this.est.measured ? T.wait_measured : T.wait_default})`;
      }
      $(".wait-text", this.section).textContent = `${what} · ${text}`;
      this.box.hidden = false;
    }
    cancel(silent = false) {
      this.controller.abort();
      this.stop();
      if (silent) return;
      const steps = this.est ? this.est.steps.map((x) => x.step) : [];
      this.note.textContent = this.slow ? T.wait_cancelled_server : steps.includes("load") ? T.wait_cancelled_load : T.wait_cancelled;
      this.note.hidden = false;
    }
    stop() { clearInterval(this.timer); this.timer = null; this.box.hidden = true; }
  }

  // Run `work(wait)` for a lab section: clear its error box, show a wait over a second, show any error as
  // a sentence. A new run in a section replaces the one still waiting there.
  async function guarded(section, work) {
    const box = $(".error-box", section);
    $(".pieces-note", section).hidden = true;
    if (section.wait) section.wait.cancel(true);
    const wait = (section.wait = new Wait(section));
    box.textContent = "";
    section.setAttribute("aria-busy", "true");
    const vectors = vectorsName();
    try {
      await work(wait);
      loadedVectors.add(vectors);
    } catch (e) {
      if (e.name !== "AbortError") box.textContent = e.message;
    } finally {
      wait.stop();
      if (section.wait === wait) { section.wait = null; section.removeAttribute("aria-busy"); }
    }
  }
  // Words outside the vocabulary whose vectors FastText built from their pieces: say so under the answer
  // (and, for a typo, the known words spelled like it)
  function pieces(section, data) {
    const note = $(".pieces-note", section);
    const words = data.oov || [];
    if (!words.length) { note.hidden = true; return; }
    const list = words.map((w) => `«${w}»`).join(", ");
    let text = fill(words.length === 1 ? T.pieces_one : T.pieces_many, { words: list });
    for (const w of words) {
      const close = (data.close || {})[w] || [];
      if (close.length) text += " " + fill(T.pieces_close, { word: w, close: close.map((c) => `«${c}»`).join(", ") });
    }
    note.textContent = text;
    note.hidden = false;
  }
  // The first request for a vector set waits for it to load: ask how long, beside the request itself.
  function estimateLoad(wait) {
    const vectors = vectorsName();
    if (loadedVectors.has(vectors)) return;
    api("/api/embeddings/estimate", { vectors }, { signal: wait.signal })
      .then((est) => wait.estimate(est)).catch(() => {});
  }
  // JSON for a section: GET when body is left out (POST otherwise); aborted by the section's Cancel
  function ask(wait, path, body) {
    estimateLoad(wait);
    return api(path, body, { signal: wait.signal });
  }

  const fmt = (x) => Pizarra.num(x, 3);  // in the page's language (0,655 in Spanish)
  function listScores(ol, results) {
    ol.innerHTML = "";
    if (!results.length) { ol.innerHTML = `<li>${Pizarra.esc(T.no_results)}</li>`; return; }
    for (const r of results) {
      const li = document.createElement("li");
      li.innerHTML = `<strong></strong> <span class="note">${fmt(r.score)}</span>`;
      li.firstChild.textContent = r.word;
      ol.appendChild(li);
    }
  }

  // ---------------------------------------------------------------- nearest words (cosine + euclidean)
  async function neighbors(word) {
    const section = $("#neighbors-lab");
    const form = $("#neighbors-form");
    if (word) form.word.value = word;
    await guarded(section, async (wait) => {
      const q = new URLSearchParams({ word: form.word.value, k: form.k.value, vectors: vectorsName() });
      const data = await ask(wait, `/api/embeddings/neighbors?${q}`);
      const tbody = $("#neighbors-table tbody");
      tbody.innerHTML = "";
      data.table.forEach((r, i) => {
        const tr = document.createElement("tr");
        tr.innerHTML = `<td>${i + 1}</td><td></td><td class="num">${fmt(r.cosine)}</td><td class="num">${fmt(r.euclidean)}</td><td class="num">${r.euclidean_rank}</td>`;
        tr.children[1].textContent = r.word;
        tbody.appendChild(tr);
      });
      $("#neighbors-table").hidden = false;
      pieces(section, data);
    });
  }
  $("#neighbors-form").addEventListener("submit", (e) => { e.preventDefault(); neighbors(); });

  // ---------------------------------------------------------------------------------- analogies
  $("#analogy-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const f = e.target;
    guarded($("#analogy-lab"), async (wait) => {
      const q = new URLSearchParams({ a: f.a.value, b: f.b.value, c: f.c.value, method: f.method.value, k: 5, vectors: vectorsName() });
      const data = await ask(wait, `/api/embeddings/analogy?${q}`);
      listScores($("#analogy-results"), data.results);
      pieces($("#analogy-lab"), data);
    });
  });

  // ------------------------------------------------------------------------------------ formulas
  function sliderControls(sliders) {
    const box = $("#formula-sliders");
    box.innerHTML = "";
    sliders.forEach((s, i) => {
      const label = document.createElement("label");
      label.textContent = `SLIDER ${i + 1}: `;
      const input = Object.assign(document.createElement("input"),
        { type: "range", min: s.min, max: s.max, step: (s.max - s.min) / 20, value: s.value });
      input.setAttribute("aria-label", `SLIDER ${i + 1}`);
      input.addEventListener("change", () => {  // rewrite the i-th SLIDER's first argument, run again
        let n = -1;
        const f = $("#formula-input");
        f.value = f.value.replace(/SLIDER\(\s*([-\d.]+)/gi, (m, v) => (++n === i ? `SLIDER(${Number(input.value).toFixed(2)}` : m));
        formula();
      });
      label.appendChild(input);
      box.appendChild(label);
    });
  }
  async function formula() {
    await guarded($("#formula-lab"), async (wait) => {
      const data = await ask(wait, "/api/embeddings/formula", { formula: $("#formula-input").value, vectors: vectorsName(), k: 10 });
      $("#formula-value").textContent = data.kind === "number" ? `= ${Pizarra.num(data.value, 4)}` : "";
      listScores($("#formula-results"), data.kind === "number" ? [] : data.results);
      if (data.kind === "number") $("#formula-results").innerHTML = "";
      sliderControls(data.sliders);
      pieces($("#formula-lab"), data);
    });
  }
  $("#formula-form").addEventListener("submit", (e) => { e.preventDefault(); formula(); });
  document.querySelectorAll("#formula-lab .chip").forEach((chip) => chip.addEventListener("click", () => {
    $("#formula-input").value = chip.dataset.formula;
    formula();
  }));

  // ----------------------------------------------------------------------------------- projector
  let projected = null;
  function drawProjection(data, highlight = "") {
    const three = data.dims === 3;
    const words = data.points.map((p) => p.word);
    const hit = words.map((w) => highlight && w.includes(highlight.toLowerCase()));
    const trace = {
      x: data.points.map((p) => p.x), y: data.points.map((p) => p.y), text: words,
      mode: "markers+text", textposition: "top center", hoverinfo: "text",
      type: three ? "scatter3d" : "scatter",
      marker: { size: hit.map((h) => (h ? 14 : 7)), color: hit.map((h) => (h ? "#d9480f" : "#1d3b2f")) },
    };
    if (three) trace.z = data.points.map((p) => p.z);
    const ev = data.explained_variance ? ` · ${data.explained_variance.map((v) => Pizarra.pct(v, 1)).join(" / ")}` : "";
    const layout = { margin: { l: 30, r: 10, t: 30, b: 30 }, title: { text: data.method.toUpperCase() + ev, font: { size: 14 } },
                     showlegend: false, hovermode: "closest" };
    const plot = $("#projector-plot");
    Plotly.react(plot, [trace], layout, { displaylogo: false, responsive: true });
    plot.dataset.dims = data.dims;  // what is drawn, for tests and curious readers
    plot.dataset.points = data.points.length;
    if (!plot.dataset.bound) {
      plot.dataset.bound = "1";
      plot.on("plotly_click", (ev) => { if (ev.points.length) pick(ev.points[0].text); });
    }
  }
  async function pick(word) {
    const section = $("#projector-lab");
    await guarded(section, async (wait) => {
      const q = new URLSearchParams({ word, k: 10, vectors: vectorsName() });
      const data = await ask(wait, `/api/embeddings/neighbors?${q}`);
      $("#projector-picked-title").textContent = `${T.projector_neighbors_of} «${data.word}»`;
      listScores($("#projector-picked"), data.neighbors);
    });
  }
  async function project() {
    const f = $("#projector-form");
    await guarded($("#projector-lab"), async (wait) => {
      const body = { vectors: vectorsName(), method: f.method.value, dims: Number(f.dims.value) };
      const word = f.word.value.trim();
      if (word) { body.word = word; body.n = 40; }
      else body.words = f.words.value.split(/[\s,;]+/).filter(Boolean).slice(0, 300);
      wait.slow = body.method !== "pca";
      // the estimate first (instant: it computes nothing), so that it does not count this request as "running"
      wait.estimate(await api("/api/embeddings/estimate", body, { signal: wait.signal }));
      projected = await api("/api/embeddings/project", body, { signal: wait.signal });
      drawProjection(projected, $("#projector-search").value);
      pieces($("#projector-lab"), projected);
    });
  }
  $("#projector-form").addEventListener("submit", (e) => { e.preventDefault(); project(); });
  $("#projector-search").addEventListener("input", (e) => { if (projected) drawProjection(projected, e.target.value.trim()); });

  // ---------------------------------------------------------------------------------------- quiz
  // The lecture's two quizzes. The server gives every word's (x, y) in ONE coordinate system (round 1:
  // the PCA plane of the words on the map; round 2: cosines with the size and age directions) and the
  // frame to draw them in: the words already on the map and the answers go through the same toBoard.
  let quiz = null;
  let quizRound = 1;
  const board = $("#quiz-board");
  const SVG = "http://www.w3.org/2000/svg";
  function toBoard(p) {  // the map's coordinates -> % of the board (x to the right, y up)
    const f = quiz.frame;
    return { left: (100 * (p.x - f.x0)) / (f.x1 - f.x0), top: (100 * (f.y1 - p.y)) / (f.y1 - f.y0) };
  }
  function chip(word) {
    const el = document.createElement("span");
    el.className = "quiz-chip";
    el.textContent = word;
    el.dataset.word = word;
    return el;
  }
  function marker(p, cls) {  // a point of the map: a dot at its place and its label beside it
    const el = document.createElement("div");
    el.className = `quiz-point ${cls}`;
    el.dataset.word = p.word;
    const pos = toBoard(p);
    Object.assign(el.style, { left: `${pos.left}%`, top: `${pos.top}%` });
    el.innerHTML = '<span class="dot"></span><span class="label"></span>';
    el.lastChild.textContent = p.word;
    el.title = `${p.word} · ${fill(quiz.kind === "pca" ? T.quiz_coords1 : T.quiz_coords2, { x: fmt(p.x), y: fmt(p.y) })}`;
    board.appendChild(el);
    return el;
  }

  // Labels that do not overlap: each label takes the first free place around its dot (right, left,
  // above, below, then further up and down), never over another label, a dot or (once revealed) a guess,
  // inside the board; a label moved away from its dot gets a thin line to it.
  function layout() {
    const b = board.getBoundingClientRect();
    const svg = $("#quiz-lines");
    svg.replaceChildren();
    if (!quiz || !b.width) return;
    const inner = { x: board.clientLeft, y: board.clientTop, w: board.clientWidth, h: board.clientHeight };
    const rel = (r) => ({ x: r.left - b.left - inner.x, y: r.top - b.top - inner.y, w: r.width, h: r.height });
    const hits = (a, c) => a.x < c.x + c.w && c.x < a.x + a.w && a.y < c.y + c.h && c.y < a.y + a.h;
    const points = [...board.querySelectorAll(".quiz-point")];
    const taken = points.map((p) => rel($(".dot", p).getBoundingClientRect()));
    const revealed = board.classList.contains("revealed");
    if (revealed) board.querySelectorAll(".quiz-chip.placed").forEach((g) => taken.push(rel(g.getBoundingClientRect())));
    const line = (x1, y1, x2, y2, cls) => {
      const l = document.createElementNS(SVG, "line");
      Object.entries({ x1, y1, x2, y2, class: cls }).forEach(([k, v]) => l.setAttribute(k, v));
      svg.appendChild(l);
    };
    for (const p of points) {
      const label = $(".label", p);
      const a = rel(p.getBoundingClientRect());  // the point itself (the .quiz-point box has no size)
      const w = label.offsetWidth, h = label.offsetHeight, gap = 7, step = h + 2;
      const places = [];
      for (let ring = 0; ring < 14; ring++) {
        for (const shift of ring ? [-ring * step, ring * step] : [0]) {
          places.push([gap, -h / 2 + shift], [-gap - w, -h / 2 + shift]);
        }
        places.push([-w / 2, -h - gap - ring * step], [-w / 2, gap + ring * step]);
      }
      const inside = (r) => r.x >= 0 && r.y >= 0 && r.x + r.w <= inner.w && r.y + r.h <= inner.h;
      let best = null;
      for (const [dx, dy] of places) {
        const r = { x: a.x + dx, y: a.y + dy, w, h };
        if (inside(r) && !taken.some((t) => hits(t, r))) { best = r; break; }
      }
      if (!best) {  // no free place (a tiny screen): the first one, kept inside the board
        const [dx, dy] = places[0];
        best = { x: Math.min(Math.max(0, a.x + dx), inner.w - w), y: Math.min(Math.max(0, a.y + dy), inner.h - h), w, h };
      }
      Object.assign(label.style, { left: `${best.x - a.x}px`, top: `${best.y - a.y}px` });
      taken.push(best);
      const cx = Math.min(Math.max(a.x, best.x), best.x + w), cy = Math.min(Math.max(a.y, best.y), best.y + h);
      if (Math.hypot(cx - a.x, cy - a.y) > gap + 2) line(a.x, a.y, cx, cy, "leader");
    }
    if (revealed) {  // from each guess to the vectors' place
      for (const g of board.querySelectorAll(".quiz-chip.placed")) {
        const t = board.querySelector(`.quiz-point.truth[data-word="${CSS.escape(g.dataset.word)}"]`);
        if (!t) continue;
        const gr = rel(g.getBoundingClientRect()), tr = rel(t.getBoundingClientRect());
        line(gr.x + gr.w / 2, gr.y + gr.h / 2, tr.x, tr.y, "guess");
      }
    }
  }
  new ResizeObserver(() => layout()).observe(board);

  // Drag a word from the tray onto the board (mouse, touch or pen: pointer events). The word follows
  // the pointer (position: fixed) and lands where the pointer is released; released outside the board,
  // it goes back to the tray. The listeners are on the window, so nothing depends on pointer capture
  // (moving a node in the DOM drops its capture: the old first-drag bug).
  function draggable(el) {
    el.addEventListener("pointerdown", (e) => {
      if (e.button !== 0) return;
      e.preventDefault();
      el.classList.add("dragging");
      const follow = (ev) => Object.assign(el.style, { left: `${ev.clientX}px`, top: `${ev.clientY}px` });
      follow(e);
      const end = (ev, dropped) => {
        window.removeEventListener("pointermove", follow);
        window.removeEventListener("pointerup", up);
        window.removeEventListener("pointercancel", cancel);
        el.classList.remove("dragging");
        const r = board.getBoundingClientRect();
        const x = ev.clientX - r.left - board.clientLeft, y = ev.clientY - r.top - board.clientTop;
        if (dropped && x >= 0 && y >= 0 && x <= board.clientWidth && y <= board.clientHeight) {
          board.appendChild(el);
          el.classList.add("placed");
          Object.assign(el.style, { left: `${(100 * x) / board.clientWidth}%`, top: `${(100 * y) / board.clientHeight}%` });
        } else {
          el.classList.remove("placed");
          Object.assign(el.style, { left: "", top: "" });
          $("#quiz-tray").appendChild(el);
        }
        layout();
      };
      const up = (ev) => end(ev, true);
      const cancel = (ev) => end(ev, false);
      window.addEventListener("pointermove", follow);
      window.addEventListener("pointerup", up);
      window.addEventListener("pointercancel", cancel);
    });
  }

  async function loadQuiz(round = quizRound) {
    quizRound = round;
    document.querySelectorAll(".quiz-round").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.round === String(round))));
    await guarded($("#quiz-lab"), async (wait) => {
      quiz = await ask(wait, `/api/embeddings/quiz?${new URLSearchParams({ vectors: vectorsName(), round })}`);
      board.querySelectorAll(".quiz-chip, .quiz-point").forEach((c) => c.remove());
      board.classList.remove("revealed");
      board.dataset.kind = $("#quiz-map").dataset.kind = quiz.kind;
      board.dataset.round = quiz.round;
      $("#quiz-question").textContent = fill(T.quiz_question, { word: quiz.question });
      const refs = quiz.points.filter((p) => p.role === "reference").map((p) => p.word);
      $("#quiz-how").textContent = quiz.kind === "pca" ? T.quiz_how1 : fill(T.quiz_how2, { words: refs.join(", ") });
      const tray = $("#quiz-tray");
      tray.replaceChildren();
      const groups = [...new Set(quiz.points.map((p) => p.group))];  // round 1: fruits, buildings, vehicles
      for (const p of quiz.points) {
        if (p.role === "asked") { const c = chip(p.word); draggable(c); tray.appendChild(c); }
        else marker(p, `ref g${groups.indexOf(p.group)}`);
      }
      $("#quiz-explain").hidden = true;
      layout();
    });
  }
  function reveal() {
    if (!quiz) return;
    board.querySelectorAll(".quiz-point.truth").forEach((c) => c.remove());
    for (const p of quiz.points) if (p.role === "asked") marker(p, "truth");
    board.classList.add("revealed");
    const few = (words) => words.split(", ").slice(0, 3).join(", ");
    $("#quiz-explain").textContent = quiz.kind === "pca"
      ? fill(T.quiz_explain1, { pc1: Pizarra.pct(quiz.explained_variance[0], 0), pc2: Pizarra.pct(quiz.explained_variance[1], 0) })
      : fill(T.quiz_explain2, { small: few(quiz.x_axis[0]), big: few(quiz.x_axis[1]), young: few(quiz.y_axis[0]), adult: few(quiz.y_axis[1]) });
    $("#quiz-explain").hidden = false;
    layout();
  }
  $("#quiz-reveal").addEventListener("click", reveal);
  $("#quiz-reset").addEventListener("click", () => loadQuiz());
  document.querySelectorAll(".quiz-round").forEach((b) => b.addEventListener("click", () => loadQuiz(Number(b.dataset.round))));

  // ------------------------------------------------------------------------------- start: run all
  $("#vectors").addEventListener("change", () => {
    const en = vectorsName() === "glove";
    const set = (sel, v) => { const el = $(sel); if (el) el.value = v; };
    const f = $("#analogy-form");
    [f.a.value, f.b.value, f.c.value] = en ? ["man", "woman", "king"] : ["hombre", "mujer", "rey"];
    set("#neighbors-word", en ? "paris" : "madrid");
    set("#formula-input", en ? "LERP(morning, night, 0.5)" : "LERP(mañana, noche, 0.5)");
    $("#projector-words").value = en ? "monday tuesday wednesday thursday friday january february march red green blue yellow dog cat horse cow sheep"
                                     : $("#projector-words").defaultValue;
    neighbors(); f.requestSubmit(); formula(); project(); loadQuiz();
  });
  neighbors();
  $("#analogy-form").requestSubmit();
  formula();
  project();
  loadQuiz();
})();
