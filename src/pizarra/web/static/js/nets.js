// Chapter 4 page: ask /api/nets/* (Pizarra.api) and draw the plots with Plotly (served from 127.0.0.1).
// Its words: the page's JSON block (Pizarra.data()).
(function () {
  "use strict";
  const T = Pizarra.data();
  const tr = (key, values) => {
    let s = T["nets.js." + key] || key;
    for (const [k, v] of Object.entries(values || {})) s = s.replace("{" + k + "}", v);
    return s;
  };
  const $ = (id) => document.getElementById(id);
  const show = (c) => (c === " " ? "␣" : c === "\n" ? "↵" : c);
  const xlabels = (chars) => chars.map((c, i) => i + 1 + ":" + show(c)); // unique ticks per step
  const config = { responsive: true, displaylogo: false };
  const layoutBase = { margin: { l: 60, r: 20, t: 40, b: 60 }, font: { size: 12 }, separators: Pizarra.separators };
  // A chart's title, wrapped to the chart's width, and the margins that make room for it (and for the
  // subplots' own titles: extraTop). Plotly 4 draws no title given as a bare string.
  function titled(text, id, extraTop = 0, margin = layoutBase.margin) {
    const t = Pizarra.plotTitle(text, id, 15);
    return { title: t.title, margin: { ...margin, t: t.top + extraTop } };
  }

  const getJSON = (url) => Pizarra.api(url);

  function notices(id, list) {
    const el = $(id);
    el.textContent = (list || []).map((n) =>
      n.code === "truncated" ? tr("truncated", { length: n.length, kept: n.kept })
        : n.code === "unknown" ? tr("unknown", { chars: n.chars.map((c) => "«" + c + "»").join(" "), symbol: n.symbol })
        : n.code).join(" ");
  }

  function markDrawn(id, chars) {
    $(id).dataset.drawn = "1";
    if (chars) $(id).dataset.text = chars.join("");
  }

  async function runForm(name, url, draw) {
    const text = $(name + "-text").value;
    $(name + "-error").textContent = "";
    try {
      const data = await getJSON(url + "?text=" + encodeURIComponent(text));
      notices(name + "-notice", data.notices);
      draw(data);
    } catch (err) {
      $(name + "-notice").textContent = "";
      $(name + "-error").textContent = err.message;
      const plot = $(name + "-plot");
      Plotly.purge(plot);
      plot.dataset.drawn = "";
      if ($(name + "-mean")) Plotly.purge($(name + "-mean"));
      if ($(name + "-guess")) $(name + "-guess").textContent = "";  // no stale guesses under an error
    }
  }

  function drawElman(d) {
    const x = xlabels(d.chars);
    Plotly.react("elman-plot", [
      { type: "heatmap", x: x, y: d.units.map((u) => "h" + u), z: d.states, zmin: -1, zmax: 1,
        colorscale: "RdBu", reversescale: true, colorbar: { title: { text: "h_t" } } },
    ], { ...layoutBase, ...titled(tr("elman_title", { n: d.units.length, H: d.hidden_size }), "elman-plot"), height: 420,
         xaxis: { title: { text: tr("step") }, automargin: true }, yaxis: { title: { text: tr("unit") } } }, config);
    markDrawn("elman-plot", d.chars);
    $("elman-guess").textContent = tr("guesses") + " " +
      d.chars.map((c, i) => show(c) + "→" + show(d.next[i][0][0])).join("  ");
  }

  function drawLSTM(d) {
    const x = xlabels(d.chars);
    const names = { i: tr("gate_i"), f: tr("gate_f"), o: tr("gate_o") };
    Plotly.react("lstm-mean", ["i", "f", "o"].map((g) => ({ type: "scatter", mode: "lines+markers", x: x,
      y: d.mean[g], name: names[g] })), { ...layoutBase, ...titled(tr("lstm_mean"), "lstm-mean"), height: 340,
      legend: { orientation: "h", yref: "container", y: 0, yanchor: "bottom", x: 0 },  // below: a phone keeps the width
      yaxis: { range: [0, 1], title: { text: tr("mean_gate") } }, xaxis: { title: { text: tr("step") }, automargin: true } },
      config);
    const traces = ["i", "f", "o"].map((g, k) => ({ type: "heatmap", x: x, y: d.units.map((u) => "u" + u),
      z: d.gates[g], zmin: 0, zmax: 1, colorscale: "Viridis", showscale: k === 0, xaxis: "x", yaxis: "y" + (k ? k + 1 : "") }));
    const head = titled(tr("lstm_title", { n: d.units.length, H: d.hidden_size }), "lstm-plot", 20);
    Plotly.react("lstm-plot", traces, { ...layoutBase, ...head, height: 560 + head.margin.t,
      grid: { rows: 3, columns: 1, pattern: "coupled", roworder: "top to bottom", ygap: 0.2 },
      xaxis: { automargin: true },
      annotations: ["i", "f", "o"].map((g, k) => ({ text: names[g], showarrow: false, font: { size: 13 },
        xref: "paper", yref: "y" + (k ? k + 1 : "") + " domain", x: 0, xanchor: "left", y: 1, yanchor: "bottom" })) }, config);
    markDrawn("lstm-plot", d.chars);
  }

  // Attention: one heatmap per layer and head, keys along x and queries along y, every token written on
  // both axes. The grid takes as many columns as the plot's width allows at TOKEN_PX or more per token
  // (one character of the tick font), so labels never pile up; on a screen too narrow even for one column
  // the figure keeps that width and its box scrolls sideways (.nets-plot.wide).
  const TOKEN_PX = 7, GAP_X = 22, GAP_Y = 44;
  const attentionMargin = { l: 28, r: 52, b: 24 };  // t: room for the title
  let lastAttention = null, attentionWidth = 0;

  function attentionGrid(width, T, n) {
    const inner = width - attentionMargin.l - attentionMargin.r;
    const fits = (c) => (inner - GAP_X * (c - 1)) / c / T >= TOKEN_PX;
    const cols = [4, 2, 1].filter((c) => n % c === 0).find(fits) || 1;
    const panel = Math.max((inner - GAP_X * (cols - 1)) / cols, T * TOKEN_PX);
    const font = Math.max(TOKEN_PX, Math.min(11, Math.floor(panel / T)));
    return { cols, rows: Math.ceil(n / cols), panel, font, cellY: Math.ceil(font * 1.35) };
  }

  function drawAttention(d) {
    lastAttention = d;
    const el = $("attention-plot");
    const T = d.chars.length, L = d.layers, H = d.heads, n = L * H;
    const tokens = d.chars.map(show), ticks = d.chars.map((_, i) => i);
    const width = (attentionWidth = el.clientWidth || 900);
    const g = attentionGrid(width, T, n);
    const plotW = Math.max(width, attentionMargin.l + attentionMargin.r + g.cols * g.panel + GAP_X * (g.cols - 1));
    const panelH = Math.max(120, T * g.cellY);
    const areaH = g.rows * panelH + GAP_Y * (g.rows - 1);
    const where = ticks.map((q) => ticks.map((k) => `${q + 1}:${tokens[q]} → ${k + 1}:${tokens[k]}<br>`));
    const traces = [], annotations = [];
    const framed = titled(tr("attention_title", { L: L, H: H }), el, 20, attentionMargin);
    const layout = { ...layoutBase, ...framed, autosize: false,
      width: plotW, height: areaH + framed.margin.t + framed.margin.b,
      grid: { rows: g.rows, columns: g.cols, pattern: "independent", roworder: "top to bottom",
              xgap: GAP_X / g.panel, ygap: GAP_Y / panelH } };
    d.weights.forEach((layer, l) => layer.forEach((head, h) => {
      const k = l * H + h + 1, sx = k > 1 ? k : "";
      traces.push({ type: "heatmap", z: head, x: ticks, y: ticks, zmin: 0, zmax: 1, colorscale: "Blues", reversescale: true,
        showscale: k === 1, xaxis: "x" + sx, yaxis: "y" + sx,
        customdata: head.map((row, q) => row.map((w, j) => where[q][j] + Pizarra.num(w, 3))),  // query → key, weight
        colorbar: { len: Math.min(1, 320 / areaH), y: 1, yanchor: "top", thickness: 12 },
        hovertemplate: "%{customdata}<extra></extra>" });
      annotations.push({ text: tr("layer_head", { l: l + 1, h: h + 1 }), showarrow: false,
        xref: "x" + sx + " domain", yref: "y" + sx + " domain", x: 0.5, y: 1.0, yanchor: "bottom", font: { size: 12 } });
      const axis = { tickmode: "array", tickvals: ticks, ticktext: tokens, tickangle: 0, ticklen: 2,
                     tickfont: { size: g.font }, showgrid: false, zeroline: false };
      layout["xaxis" + sx] = { ...axis, range: [-0.5, T - 0.5] };
      layout["yaxis" + sx] = { ...axis, range: [T - 0.5, -0.5] };  // the first query on top
    }));
    layout.annotations = annotations;
    if (plotW > width) {  // the box scrolls: the title starts where the screen does
      layout.title = { ...layout.title, x: 0, xanchor: "left", pad: { ...layout.title.pad, l: 8 } };
    }
    el.classList.toggle("wide", plotW > width);
    Plotly.react(el, traces, layout, config);
    markDrawn("attention-plot", d.chars);
  }

  let resizeTimer = null;  // a new width may take another number of columns: draw the grid again
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      const el = $("attention-plot");
      if (lastAttention && el.dataset.drawn === "1" && el.clientWidth !== attentionWidth) drawAttention(lastAttention);
    }, 200);
  });

  async function drawPositional() {
    const d = await getJSON("/api/nets/positional?positions=64&d_model=64");
    Plotly.react("positional-plot", [{ type: "heatmap", z: d.matrix, colorscale: "RdBu", zmin: -1, zmax: 1 }],
      { ...layoutBase, ...titled(tr("positional_title", { T: d.positions, d: d.d_model }), "positional-plot"), height: 420,
        xaxis: { title: { text: tr("dimension") } },
        yaxis: { title: { text: tr("position") }, autorange: "reversed" } }, config);
    markDrawn("positional-plot");
  }

  async function drawVanishing() {
    const d = await getJSON("/api/nets/vanishing?max_len=120");
    Plotly.react("vanishing-plot", [
      { type: "scatter", mode: "lines", x: d.lengths, y: d.elman, name: "Elman" },
      { type: "scatter", mode: "lines", x: d.lengths, y: d.lstm, name: "LSTM" },
    ], { ...layoutBase, ...titled(tr("vanishing_title"), "vanishing-plot"), height: 380,
         xaxis: { title: { text: "T" } },
         yaxis: { type: "log", title: { text: "‖∂h_T/∂h_0‖" }, exponentformat: "power" } }, config);
    markDrawn("vanishing-plot");
  }

  async function drawParity() {
    try {
      const d = await getJSON("/api/nets/check");
      const body = document.querySelector("#parity-table tbody");
      body.innerHTML = "";
      for (const c of d.checks) {
        const tr_ = document.createElement("tr");
        tr_.dataset.ok = c.ok;
        for (const v of [c.name, c.max_abs_diff.toExponential(1), c.ok ? "✔" : "✘"]) {
          const td = document.createElement("td"); td.textContent = v; tr_.appendChild(td);
        }
        body.appendChild(tr_);
      }
      $("parity-table").hidden = false;
      $("parity-status").textContent = tr(d.ok ? "parity_ok" : "parity_fail", { n: d.checks.length, tol: d.tolerance });
    } catch (err) { $("parity-status").textContent = err.message; }
  }

  const forms = { elman: ["/api/nets/elman", drawElman], lstm: ["/api/nets/lstm", drawLSTM],
                  attention: ["/api/nets/attention", drawAttention] };
  for (const [name, [url, draw]] of Object.entries(forms)) {
    $(name + "-form").addEventListener("submit", (ev) => { ev.preventDefault(); runForm(name, url, draw); });
    runForm(name, url, draw);
  }
  document.querySelectorAll(".nets-example").forEach((b) => b.addEventListener("click", () => {
    $(b.dataset.target).value = b.dataset.text;
    $(b.dataset.target).form.requestSubmit();
  }));
  drawPositional();
  drawVanishing();
  drawParity();
})();
