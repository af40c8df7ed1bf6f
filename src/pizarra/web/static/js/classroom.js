// Classroom mode, on every page (base.html loads it only when the lab serves a class):
//   - a badge with the student's nickname, and while a model request waits: its place in the queue
//     and an estimate (from GET /api/classroom/me, which knows every model queue);
//   - "send everyone to": when the teacher sends the class to a page, every student page opens it
//     (each order once; a page opened after the order does not jump).
(function () {
  "use strict";
  const S = JSON.parse(document.getElementById("classroom-strings").textContent);
  const badge = document.createElement("div");
  badge.id = "classroom-badge";
  badge.setAttribute("role", "status");
  badge.setAttribute("aria-live", "polite");
  const who = document.createElement("span");
  who.className = "who";
  const state = document.createElement("span");
  state.className = "state";
  badge.append(who, state);
  document.body.append(badge);

  let pending = 0;  // model-bound requests of this page still open
  const origFetch = window.fetch.bind(window);
  window.fetch = function (input, init) {
    const url = typeof input === "string" ? input : (input && input.url) || "";
    if (!url.includes("/api/") || url.includes("/api/classroom/")) return origFetch(input, init);
    pending += 1;
    schedule(800);
    const done = () => { pending = Math.max(0, pending - 1); };
    return origFetch(input, init).then((r) => {
      const ct = r.headers.get("content-type") || "";
      if (ct.includes("event-stream") && r.body) {  // streams: still pending until the body ends
        const [a, b] = r.body.tee();
        const reader = b.getReader();
        (function drain() { reader.read().then((x) => (x.done ? done() : drain()), done); })();
        return new Response(a, {status: r.status, statusText: r.statusText, headers: r.headers});
      }
      done();
      return r;
    }, (e) => { done(); throw e; });
  };

  const fill = (text, vars) => text.replace(/\{(\w+)\}/g, (_, k) => (k in vars ? vars[k] : ""));
  let timer = null;
  function schedule(ms) { clearTimeout(timer); timer = setTimeout(poll, ms); }

  async function poll() {
    let me = null;
    try {
      const res = await origFetch("/api/classroom/me?path=" + encodeURIComponent(location.pathname),
                                  {headers: {"Accept": "application/json"}});
      if (res.status === 401) {  // removed by the teacher (or the server restarted): join again
        if (location.pathname !== "/unirse") location.assign("/unirse?next=" + encodeURIComponent(location.pathname));
        return;
      }
      me = await res.json();
    } catch (e) { schedule(5000); return; }
    who.textContent = me.role === "teacher" ? S.teacher : (me.nickname || "");
    const c = me.controls || {};
    let text = "";
    const waiting = (me.queue || []).filter((q) => q.position > 0).sort((a, b) => a.position - b.position)[0];
    if (c.paused && me.role !== "teacher") text = S.paused;
    else if (waiting) text = fill(S.queue, {model: waiting.model, position: waiting.position, eta: waiting.eta_s});
    else if (pending > 0 && (me.queue || []).length) text = S.running;
    state.textContent = text;
    badge.classList.toggle("busy", !!text);
    if (me.role === "student") {
      const stored = localStorage.getItem("pizarra-goto-seq");  // null: this browser's first page of the class
      localStorage.setItem("pizarra-goto-seq", String(c.goto_seq || 0));
      if (stored !== null && (c.goto_seq || 0) > Number(stored) && c.goto && c.goto !== location.pathname) {
        state.textContent = S.following;
        location.assign(c.goto);
        return;
      }
    }
    schedule(pending > 0 ? 1000 : 3000);
  }
  poll();
})();
