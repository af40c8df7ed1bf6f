// The script of the chapter 1 and 5 pages (the same IMDB reviews, two lessons): chapter 5's form runs
// every shipped model on a review (POST /api/sentiment/predict); chapter 1's puts the discriminative
// models beside an LLM's next-token probabilities (POST /api/sentiment/llm). Calls go through
// Pizarra.api; its data and words: the page's JSON block (Pizarra.data(): strings, and chapter 5's slides).
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const D = Pizarra.data(), S = D.strings;
  const esc = Pizarra.esc;
  const pct = (p) => Pizarra.pct(p, 1);

  const api = Pizarra.api;

  function labelHtml(p) {
    const pos = p >= 0.5;
    return `<span class="${pos ? "pos" : "neg"}">${pos ? S.positive : S.negative}</span>`;
  }

  // The review as the student wrote it (accents kept), each token the model read shaded by its
  // score; letters its tokenizer cannot see, words it does not know and words it never reached are
  // marked. Only the first PREVIEW characters are shown until the student asks for the rest.
  const PREVIEW = 600;
  const chars = (s) => [...s].length;
  function segHtml(seg, m) {
    const t = esc(seg.text);
    if (seg.ignored) return `<span class="ign" title="${esc(S.ignored)}">${t}</span>`;
    if (seg.skipped) return `<span class="unread" title="${esc(S.skipped)}">${t}</span>`;
    if (seg.token === undefined) return t;
    const s = (seg.score || 0) / m;
    const bg = s >= 0 ? `rgba(23,102,58,${(0.55 * s).toFixed(2)})` : `rgba(160,20,20,${(-0.55 * s).toFixed(2)})`;
    const title = Pizarra.num(seg.score || 0, 3) + (seg.unknown ? ` · ${S.unknown}` : "");
    return `<span class="tk${seg.unknown ? " unk" : ""}" style="background:${bg}" title="${esc(title)}">${t}</span>`;
  }
  function splitPreview(segs) {  // (head, rest): head holds about PREVIEW characters, cut between tokens
    const head = [];
    let n = 0, i = 0;
    for (; i < segs.length && n < PREVIEW; i++) {
      const len = chars(segs[i].text);
      if (n + len > PREVIEW && segs[i].token === undefined && !segs[i].skipped) {  // a long stretch of text
        const cp = [...segs[i].text];
        head.push({...segs[i], text: cp.slice(0, PREVIEW - n).join("")});
        return [head, [{...segs[i], text: cp.slice(PREVIEW - n).join("")}, ...segs.slice(i + 1)]];
      }
      head.push(segs[i]); n += len;
    }
    return [head, segs.slice(i)];
  }
  function tokensHtml(ex) {
    const scores = ex.token_scores || [];
    const m = Math.max(1e-9, ...scores.map(Math.abs));
    // without segments (the tokens could not be laid on the text), the tokens themselves
    const segs = ex.segments || ex.tokens.flatMap((tok, i) => [{text: tok, token: i, score: scores[i]}, {text: " "}]);
    const [head, rest] = splitPreview(segs);
    const legend = [["ignored", S.legend_ignored], ["unknown", S.legend_unknown], ["skipped", S.legend_skipped]]
      .filter(([k]) => segs.some((sg) => sg[k])).map(([, v]) => esc(v)).join(" ");
    let html = `<span class="shown">${head.map((sg) => segHtml(sg, m)).join("")}</span>`;
    if (rest.length) {
      const more = S.more.replace("{n}", Pizarra.num(rest.reduce((a, sg) => a + chars(sg.text), 0)));
      html += `<span class="rest" hidden>${rest.map((sg) => segHtml(sg, m)).join("")}</span>` +
        `<span class="more"> ${esc(more)}</span> <button type="button" class="secondary expand" aria-expanded="false">${esc(S.expand)}</button>`;
    }
    return {html, legend};
  }
  document.addEventListener("click", (ev) => {
    const b = ev.target.closest("button.expand");
    if (!b) return;
    const box = b.closest(".tokens"), open = b.getAttribute("aria-expanded") !== "true";
    box.querySelector(".rest").hidden = !open;
    box.querySelector(".more").hidden = open;
    b.setAttribute("aria-expanded", String(open));
    b.textContent = open ? S.collapse : S.expand;
  });

  function modelCard(name, r) {
    const ex = r.explain || {tokens: [], positive: [], negative: []};
    const shown = tokensHtml(ex);
    const words = (list) => list.slice(0, 6).map(([w, v]) => `${esc(w)} <small>(${v > 0 ? "+" : ""}${Pizarra.num(v, 2)})</small>`).join(", ");
    return `<div class="model-result" data-model="${esc(name)}"><h3>${esc(name)}: ${labelHtml(r.p_pos)} · ${S.p_pos} ${pct(r.p_pos)}
      <span class="bar" style="width:${Math.round(100 * r.p_pos)}px"></span></h3>
      <p class="tokens">${shown.html}</p>
      <p><small>${shown.legend ? shown.legend + "<br>" : ""}${ex.method ? S.method_grad : S.method_linear}</small><br>
      <strong>${S.pushed_up}:</strong> ${words(ex.positive)}<br><strong>${S.pushed_down}:</strong> ${words(ex.negative)}</p></div>`;
  }

  function notices(list) { return (list || []).map((n) => S[n] || n).join("\n"); }


  // ------------------------------------------------- chapter 5: every shipped model on a review
  const form = $("predict-form");
  if (form) {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      $("predict-error").textContent = ""; $("predict-notice").textContent = S.working;
      $("predict-button").disabled = true;
      try {
        const data = await api("/api/sentiment/predict", {text: $("review").value, explain: true, k: 8});
        $("predict-notice").textContent = notices(data.notices);
        $("predict-results").innerHTML = Object.entries(data.models).map(([n, r]) => modelCard(n, r)).join("");
      } catch (e) {
        $("predict-notice").textContent = ""; $("predict-error").textContent = e.message;
      } finally { $("predict-button").disabled = false; }
    });
    const slides = D.slides || [];
    document.querySelectorAll(".try-slide").forEach((b) => b.addEventListener("click", () => {
      $("review").value = slides[+b.dataset.index];
      form.requestSubmit();
      $("try-lab").scrollIntoView();
    }));
  }

  // ------------------------------------- chapter 1: discriminative models beside a generative LLM
  const genForm = $("gen-form");
  if (genForm) {
    genForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      $("gen-error").textContent = ""; $("gen-notice").textContent = S.working; $("gen-button").disabled = true;
      const text = $("gen-review").value;
      try {
        const disc = await api("/api/sentiment/predict", {text, models: ["nbsvm", "lstm"], explain: true, k: 6});
        $("gen-disc").innerHTML = Object.entries(disc.models).map(([n, r]) => modelCard(n, r)).join("");
        const g = await api("/api/sentiment/llm", {text, model: $("gen-model").value, mode: $("gen-mode").value});
        $("gen-llm").innerHTML = `<div class="model-result" data-model="${esc(g.model)}"><h3>${esc(g.model)} (${g.mode}-shot): ${labelHtml(g.p_pos)} · ${S.calibrated} ${pct(g.p_pos)}</h3>
          <p>${S.next_token}: <code>positive</code> ${pct(g.p_tokens.positive)} · <code>negative</code> ${pct(g.p_tokens.negative)}
          <br>${S.raw}: ${pct(g.p_pos_raw)} · ${S.prior}: <code>positive</code> ${pct(g.prior.positive)}, <code>negative</code> ${pct(g.prior.negative)}</p>
          <details><summary>${S.prompt}</summary><pre class="prompt">${esc(g.prompt)}</pre></details></div>`;
        $("gen-notice").textContent = notices(disc.notices);
      } catch (e) { $("gen-notice").textContent = ""; $("gen-error").textContent = e.message; }
      finally { $("gen-button").disabled = false; }
    });
  }
})();
