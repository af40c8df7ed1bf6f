// The game's JavaScript (chapter 9): levels, asking, guessing; progress in localStorage.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const data = Pizarra.data();
  const S = data.strings;
  const KEY = "pizarra.gandalf.solved";
  let solved = [];
  try { solved = JSON.parse(localStorage.getItem(KEY) || "[]").filter((n) => Number.isInteger(n)); } catch (e) { solved = []; }
  const unlocked = () => Math.min(8, Math.max(0, ...solved) + 1);
  let level = unlocked();

  const api = Pizarra.api;

  function show() {
    document.querySelectorAll("#levels button").forEach((b) => {
      const n = Number(b.dataset.level);
      b.disabled = n > unlocked();
      b.title = b.disabled ? S.locked : data.levels[n - 1].title;
      b.classList.toggle("current", n === level);
      b.classList.toggle("solved", solved.includes(n));
      b.setAttribute("aria-pressed", n === level ? "true" : "false");
    });
    const lv = data.levels[level - 1];
    $("level-title").textContent = S.level + " " + level + " · " + lv.title;
    $("level-intro").textContent = lv.intro;
  }

  function clear() {
    ["ask-notice", "ask-error", "guess-ok", "guess-error"].forEach((id) => { $(id).textContent = ""; });
    $("lesson").hidden = true;
  }

  $("levels").addEventListener("click", (ev) => {
    const b = ev.target.closest("button");
    if (!b || b.disabled) return;
    level = Number(b.dataset.level);
    clear(); $("answer-box").hidden = true; show();
  });

  $("ask-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clear();
    const prompt = $("prompt").value;
    $("ask-button").disabled = true;
    $("answer-box").hidden = false;
    $("answer").className = "answer"; $("answer").textContent = S.thinking; $("defense").hidden = true;
    try {
      // Streamed: on a level without an output guard the words appear as Gandalf writes them; on a
      // guarded level only the progress does (the guard reads the whole answer before anyone sees it).
      let r = null, text = "";
      await Pizarra.sse("/api/gandalf/ask/stream", {level, prompt}, (e) => {
        if (e.type === "start" && e.guarded) $("answer").textContent = S.guarded;
        else if (e.type === "token") { text += e.text; $("answer").textContent = text; }
        else if (e.type === "progress") $("answer").textContent = S.writing.replace("{n}", Pizarra.num(e.pieces));
        else if (e.type === "checking") $("answer").textContent = S.checking;
        else if (e.type === "retry") $("answer").textContent = S.retry;
        else if (e.type === "turn") r = e;
      });
      if (!r) throw new Error(S.cut);
      $("answer").textContent = r.answer;
      $("answer").classList.toggle("blocked", r.blocked);
      if (r.blocked) {
        $("defense").hidden = false;
        $("defense").innerHTML = "";
        const strong = document.createElement("strong");
        strong.textContent = S.blocked_by + " " + (S.defense[r.defense] || r.defense) + ". ";
        $("defense").append(strong, document.createTextNode(r.explanation || ""));
        $("defense").dataset.defense = r.defense;
      } else if (r.explanation) {  // an output guard threw earlier answers away; this one passed
        $("defense").hidden = false;
        $("defense").innerHTML = "";
        const strong = document.createElement("strong");
        strong.textContent = S.retried + " ";
        $("defense").append(strong, document.createTextNode(r.explanation));
        $("defense").dataset.defense = "retried";
      }
      $("ask-notice").textContent = (r.notices || []).join("\n");
    } catch (e) {
      $("answer-box").hidden = true;
      $("ask-error").textContent = e.message;
    } finally {
      $("ask-button").disabled = false;
    }
  });

  $("guess-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clear();
    try {
      const r = await api("/api/gandalf/guess", {level, guess: $("guess").value});
      if (r.correct) {
        if (!solved.includes(level)) solved.push(level);
        localStorage.setItem(KEY, JSON.stringify(solved));
        $("guess-ok").textContent = r.message;
        const box = $("lesson");
        box.hidden = !r.lesson;
        if (r.lesson) {  // why that attack beat that defense (textContent only: the text comes from the server's catalogue)
          box.replaceChildren();
          const h = document.createElement("strong"); h.textContent = r.lesson.title;
          const used = document.createElement("p"); used.textContent = r.lesson.used;
          const list = document.createElement("ul");
          r.lesson.defenses.forEach((d, i) => {
            if (i === 0) { used.append(" " + d); return; }
            const li = document.createElement("li"); li.textContent = d; list.append(li);
          });
          box.append(h, used, list);
        }
        $("guess").value = "";
        if (r.next_level) { level = r.next_level; $("answer-box").hidden = true; }
        show();
      } else {
        $("guess-error").textContent = r.message;
      }
    } catch (e) {
      $("guess-error").textContent = e.message;
    }
  });

  $("new-game").addEventListener("click", async () => {
    clear();
    try {
      await api("/api/gandalf/new", {});
      solved = []; localStorage.setItem(KEY, "[]"); level = 1;
      $("answer-box").hidden = true; $("guess-ok").textContent = S.new_done; show();
    } catch (e) { $("guess-error").textContent = e.message; }
  });

  show();
})();
