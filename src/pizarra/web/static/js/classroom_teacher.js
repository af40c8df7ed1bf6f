// Classroom mode, the teacher's dashboard: students, model queues, leaderboard and attack feed
// refreshed every 2 s; switches POST to /api/classroom/teacher/*. Text goes in with textContent only.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const S = JSON.parse($("teacher-strings").textContent);
  const fmt = new Intl.NumberFormat(document.documentElement.lang || "es", {maximumFractionDigits: 1});
  const fill = (text, vars) => text.replace(/\{(\w+)\}/g, (_, k) => (k in vars ? vars[k] : ""));

  function row(cells) {
    const tr = document.createElement("tr");
    cells.forEach((c) => {
      const td = document.createElement("td");
      if (c instanceof Node) td.append(c); else td.textContent = c === null || c === undefined ? "—" : String(c);
      if (typeof c === "number") td.className = "num";
      tr.append(td);
    });
    return tr;
  }
  const secs = (s) => (s === null || s === undefined ? "—" : fmt.format(s) + " s");

  async function send(path, body) {
    $("teacher-error").textContent = ""; $("teacher-ok").textContent = "";
    try { return await Pizarra.api(path, body); } catch (e) { $("teacher-error").textContent = e.message; throw e; }
  }

  async function refresh() {
    try {
      const [st, q, lb, at] = await Promise.all([
        Pizarra.api("/api/classroom/students"), Pizarra.api("/api/classroom/queue"),
        Pizarra.api("/api/classroom/leaderboard"), Pizarra.api("/api/classroom/attacks")]);
      $("students-title").textContent = fill(S.students, {n: st.count});
      $("students-none").hidden = st.count > 0;
      $("students").querySelector("tbody").replaceChildren(...st.students.map((s) => {
        const btn = document.createElement("button");
        btn.type = "button"; btn.textContent = S.remove;
        btn.addEventListener("click", async () => {
          if (!confirm(fill(S.remove_confirm, {nickname: s.nickname}))) return;
          await send("/api/classroom/teacher/remove", {nickname: s.nickname}); refresh();
        });
        const waiting = s.queue.map((w) => w.model + (w.position ? " #" + w.position : " ▶")).join(", ");
        return row([s.nickname, s.path, secs(s.idle_s), waiting || "—", s.levels_passed, btn]);
      }));
      $("queue-none").hidden = q.models.length > 0;
      $("queue").querySelector("tbody").replaceChildren(...q.models.map((m) => row([
        m.model, m.running ? m.running.nickname + " (" + secs(m.running.for_s) + ")" : "—",
        m.waiting.map((w) => w.nickname).join(", ") || "—", secs(m.service_s), m.served, m.declined])));
      $("leaderboard").querySelector("tbody").replaceChildren(...lb.rows.map((r) => row([
        r.rank, r.nickname, r.levels_passed, r.attempts, secs(r.time_s)])));
      const techRows = [];
      Object.keys(at.by_level).sort((a, b) => a - b).forEach((lv) => {
        Object.entries(at.by_level[lv]).forEach(([tech, c]) => techRows.push(row([Number(lv), S.techniques[tech] || tech, c.tried, c.passed])));
      });
      $("techniques").querySelector("tbody").replaceChildren(...techRows);
      $("recent").querySelector("tbody").replaceChildren(...at.recent.slice(0, 20).map((f) => row([
        f.nickname, f.level, f.techniques.map((x) => S.techniques[x] || x).join(", "), f.prompt,
        f.blocked ? S.blocked + (f.defense ? " (" + f.defense + ")" : "") : S.answered])));
    } catch (e) { $("teacher-error").textContent = e.message; }
    setTimeout(refresh, 2000);
  }

  $("goto-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    await send("/api/classroom/teacher/goto", {path: $("goto-path").value});
    $("teacher-ok").textContent = S.sent;
  });
  $("sw-pause").addEventListener("change", (ev) => send("/api/classroom/teacher/pause", {value: ev.target.checked}));
  $("sw-sandbox").addEventListener("change", (ev) => send("/api/classroom/teacher/sandbox", {value: ev.target.checked}));
  $("sw-model").addEventListener("change", (ev) => send("/api/classroom/teacher/model", {chat_model: ev.target.value}));
  document.querySelectorAll(".locks input").forEach((box) => box.addEventListener("change", () =>
    send("/api/classroom/teacher/gandalf", {level: Number(box.dataset.level), locked: !box.checked})));
  refresh();
})();
