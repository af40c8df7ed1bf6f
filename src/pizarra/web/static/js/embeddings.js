// Chapter 3 labs: each form calls /api/embeddings/* and draws the answer. No external requests.
"use strict";
const T = window.EMB_T || {};
const $ = (sel, root = document) => root.querySelector(sel);
const vectorsName = () => $("#vectors").value;

async function api(path, options = {}) {
  const res = await fetch(path, { headers: { "Content-Type": "application/json", Accept: "application/json" }, ...options });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error((body.error && body.error.message) || `${T.error} (${res.status})`);
  return body;
}

// Run `work` for a lab section: clear its error box, show any error as a sentence.
async function guarded(section, work) {
  const box = $(".error-box", section);
  box.textContent = "";
  section.setAttribute("aria-busy", "true");
  try { await work(); } catch (e) { box.textContent = e.message; }
  finally { section.removeAttribute("aria-busy"); }
}

const fmt = (x) => Pizarra.num(x, 3);  // in the page's language (0,655 in Spanish)
function listScores(ol, results) {
  ol.innerHTML = "";
  if (!results.length) { ol.innerHTML = `<li>${T.no_results}</li>`; return; }
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
  await guarded(section, async () => {
    const q = new URLSearchParams({ word: form.word.value, k: form.k.value, vectors: vectorsName() });
    const data = await api(`/api/embeddings/neighbors?${q}`);
    const tbody = $("#neighbors-table tbody");
    tbody.innerHTML = "";
    data.table.forEach((r, i) => {
      const tr = document.createElement("tr");
      tr.innerHTML = `<td>${i + 1}</td><td></td><td class="num">${fmt(r.cosine)}</td><td class="num">${fmt(r.euclidean)}</td><td class="num">${r.euclidean_rank}</td>`;
      tr.children[1].textContent = r.word;
      tbody.appendChild(tr);
    });
    $("#neighbors-table").hidden = false;
  });
}
$("#neighbors-form").addEventListener("submit", (e) => { e.preventDefault(); neighbors(); });

// ---------------------------------------------------------------------------------- analogies
$("#analogy-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = e.target;
  guarded($("#analogy-lab"), async () => {
    const q = new URLSearchParams({ a: f.a.value, b: f.b.value, c: f.c.value, method: f.method.value, k: 5, vectors: vectorsName() });
    const data = await api(`/api/embeddings/analogy?${q}`);
    listScores($("#analogy-results"), data.results);
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
  await guarded($("#formula-lab"), async () => {
    const data = await api("/api/embeddings/formula", { method: "POST",
      body: JSON.stringify({ formula: $("#formula-input").value, vectors: vectorsName(), k: 10 }) });
    $("#formula-value").textContent = data.kind === "number" ? `= ${data.value.toPrecision(5)}` : "";
    listScores($("#formula-results"), data.kind === "number" ? [] : data.results);
    if (data.kind === "number") $("#formula-results").innerHTML = "";
    sliderControls(data.sliders);
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
  await guarded(section, async () => {
    const q = new URLSearchParams({ word, k: 10, vectors: vectorsName() });
    const data = await api(`/api/embeddings/neighbors?${q}`);
    $("#projector-picked-title").textContent = `${T.neighbors_of} «${data.word}»`;
    listScores($("#projector-picked"), data.neighbors);
  });
}
async function project() {
  const f = $("#projector-form");
  await guarded($("#projector-lab"), async () => {
    const body = { vectors: vectorsName(), method: f.method.value, dims: Number(f.dims.value) };
    const word = f.word.value.trim();
    if (word) { body.word = word; body.n = 40; }
    else body.words = f.words.value.split(/[\s,;]+/).filter(Boolean).slice(0, 300);
    projected = await api("/api/embeddings/project", { method: "POST", body: JSON.stringify(body) });
    drawProjection(projected, $("#projector-search").value);
  });
}
$("#projector-form").addEventListener("submit", (e) => { e.preventDefault(); project(); });
$("#projector-search").addEventListener("input", (e) => { if (projected) drawProjection(projected, e.target.value.trim()); });

// ---------------------------------------------------------------------------------------- quiz
let quiz = null;
const board = $("#quiz-board");
function toBoard(p, range) {  // vector coordinates -> % of the board (x right = big, y up = adult)
  const nx = (p.x - range.x0) / (range.x1 - range.x0 || 1), ny = (p.y - range.y0) / (range.y1 - range.y0 || 1);
  return { left: 5 + 90 * nx, top: 95 - 90 * ny };
}
function chip(word, cls = "") {
  const el = document.createElement("span");
  el.className = `quiz-chip ${cls}`;
  el.textContent = word;
  el.dataset.word = word;
  return el;
}
function draggable(el) {
  el.addEventListener("pointerdown", (e) => {
    e.preventDefault();
    el.setPointerCapture(e.pointerId);
    const move = (ev) => {
      const r = board.getBoundingClientRect();
      if (el.parentElement !== board) board.appendChild(el);
      el.style.left = `${Math.min(100, Math.max(0, (100 * (ev.clientX - r.left)) / r.width))}%`;
      el.style.top = `${Math.min(100, Math.max(0, (100 * (ev.clientY - r.top)) / r.height))}%`;
    };
    move(e);
    el.addEventListener("pointermove", move);
    el.addEventListener("pointerup", () => el.removeEventListener("pointermove", move), { once: true });
  });
}
async function loadQuiz() {
  await guarded($("#quiz-lab"), async () => {
    quiz = await api(`/api/embeddings/quiz?vectors=${vectorsName()}`);
    board.querySelectorAll(".quiz-chip").forEach((c) => c.remove());
    const tray = $("#quiz-tray");
    tray.innerHTML = "";
    for (const p of quiz.points) { const c = chip(p.word); draggable(c); tray.appendChild(c); }
    $("#quiz-explain").hidden = true;
  });
}
$("#quiz-reveal").addEventListener("click", () => {
  if (!quiz) return;
  board.querySelectorAll(".truth").forEach((c) => c.remove());
  const xs = quiz.points.map((p) => p.x), ys = quiz.points.map((p) => p.y);
  const range = { x0: Math.min(...xs), x1: Math.max(...xs), y0: Math.min(...ys), y1: Math.max(...ys) };
  for (const p of quiz.points) {
    const c = chip(p.word, "truth");
    const pos = toBoard(p, range);
    c.style.left = `${pos.left}%`; c.style.top = `${pos.top}%`;
    c.title = `${quiz.x_axis.join("→")}: ${fmt(p.x)} · ${quiz.y_axis.join("→")}: ${fmt(p.y)}`;
    board.appendChild(c);
  }
  $("#quiz-explain").hidden = false;
});
$("#quiz-reset").addEventListener("click", loadQuiz);

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
