// Chapter 2 labs: tokenizers, the tokens-per-word table, one-hot / bag of words / TF-IDF.
// Its words: the page's JSON block (Pizarra.data()); every request goes through Pizarra.api.
(function () {
  "use strict";
  const T = Pizarra.data().strings;
  const $ = (sel, root = document) => root.querySelector(sel);
  const fill = (s, v) => s.replace(/\{(\w+)\}/g, (m, k) => (k in v ? v[k] : m));
  const api = Pizarra.api;

  async function guarded(section, work) {
    const box = $(".error-box", section);
    box.textContent = "";
    section.setAttribute("aria-busy", "true");
    try { await work(); } catch (e) { box.textContent = e.message; } finally { section.removeAttribute("aria-busy"); }
  }

  // ---------------------------------------------------------------------------------- tokenizers
  const tf = $("#tokenize-form");
  tf.vocab_size.addEventListener("input", () => { $("#vocab-out").textContent = tf.vocab_size.value; });
  function tokenSpan(text, i) {
    const span = document.createElement("span");
    span.className = `tok c${i % 5}`;
    span.textContent = text;
    return span;
  }
  // Byte-level tokenizers cut a character of several UTF-8 bytes (é = C3 A9, 🐧 = 4 bytes) between tokens.
  // A lone byte shows as ‹C3› (never as "�"), and the tokens that only together spell a character sit in
  // one box labelled with that character; the legend below explains it with the first such character.
  const cutWords = (cut) => cut.map((c) => fill(T.cut_char, { char: c.char, n: Pizarra.num(c.hex.split(" ").length), hex: c.hex,
                                                            k: Pizarra.num(c.tokens) }))
    .join(" ");
  function pieceSpan(p, i) {
    const span = tokenSpan("", i);
    for (const part of p.parts) {
      if (part.text !== undefined) { span.append(part.text); continue; }
      const b = document.createElement("span");
      b.className = "byte";
      b.textContent = `‹${part.byte}›`;
      span.appendChild(b);
    }
    span.title = p.partial ? fill(T.piece_title, { hex: p.hex, cut: cutWords(p.cut) }) : p.hex;
    if (p.partial) span.classList.add("partial");
    return span;
  }
  function showPieces(box, pieces) {
    let first = null;
    for (let i = 0; i < pieces.length;) {
      let j = i + 1;
      while (j < pieces.length && pieces[j].group === pieces[i].group) j++;
      const run = pieces.slice(i, j);
      const cut = [...new Map(run.flatMap((p) => p.cut).map((c) => [c.char, c])).values()];
      if (run.length > 1 && cut.length) {
        const group = document.createElement("span");
        group.className = "tok-group";
        group.title = fill(T.group_title, { k: Pizarra.num(run.length), chars: cut.map((c) => c.char).join("") });
        run.forEach((p, k) => group.appendChild(pieceSpan(p, i + k)));
        const label = document.createElement("span");
        label.className = "glabel";
        label.textContent = "= " + cut.map((c) => c.char).join("");
        group.appendChild(label);
        box.appendChild(group);
        first = first || cut[0];
      } else {
        run.forEach((p, k) => box.appendChild(pieceSpan(p, i + k)));
        first = first || (run.some((p) => p.partial) && run.flatMap((p) => p.cut)[0]) || null;
      }
      i = j;
    }
    const legend = $("#bytes-legend");
    legend.hidden = !first;
    if (first) legend.textContent = fill(T.legend, { byte: first.hex.split(" ")[0], char: first.char, n: Pizarra.num(first.hex.split(" ").length), hex: first.hex,
                                                    k: Pizarra.num(first.tokens) });
  }
  async function tokenize() {
    await guarded($("#tokenize-lab"), async () => {
      const body = { text: tf.text.value, kind: tf.kind.value, n: Number(tf.n.value) };
      if (tf.kind.value === "bpe") body.vocab_size = Number(tf.vocab_size.value);
      const r = await api("/api/text/tokenize", body);
      const box = $("#tokens");
      box.innerHTML = "";
      $("#bytes-legend").hidden = true;
      if (r.pieces) showPieces(box, r.pieces);
      else r.tokens.forEach((tok, i) => box.appendChild(tokenSpan(tok, i)));
      $("#tokenize-summary").textContent = fill(T.summary, { tokens: r.n_tokens, words: r.n_words, ratio: Pizarra.num(r.tokens_per_word) });
      $("#token-ids").textContent = r.ids ? r.ids.join(" ") : "–";
    });
  }
  tf.addEventListener("submit", (e) => { e.preventDefault(); tokenize(); });
  tf.kind.addEventListener("change", tokenize);
  tf.vocab_size.addEventListener("change", tokenize);

  // ------------------------------------------------------------------------- tokens per word table
  $("#compare-go").addEventListener("click", () => guarded($("#compare-lab"), async () => {
    const r = await api("/api/text/compare", {});
    const tbody = $("#compare-table tbody");
    tbody.innerHTML = "";
    for (const row of r.rows) {
      const tr = document.createElement("tr");
      tr.innerHTML = `<td></td><td class="num">${row.vocab_size ? Pizarra.num(row.vocab_size) : "–"}</td>` +
                     `<td class="num">${Pizarra.num(row.es, 2)}</td><td class="num">${Pizarra.num(row.en, 2)}</td>`;
      tr.firstChild.textContent = row.tokenizer;
      tbody.appendChild(tr);
    }
    $("#compare-table").hidden = false;
  }));

  // ---------------------------------------------------------------------- one-hot / BoW / TF-IDF
  const vf = $("#vectorize-form");
  async function vectorize() {
    await guarded($("#vectorize-lab"), async () => {
      const sentences = vf.sentences.value.split("\n").map((s) => s.trim()).filter(Boolean);
      const r = await api("/api/text/vectorize", { sentences, method: vf.method.value });
      const table = $("#matrix");
      table.innerHTML = "";
      const head = table.createTHead().insertRow();
      head.appendChild(document.createElement("th"));
      for (const w of r.vocabulary) { const th = document.createElement("th"); th.className = "vocab"; th.textContent = w; head.appendChild(th); }
      const body = table.createTBody();
      r.rows.forEach((label, i) => {
        const tr = body.insertRow();
        const th = document.createElement("th"); th.textContent = label; tr.appendChild(th);
        for (const x of r.vectors[i]) {
          const td = tr.insertCell();
          td.className = "num" + (x ? " one" : "");
          td.textContent = r.method === "tfidf" ? Pizarra.num(x, 2) : String(x);
        }
      });
      if (r.idf) {
        const tr = body.insertRow();
        const th = document.createElement("th"); th.textContent = T.idf; tr.appendChild(th);
        for (const x of r.idf) { const td = tr.insertCell(); td.className = "num note"; td.textContent = Pizarra.num(x, 2); }
      }
      $("#vectorize-summary").textContent = fill(T.vsummary, { dim: r.dimension, rows: r.rows.length, nonzero: r.nonzero,
                                                                sparsity: Pizarra.num(100 * r.sparsity, 0) });
    });
  }
  vf.addEventListener("submit", (e) => { e.preventDefault(); vectorize(); });
  vf.method.addEventListener("change", vectorize);
  document.querySelectorAll("[data-example]").forEach((b) => b.addEventListener("click", () => { vf.sentences.value = b.dataset.example; vectorize(); }));

  tokenize();
  vectorize();
})();
