// Chapter 6 labs: compare (both models side by side), semantic map (Plotly), semantic search.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);

  const api = Pizarra.api;
  const lines = (text) => text.split("\n").map((s) => s.trim()).filter((s) => s.length > 0);
  const esc = Pizarra.esc;
  // The page's words for what this script writes (locales/similarity; its JSON block #page-data), "{name}" filled by fill()
  const T = Pizarra.data().strings;
  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (m, name) => name in values ? values[name] : m);
  const bar = (score, cls) => `<span class="bar ${cls}" style="width:${Math.max(0, score) * 8}em"></span> ${Pizarra.num(score, 3)}`;

  // ------------------------------------------------------------------------------- compare
  $("compare-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("compare-error").textContent = ""; $("compare-notice").textContent = "";
    const source = $("source").value, candidates = lines($("candidates").value);
    const rankBy = $("compare-model").value;
    try {
      const [mini, use] = await Promise.all(["minilm", "use"].map((model) =>
        api("/api/similarity/compare", {source, candidates, model})));
      const by = rankBy === "use" ? use : mini;
      $("compare-table").querySelector("tbody").innerHTML = by.ranking.map((r) =>
        `<tr data-index="${r.index}"><td>${r.rank}</td><td>${esc(r.text)}</td>` +
        `<td class="num score-minilm">${bar(mini.scores[r.index], "")}</td>` +
        `<td class="num score-use">${bar(use.scores[r.index], "use")}</td></tr>`).join("");
      $("compare-table").hidden = false;
      $("compare-notice").textContent = mini.notices.concat(use.notices).join("\n");
      const ms = (r) => r.ms > 0.05 ? `${Pizarra.num(r.ms, 1)} ms` : T.cached;
      $("compare-time").textContent = `MiniLM (ONNX): ${ms(mini)} · USE: ${ms(use)}`;
    } catch (e) { $("compare-error").textContent = e.message; }
  });

  // ----------------------------------------------------------------------------------- map
  $("map-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("map-error").textContent = "";
    try {
      const r = await api("/api/similarity/map", {sentences: lines($("map-sentences").value),
        model: $("map-model").value, method: $("map-method").value, k: parseInt($("map-k").value, 10) || 4});
      const clusters = [...new Set(r.points.map((p) => p.cluster))].sort((a, b) => a - b);
      const traces = clusters.map((c) => {
        const pts = r.points.filter((p) => p.cluster === c);
        return {x: pts.map((p) => p.x), y: pts.map((p) => p.y), text: pts.map((p) => p.text),
                customdata: pts.map((p) => [p.nearest, p.nearest_score]), mode: "markers+text",
                textposition: "top center", textfont: {size: 13}, type: "scatter", name: fill(T.cluster, {n: Pizarra.num(c + 1)}), marker: {size: 12},
                hovertemplate: "<b>%{text}</b><br>→ %{customdata[0]} (%{customdata[1]:.3f})<extra></extra>"};
      });
      Plotly.react("map-plot", traces, {margin: {t: 50, l: 40, r: 10, b: 30}, hovermode: "closest",
        xaxis: {zeroline: false}, yaxis: {zeroline: false}, title: {text: `${r.model} · ${r.method.toUpperCase()}`}},
        {displaylogo: false, responsive: true});
    } catch (e) { $("map-error").textContent = e.message; }
  });

  // -------------------------------------------------------------------------------- search
  // The index ships with Pizarra (artifacts/sim-index): the first search answers at once, except the
  // few seconds a model takes to load the first time, which the status line says.
  $("search-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("search-error").textContent = ""; $("search-results").innerHTML = "";
    $("search-status").textContent = T.busy; $("search-button").disabled = true;
    const q = new URLSearchParams({q: $("search-query").value, collection: $("search-collection").value,
                                   model: $("search-model").value, k: $("search-k").value});
    try {
      const r = await api("/api/similarity/search?" + q.toString());
      $("search-status").textContent = r.results.length === 0 ? T.none :
        fill(T.done, {k: Pizarra.num(r.results.length), n: Pizarra.num(r.passages)}) + (r.source === "cache" ? " " + T.own_index : "");
      $("search-results").innerHTML = r.results.map((p) =>
        `<div class="passage"><div class="meta">${Pizarra.num(p.rank)}. <b>${Pizarra.num(p.score, 3)}</b> · ${esc(p.doc)}</div>${esc(p.text)}</div>`).join("");
    } catch (e) { $("search-status").textContent = ""; $("search-error").textContent = e.message; }
    finally { $("search-button").disabled = false; }
  });

  $("compare-form").requestSubmit();
  $("map-form").requestSubmit();
})();
