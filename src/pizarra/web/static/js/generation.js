// Chapter 7's labs: next-token table and temperature, SnapGPT step mode, tree of samples, streaming
// generation (EventSource on GET /api/generation/stream), perplexity. Calls /api/generation/* through
// Pizarra.api; its words: the page's JSON block (Pizarra.data()).
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const lang = document.documentElement.lang || "es";
  const S = Pizarra.data().strings;
  const esc = Pizarra.esc;
  const show = (tok) => tok.replace(/ /g, "␣").replace(/\n/g, "⏎");
  const pct = (p) => Pizarra.pct(p, p >= 0.1 ? 1 : 2);
  const num = (id, dflt) => { const v = parseFloat($(id).value); return Number.isFinite(v) ? v : dflt; };

  const api = Pizarra.api;
  const plotCfg = {displaylogo: false, responsive: true};

  // ------------------------------------------------------------- next-token table + temperature
  $("next-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("next-error").textContent = "";
    $("next-button").disabled = true;
    $("next-meta").textContent = S.working;
    try {
      const r = await api("/api/generation/next", {prefix: $("next-prefix").value, model: $("next-model").value,
                                                 k: parseInt($("next-k").value, 10) || 10});
      const labels = r.tokens.map((t) => show(t.token));
      const head = Pizarra.plotTitle(`${esc(r.label)} · p(· | «${esc(r.prefix.slice(-40))}»)`, "next-plot");
      Plotly.react("next-plot", [{type: "bar", orientation: "h", y: labels.slice().reverse(),
        x: r.tokens.map((t) => t.prob).reverse(), text: r.tokens.map((t) => pct(t.prob)).reverse(), textposition: "outside",
        cliponaxis: false, marker: {color: "#1d3b2f"}, hovertemplate: "%{y}: %{x:.4f}<extra></extra>"}],
        {margin: {t: head.top, l: 140, r: 70, b: 40}, title: head.title, separators: Pizarra.separators,
         xaxis: {title: {text: S.prob}, rangemode: "tozero"}, yaxis: {automargin: true, tickfont: {family: "monospace", size: 15}}}, plotCfg);
      $("next-meta").textContent = `${r.context_tokens} ${S.tokens} · ${S.shown}: ${pct(r.shown_mass)} · ${S.entropy}: ${Pizarra.num(r.entropy_bits, 2)} bits · ${Pizarra.num(r.ms, 1)} ms`;
      const temps = Object.keys(r.temperature).sort((a, b) => parseFloat(a) - parseFloat(b));  // JS puts "1", "2" before "0.5"
      const colors = ["#1d3b2f", "#4f7a5f", "#b5651d", "#b08d57"];
      Plotly.react("temp-plot", temps.map((T, i) => ({type: "bar", name: `T = ${Pizarra.num(parseFloat(T))}`, x: labels, y: r.temperature[T],
        marker: {color: colors[i % colors.length]}})),
        {barmode: "group", margin: {t: 30, l: 60, r: 10, b: 80}, yaxis: {title: {text: S.prob}}, separators: Pizarra.separators,
         xaxis: {tickfont: {family: "monospace", size: 14}}, legend: {orientation: "h", y: 1.12}}, plotCfg);
    } catch (e) { $("next-error").textContent = e.message; $("next-meta").textContent = ""; }
    finally { $("next-button").disabled = false; }
  });

  // ------------------------------------------------------------------------ SnapGPT step mode
  // The story is the student's: they write (or change) its beginning, and each step sends exactly
  // the box's text and appends the model's word to it. The box stays editable all along.
  const story = $("snap-story");
  let steps = [];  // {before, after} of each step, for undo and for replacing the last word
  let busy = false;
  const last = () => steps[steps.length - 1];
  function clearStep() {
    $("snap-chips").innerHTML = ""; $("snap-question").hidden = true; $("snap-added").hidden = true;
  }
  function setStory(text) {
    story.value = text;
    story.scrollTop = story.scrollHeight;
    story.setSelectionRange(text.length, text.length);
    $("snap-undo").disabled = !steps.length;
  }
  function renderChips(r) {
    $("snap-question").hidden = false;
    $("snap-chips").innerHTML = r.distribution.map((t) =>
      `<button type="button" data-id="${t.id}" class="${t.id === r.chosen.id ? "was-chosen" : ""}">` +
      `<span class="tok">${esc(show(t.token))}</span><span class="p">${pct(t.prob)}</span></button>`).join("");
  }
  async function snapStep(choice, before = story.value) {
    if (busy) return;
    busy = true;
    $("snap-error").textContent = "";
    try {
      const r = await api("/api/generation/step", {text: before, model: $("snap-model").value, temperature: num("snap-temperature", 0.8),
                                                   choice: choice === undefined ? null : choice, k: 8});
      steps.push({before, after: r.text});
      setStory(r.text);
      $("snap-added").innerHTML = (choice === undefined ? S.snap_added : S.snap_picked)
        .replace("{word}", `<span class="${choice === undefined ? "new" : "picked"}">${esc(show(r.added))}</span>`)
        .replace("{p}", esc(pct(r.chosen.prob)));
      $("snap-added").hidden = !r.added;
      renderChips(r);
    } catch (e) { $("snap-error").textContent = e.message; }
    finally { busy = false; }
  }
  $("snap-next").addEventListener("click", () => snapStep());
  const PASS_KEYS = ["Tab", "Shift", "Escape", "CapsLock", "ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown",
                     "Home", "End", "PageUp", "PageDown"];
  story.addEventListener("keydown", (ev) => {
    if (ev.isComposing || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if ($("snap-anykey").checked) {  // the lecture's SnapGPT: every key press is one more word
      if (PASS_KEYS.includes(ev.key) || /^F\d+$/.test(ev.key)) return;  // moving around is not a word
      ev.preventDefault();
      if (ev.key === "Backspace") $("snap-undo").click(); else snapStep();
    } else if (ev.key === "Enter" && !ev.shiftKey) {  // Enter: one more word; Shift+Enter: a new line
      ev.preventDefault();
      snapStep();
    }
  });
  story.addEventListener("input", () => {  // the student changed the story: its old steps no longer apply
    steps = []; $("snap-undo").disabled = true; clearStep();
  });
  $("snap-anykey").addEventListener("change", () => { story.classList.toggle("anykey", $("snap-anykey").checked); story.focus(); });
  $("snap-chips").addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-id]");
    if (!b || busy || !last()) return;
    // replace the last word by the student's pick: go back one step, then step with that choice
    const {before} = steps.pop();
    snapStep(parseInt(b.dataset.id, 10), before);
  });
  $("snap-undo").addEventListener("click", () => {
    if (busy) return;  // a word is on its way: undo it once it has arrived
    const s = steps.pop();
    if (s && story.value === s.after) setStory(s.before);
    else steps = [];
    $("snap-undo").disabled = !steps.length;
    clearStep();
  });
  $("snap-reset").addEventListener("click", () => {
    steps = []; setStory(story.dataset.start); clearStep();
  });

  // ---------------------------------------------------------------------------- tree of samples
  $("tree-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("tree-error").textContent = ""; $("tree-view").textContent = S.working;
    $("tree-button").disabled = true;
    try {
      const r = await api("/api/generation/tree", {prefix: $("tree-prefix").value, model: $("tree-model").value,
        n: parseInt($("tree-n").value, 10) || 8, depth: parseInt($("tree-depth").value, 10) || 5,
        temperature: num("tree-temperature", 0.8), seed: parseInt($("tree-seed").value, 10) || 0});
      const kids = {};
      r.nodes.forEach((n) => { if (n.parent !== null) (kids[n.parent] = kids[n.parent] || []).push(n); });
      const li = (n) => {
        // a run of nodes with one child each is one branch: show it on one line
        let last = n, text = n.token, titles = [`${show(n.token)} ${pct(n.prob)}`];
        while ((kids[last.id] || []).length === 1) {
          last = kids[last.id][0];
          text += last.token; titles.push(`${show(last.token)} ${pct(last.prob)}`);
        }
        const ch = (kids[last.id] || []).sort((a, b) => b.count - a.count || b.prob - a.prob);
        return `<li data-node="${n.id}"><span class="node" title="${esc(titles.join(" → "))}"><span class="tok">${esc(show(text))}</span>` +
          `<span class="meta">p=${pct(n.prob)} · ${n.count}/${r.n}</span><span class="bar" style="width:${3 * n.count / r.n}em"></span></span>` +
          (ch.length ? `<ul>${ch.map(li).join("")}</ul>` : "") + "</li>";
      };
      const root = r.nodes[0];
      $("tree-view").innerHTML = `<ul class="tree"><li><span class="node"><b>${esc(root.token.slice(-60) || "∅")}</b>` +
        `<span class="meta">${Pizarra.num(r.n)} ${S.samples} · ${Pizarra.num(r.seconds, 2)} s</span></span><ul>${(kids[0] || []).sort((a, b) => b.count - a.count).map(li).join("")}</ul></li></ul>`;
    } catch (e) { $("tree-error").textContent = e.message; $("tree-view").textContent = ""; }
    finally { $("tree-button").disabled = false; }
  });

  // --------------------------------------------------------------------- streaming generation
  let source = null;
  function stopStream(note) {
    if (source) { source.close(); source = null; }
    $("stream-button").disabled = false; $("stream-stop").disabled = true;
    if (note) $("stream-meta").textContent = note;
  }
  $("stream-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    stopStream();
    $("stream-error").textContent = ""; $("stream-meta").textContent = S.working;
    const prefix = $("stream-prefix").value;
    const q = new URLSearchParams({prefix, model: $("stream-model").value, max_tokens: $("stream-max").value || 80,
      temperature: num("stream-temperature", 0.8), top_k: $("stream-topk").value || 0, top_p: num("stream-topp", 0.95), lang});
    if ($("stream-seed").value !== "") q.set("seed", $("stream-seed").value);
    $("stream-output").innerHTML = `<span class="prompt">${esc(prefix)}</span>`;
    const out = document.createElement("span"); out.id = "stream-generated"; $("stream-output").appendChild(out);
    $("stream-button").disabled = true; $("stream-stop").disabled = false;
    source = new EventSource("/api/generation/stream?" + q.toString());
    source.onmessage = (msg) => {
      const e = JSON.parse(msg.data);
      if (e.type === "token") out.textContent += e.text;
      else if (e.type === "done") stopStream(`${Pizarra.num(e.n_tokens)} ${S.tokens} · ${Pizarra.num(e.tokens_per_s, 1)} ${S.tps} · ${S.finish[e.finish_reason] || e.finish_reason}`);
      else if (e.type === "error") { $("stream-error").textContent = e.message; stopStream(""); }
    };
    source.onerror = async () => {  // a 422 (bad knobs) or a lost connection: ask again as JSON for the sentence
      if (!source) return;
      stopStream("");
      // An error answers at once; a stream that does start is dropped (the server then stops the model).
      const ask = new AbortController(), drop = setTimeout(() => ask.abort(), 2000);
      try { await api("/api/generation/stream?" + q.toString(), undefined, {signal: ask.signal}); }
      catch (e) { if (!(e instanceof TypeError) && e.name !== "AbortError") $("stream-error").textContent = e.message; }
      finally { clearTimeout(drop); }
    };
  });
  $("stream-stop").addEventListener("click", () => stopStream(S.stopped));

  // ------------------------------------------------------------------------------- perplexity
  $("score-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("score-error").textContent = ""; $("score-result").textContent = S.working;
    try {
      const r = await api("/api/generation/score", {text: $("score-text").value, model: $("score-model").value});
      $("score-result").textContent = S.score.replace("{label}", r.label).replace("{ppl_word}", Pizarra.num(r.ppl_word, 1))
        .replace("{bpc}", Pizarra.num(r.bits_per_char, 3)).replace("{tokens}", r.tokens).replace("{words}", r.words);
    } catch (e) { $("score-error").textContent = e.message; $("score-result").textContent = ""; }
  });

  $("next-form").requestSubmit();
})();
