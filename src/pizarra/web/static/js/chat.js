// Chapter 8's script (chat.html loads it). Streams are server-sent events read from fetch(),
// so that a POST body can carry the conversation and the stop button can abort them.
// Its data and words: the page's JSON block (Pizarra.data()).
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const C = Pizarra.data().chat, T = C.i18n;
  const lang = document.documentElement.lang || "es";
  const esc = Pizarra.esc;
  const num = (id, fallback) => { const v = parseFloat($(id).value); return Number.isFinite(v) ? v : fallback; };

  const api = Pizarra.api;

  const sse = Pizarra.sse;  // POST + server-sent events: calls onEvent(dict) for each event

  function busy(button, on) { button.disabled = on; button.setAttribute("aria-busy", on ? "true" : "false"); }

  // ------------------------------------------------------------------- base vs instruct
  $("compare-preset").addEventListener("change", () => { $("compare-prompt").value = C.prompts[$("compare-preset").value]; });
  // Both columns stream: the base model writes first, then the instruct model (on two cores they
  // take turns); the column that waits says so. The stop button closes the stream.
  let compareAbort = null;
  $("compare-stop").addEventListener("click", () => { if (compareAbort) compareAbort.abort(); });
  $("compare-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("compare-error").textContent = "";
    busy($("compare-button"), true);
    $("compare-stop").hidden = false;
    const out = {base: $("compare-base"), instruct: $("compare-instruct")};
    const stat = {base: $("compare-base-stats"), instruct: $("compare-instruct-stats")};
    out.base.textContent = T.waiting; out.instruct.textContent = T.compare_turn;
    stat.base.textContent = stat.instruct.textContent = "";
    out.base.classList.add("streaming");
    $("compare-out").hidden = false; $("compare-received").hidden = true;
    compareAbort = new AbortController();
    let stopped = false;
    try {
      await sse("/api/chat/compare/stream", {prompt: $("compare-prompt").value,
        max_tokens: num("compare-max", 96), temperature: num("compare-temp", 0.7), seed: 0}, (e) => {
        const box = out[e.side];
        if (e.type === "start") {
          box.classList.add("streaming");
          if (e.side === "base") { box.innerHTML = `<b>${esc(e.received)}</b>`; }
          else {
            box.textContent = "";
            $("compare-received-text").textContent = e.received;
            $("compare-tokens").innerHTML = (e.tokens || []).map((t) =>
              `<span class="tok${/^<\|.*\|>$/.test(t.text) ? " special" : ""}" title="id ${t.id}">${esc(t.text.replace(/\n/g, "⏎"))}</span>`).join("");
            $("compare-received").hidden = false;
          }
        } else if (e.type === "token") {
          box.append(document.createTextNode(e.text));
        } else if (e.type === "done") {
          box.classList.remove("streaming");
          stat[e.side].textContent = T.compare_stats.replace("{n}", Pizarra.num(e.n_tokens || 0))
            .replace("{s}", Pizarra.num(e.seconds, 1)).replace("{tps}", Pizarra.num(e.tokens_per_s, 1));
        }
      }, compareAbort.signal);
    } catch (e) {
      if (e.name === "AbortError") { stopped = true; }
      else { $("compare-error").textContent = e.message; }
    }
    for (const side of ["base", "instruct"]) {
      out[side].classList.remove("streaming");
      if (stopped && !stat[side].textContent) stat[side].textContent = T.stopped;
    }
    compareAbort = null;
    $("compare-stop").hidden = true;
    busy($("compare-button"), false);
  });

  // ------------------------------------------------------------------- instruction data
  let dataOffset = 0;
  async function loadData() {
    $("data-error").textContent = "";
    try {
      const r = await api(`/api/chat/instructions?part=${$("data-part").value}&offset=${dataOffset}&limit=5`);
      $("data-table").querySelector("tbody").innerHTML = r.examples.map((x) =>
        `<tr><td>${esc(x.instruction)}</td><td class="out">${esc(x.input || "")}</td><td class="out">${esc(x.output)}</td></tr>`).join("");
      $("data-where").textContent = T.showing.replace("{from}", r.total ? r.offset + 1 : 0)
        .replace("{to}", r.offset + r.examples.length).replace("{total}", r.total).replace("{source}", r.source);
      $("data-prev").disabled = r.offset === 0;
      $("data-next").disabled = r.offset + r.examples.length >= r.total;
    } catch (e) { $("data-error").textContent = e.message; }
  }
  $("data-part").addEventListener("change", () => { dataOffset = 0; loadData(); });
  $("data-prev").addEventListener("click", () => { dataOffset = Math.max(0, dataOffset - 5); loadData(); });
  $("data-next").addEventListener("click", () => { dataOffset += 5; loadData(); });
  loadData();

  // ------------------------------------------------------------------------------- chat
  const KEY = "pizarra.chat8.conversation";
  let convo = [];
  try { convo = JSON.parse(localStorage.getItem(KEY) || "[]"); } catch (e) { convo = []; }
  let controller = null;
  const save = () => localStorage.setItem(KEY, JSON.stringify(convo));

  function bubble(m) {
    const div = document.createElement("div");
    div.className = "msg " + m.role;
    div.innerHTML = `<span class="who">${esc(T[m.role] || m.role)}</span><span class="text"></span>`;
    div.querySelector(".text").textContent = m.content;
    $("chat-msgs").appendChild(div);
    $("chat-msgs").scrollTop = $("chat-msgs").scrollHeight;
    return div.querySelector(".text");
  }
  function redraw() { $("chat-msgs").innerHTML = ""; convo.forEach(bubble); }
  redraw();

  async function send(text, target, stopButton, onDone) {
    convo.push({role: "user", content: text}); save(); bubble(convo[convo.length - 1]);
    const answer = {role: "assistant", content: ""};
    const el = target || bubble(answer);
    controller = new AbortController();
    busy($("chat-send"), true); stopButton.disabled = false;
    $("chat-error").textContent = "";
    try {
      await sse("/api/chat/stream", {messages: convo, system: $("chat-system").value || null, model: $("chat-model").value,
        temperature: num("chat-temp", 0.7), top_p: num("chat-top-p", 0.95), max_tokens: num("chat-max", 256)}, (ev) => {
        if (ev.type === "start" && ev.dropped_turns > 0) $("chat-notice").textContent = T.dropped.replace("{n}", ev.dropped_turns);
        if (ev.type === "token") { answer.content += ev.text; el.textContent = answer.content; }
        if (ev.type === "done") $("chat-stats").textContent = `${ev.n_tokens} tokens · ${ev.tokens_per_s} tokens/s · ${ev.finish_reason}`;
      }, controller.signal);
    } catch (e) {
      if (e.name === "AbortError") $("chat-stats").textContent = T.stopped;
      else $("chat-error").textContent = e.message;
    }
    if (answer.content) { convo.push({role: "assistant", content: answer.content.trim()}); save(); }
    else if (!target) el.parentElement.remove();  // stopped before the first token: no empty bubble
    controller = null; busy($("chat-send"), false); stopButton.disabled = true;
    if (onDone) onDone(answer.content);
  }
  $("chat-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = $("chat-input").value.trim();
    if (!text || controller) return;
    $("chat-input").value = ""; $("chat-notice").textContent = "";
    send(text, null, $("chat-stop"));
  });
  $("chat-stop").addEventListener("click", () => { if (controller) controller.abort(); });
  $("chat-clear").addEventListener("click", () => { convo = []; save(); redraw(); $("chat-notice").textContent = ""; });
  $("chat-scenario").addEventListener("click", () => {
    convo = []; save(); redraw();
    $("chat-input").value = C.story + "\n\n" + C.follow_ups[0];
  });
  $("chat-export").addEventListener("click", () => {
    const blob = new Blob([JSON.stringify({system: $("chat-system").value, messages: convo}, null, 2)], {type: "application/json"});
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob); a.download = "conversacion.json"; a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  });

  // ------------------------------------------------------------------------------- code
  let codeController = null;
  $("code-generate").addEventListener("click", async () => {
    $("code-error").textContent = ""; $("code-reply").textContent = T.waiting; $("code-reply-panel").hidden = false;
    codeController = new AbortController();
    busy($("code-generate"), true); $("code-stop").disabled = false;
    let reply = "";
    try {
      await sse("/api/chat/stream", {messages: [{role: "user", content: $("code-prompt").value}], max_tokens: 384,
        model: $("code-lab").dataset.model,
        temperature: 0.7}, (ev) => { if (ev.type === "token") { reply += ev.text; $("code-reply").textContent = reply; } },
        codeController.signal);
    } catch (e) { if (e.name !== "AbortError") $("code-error").textContent = e.message; }
    busy($("code-generate"), false); $("code-stop").disabled = true; codeController = null;
    const m = reply.match(/```[ \t]*(?:python|py|python3)?[^\n]*\n([\s\S]*?)(?:```|$)/);
    if (m) $("code-code").value = m[1].trim() + "\n";
    else if (reply) $("code-error").textContent = T.no_code;
  });
  $("code-stop").addEventListener("click", () => { if (codeController) codeController.abort(); });
  $("code-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("code-error").textContent = "";
    busy($("code-run"), true);
    try {
      const r = await api("/api/chat/run", {code: $("code-code").value, stdin: $("code-stdin").value});
      const res = r.result;
      const check = r.bmi_check.right_value ? T.right : T.wrong;
      $("code-status").className = res.ok ? "ok-box" : "error-box";
      $("code-status").textContent = `${res.status_text || res.status} · ${res.message} (${Pizarra.num(res.seconds, 2)} s)` + (res.ok ? `\n${check}` : "");
      $("code-stdout").textContent = res.stdout || "∅";
      $("code-stderr").textContent = res.stderr || "∅";
      $("code-result").hidden = false;
    } catch (e) { $("code-error").textContent = e.message; }
    busy($("code-run"), false);
  });

  // ---------------------------------------------------------------------- hallucinations
  const COLORS = ["#1b5e3b", "#b5651d", "#2f5d8a", "#8a2f6b", "#6b6b00", "#5b3fa0", "#a03f3f", "#3f8a8a", "#555", "#999"];
  document.querySelectorAll(".halluc-example").forEach((b) => b.addEventListener("click", () => {
    $("halluc-question").value = b.dataset.q; $("halluc-form").requestSubmit();
  }));
  $("halluc-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("halluc-error").textContent = ""; $("halluc-answers").innerHTML = ""; $("halluc-result").hidden = true;
    busy($("halluc-button"), true);
    try {
      await sse("/api/chat/hallucination", {question: $("halluc-question").value, n: num("halluc-n", 5),
        temperature: num("halluc-temp", 1.0), max_tokens: num("halluc-max", 48), threshold: num("halluc-threshold", 0.85)}, (ev) => {
        if (ev.type === "answer") {
          const li = document.createElement("li"); li.dataset.index = ev.index; li.className = "out";
          li.innerHTML = `<span class="cluster"></span> <span class="text"></span>`;
          li.querySelector(".text").textContent = ev.text; $("halluc-answers").appendChild(li);
        }
        if (ev.type === "result") {
          ev.labels.forEach((c, i) => {
            const tag = $("halluc-answers").children[i].querySelector(".cluster");
            tag.textContent = "C" + (c + 1); tag.style.background = COLORS[c % COLORS.length];
            const core = (ev.cores || [])[i];  // what was compared: the answer without the question's words
            if (core && core !== ev.answers[i]) {
              const s = document.createElement("span"); s.className = "note core"; s.textContent = " → " + core;
              $("halluc-answers").children[i].appendChild(s);
            }
          });
          $("halluc-se").textContent = T.se.replace("{se}", Pizarra.num(ev.semantic_entropy, 3))
            .replace("{max}", Pizarra.num(ev.max_entropy, 3)).replace("{k}", ev.clusters.length).replace("{n}", ev.answers.length);
          $("halluc-meter").className = "meter" + (ev.flag ? " flag" : "");
          $("halluc-meter").firstElementChild.style.width = (100 * ev.semantic_entropy / Math.max(ev.max_entropy, 1e-9)) + "%";
          $("halluc-flag").className = ev.flag ? "error-box" : "ok-box";
          $("halluc-flag").textContent = ev.flag ? T.flag_yes : T.flag_no;
          $("halluc-result").hidden = false;
        }
      });
    } catch (e) { $("halluc-error").textContent = e.message; }
    busy($("halluc-button"), false);
  });

  // ---------------------------------------------------------------------- size ladder
  const L = Pizarra.data().ladder, LT = L.i18n;
  const nf = (digits) => new Intl.NumberFormat(lang, {minimumFractionDigits: digits, maximumFractionDigits: digits});
  const pct = new Intl.NumberFormat(lang, {style: "percent", maximumFractionDigits: 1});
  const fill = (text, values) => Object.entries(values).reduce((t, [k, v]) => t.split("{" + k + "}").join(v), text);
  const cols = [...document.querySelectorAll(".ladder-col")];
  const params = (n) => fill(LT.params, {n: nf(0).format(n / 1e6)});
  cols.forEach((c) => { c.querySelector(".ladder-params").textContent = params(+c.dataset.params); });
  let ladderController = null;

  $("ladder-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (ladderController) return;
    $("ladder-error").textContent = ""; $("ladder-status").textContent = "";
    cols.forEach((c, i) => { c.dataset.state = "queued"; c.querySelector(".ladder-meta").textContent = "";
      c.querySelector(".ladder-answer").textContent = i === 0 ? L.waiting : LT.queued; });
    cols[0].classList.add("active");
    ladderController = new AbortController();
    busy($("ladder-button"), true); $("ladder-stop").disabled = false;
    try {
      await sse("/api/chat/ladder", {question: $("ladder-question").value}, (ev) => {
        if (ev.type === "answer") {
          const col = cols.find((c) => c.dataset.model === ev.model);
          col.dataset.state = "answered"; col.classList.remove("active");
          col.querySelector(".ladder-answer").textContent = ev.answer || "∅";
          const meta = col.querySelector(".ladder-meta");
          meta.innerHTML = (ev.correct === null ? "" :
            `<span class="${ev.correct ? "right" : "wrong"}">${esc(ev.correct ? LT.right : LT.wrong)}</span> · `) +
            esc(fill(LT.time, {s: nf(1).format(ev.seconds), tps: nf(1).format(ev.tokens_per_s)})) +
            (ev.finish_reason === "time" ? " · " + esc(LT.cut) : "");
          const next = cols.find((c) => c.dataset.state === "queued");
          if (next) { next.classList.add("active"); next.querySelector(".ladder-answer").textContent = L.waiting; }
        }
        if (ev.type === "done") {
          $("ladder-status").textContent = fill(LT.done, {s: nf(1).format(ev.seconds)}) + " " +
            (ev.accepted ? fill(LT.judged, {accepted: ev.accepted.join(" / ")}) : LT.unjudged);
        }
      }, ladderController.signal);
    } catch (e) {
      if (e.name === "AbortError") $("ladder-status").textContent = L.stopped;
      else $("ladder-error").textContent = e.message;
    }
    cols.forEach((c) => { c.classList.remove("active");
      if (c.dataset.state === "queued") c.querySelector(".ladder-answer").textContent = ""; });
    ladderController = null; busy($("ladder-button"), false); $("ladder-stop").disabled = true;
  });
  $("ladder-stop").addEventListener("click", () => { if (ladderController) ladderController.abort(); });

  async function ladderReport() {
    const r = await api("/api/chat/ladder/report").catch(() => null);
    if (!r || !r.models) { $("ladder-report-note").textContent = LT["table.none"]; return; }
    const cell = (x) => `<td class="num">${x === null || x === undefined ? "–" : esc(pct.format(x))}</td>`;
    $("ladder-table").querySelector("tbody").innerHTML = r.models.map((m) =>
      `<tr data-model="${esc(m.model)}"><td>${esc(m.label)}</td><td class="num">${esc(nf(0).format(m.params))}</td>` +
      cell(m.accuracy.es) + cell(m.accuracy.en) + cell(m.accuracy.all) +
      `<td class="num">${m.tokens_per_s === null ? "–" : esc(nf(1).format(m.tokens_per_s))}</td></tr>`).join("");
    $("ladder-table").hidden = false;
    $("ladder-report-note").textContent = fill(LT["table.note"], {cpu: r.cpu || "?", command: r.command || "?",
      n_es: (r.n_questions || {}).es || 0, n_en: (r.n_questions || {}).en || 0, max_tokens: (r.sampling || {}).max_tokens});
  }
  ladderReport();
})();
