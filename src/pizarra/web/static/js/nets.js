// Chapter 4 page: fetch /api/nets/* and draw the plots with Plotly (served from 127.0.0.1).
(function () {
  "use strict";
  const T = window.NETS_T || {};
  const tr = (key, values) => {
    let s = T["nets.js." + key] || key;
    for (const [k, v] of Object.entries(values || {})) s = s.replace("{" + k + "}", v);
    return s;
  };
  const $ = (id) => document.getElementById(id);
  const show = (c) => (c === " " ? "␣" : c === "\n" ? "↵" : c);
  const xlabels = (chars) => chars.map((c, i) => i + 1 + ":" + show(c)); // unique ticks per step
  const config = { responsive: true, displaylogo: false };
  const layoutBase = { margin: { l: 60, r: 20, t: 40, b: 60 }, font: { size: 12 } };

  async function getJSON(url) {
    const res = await fetch(url, { headers: { Accept: "application/json" } });
    const body = await res.json();
    if (!res.ok) throw new Error((body.error && body.error.message) || res.statusText);
    return body;
  }

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
        colorscale: "RdBu", reversescale: true, colorbar: { title: "h_t" } },
    ], { ...layoutBase, title: tr("elman_title", { n: d.units.length, H: d.hidden_size }),
         xaxis: { title: tr("step"), tickangle: 0 }, yaxis: { title: tr("unit") }, height: 420 }, config);
    markDrawn("elman-plot", d.chars);
    $("elman-guess").textContent = tr("guesses") + " " +
      d.chars.map((c, i) => show(c) + "→" + show(d.next[i][0][0])).join("  ");
  }

  function drawLSTM(d) {
    const x = xlabels(d.chars);
    const names = { i: tr("gate_i"), f: tr("gate_f"), o: tr("gate_o") };
    Plotly.react("lstm-mean", ["i", "f", "o"].map((g) => ({ type: "scatter", mode: "lines+markers", x: x,
      y: d.mean[g], name: names[g] })), { ...layoutBase, title: tr("lstm_mean"), height: 320,
      yaxis: { range: [0, 1], title: tr("mean_gate") }, xaxis: { title: tr("step") } }, config);
    const traces = ["i", "f", "o"].map((g, k) => ({ type: "heatmap", x: x, y: d.units.map((u) => "u" + u),
      z: d.gates[g], zmin: 0, zmax: 1, colorscale: "Viridis", showscale: k === 0, xaxis: "x", yaxis: "y" + (k ? k + 1 : "") }));
    Plotly.react("lstm-plot", traces, { ...layoutBase, height: 620,
      grid: { rows: 3, columns: 1, pattern: "coupled", roworder: "top to bottom" },
      title: tr("lstm_title", { n: d.units.length, H: d.hidden_size }),
      annotations: ["i", "f", "o"].map((g, k) => ({ text: names[g], showarrow: false, xref: "paper", yref: "paper",
        x: 0, xanchor: "left", y: 1 - k / 3, yanchor: "bottom", font: { size: 13 } })) }, config);
    markDrawn("lstm-plot", d.chars);
  }

  function drawAttention(d) {
    const traces = [], annotations = [];
    const labels = xlabels(d.chars);
    const L = d.layers, H = d.heads;
    d.weights.forEach((layer, l) => layer.forEach((head, h) => {
      const k = l * H + h + 1;
      traces.push({ type: "heatmap", z: head, x: labels, y: labels, zmin: 0, zmax: 1, colorscale: "Blues", reversescale: true,
        showscale: k === 1, xaxis: "x" + (k > 1 ? k : ""), yaxis: "y" + (k > 1 ? k : ""),
        hovertemplate: "query %{y}<br>key %{x}<br>%{z}<extra></extra>" });
      annotations.push({ text: tr("layer_head", { l: l + 1, h: h + 1 }), showarrow: false,
        xref: "x" + (k > 1 ? k : "") + " domain", yref: "y" + (k > 1 ? k : "") + " domain",
        x: 0.5, y: 1.0, yanchor: "bottom", font: { size: 12 } });
    }));
    const layout = { ...layoutBase, height: 320 * L + 60, annotations: annotations,
      grid: { rows: L, columns: H, pattern: "independent", roworder: "top to bottom" },
      title: tr("attention_title", { L: L, H: H }) };
    for (let k = 1; k <= L * H; k++) {
      layout["xaxis" + (k > 1 ? k : "")] = { showticklabels: d.chars.length <= 32, tickfont: { size: 8 } };
      layout["yaxis" + (k > 1 ? k : "")] = { autorange: "reversed", showticklabels: d.chars.length <= 32, tickfont: { size: 8 } };
    }
    Plotly.react("attention-plot", traces, layout, config);
    markDrawn("attention-plot", d.chars);
  }

  async function drawPositional() {
    const d = await getJSON("/api/nets/positional?positions=64&d_model=64");
    Plotly.react("positional-plot", [{ type: "heatmap", z: d.matrix, colorscale: "RdBu", zmin: -1, zmax: 1 }],
      { ...layoutBase, title: tr("positional_title", { T: d.positions, d: d.d_model }), height: 420,
        xaxis: { title: tr("dimension") }, yaxis: { title: tr("position"), autorange: "reversed" } }, config);
    markDrawn("positional-plot");
  }

  async function drawVanishing() {
    const d = await getJSON("/api/nets/vanishing?max_len=120");
    Plotly.react("vanishing-plot", [
      { type: "scatter", mode: "lines", x: d.lengths, y: d.elman, name: "Elman" },
      { type: "scatter", mode: "lines", x: d.lengths, y: d.lstm, name: "LSTM" },
    ], { ...layoutBase, title: tr("vanishing_title"), height: 380,
         xaxis: { title: "T" }, yaxis: { type: "log", title: "‖∂h_T/∂h_0‖", exponentformat: "power" } }, config);
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
