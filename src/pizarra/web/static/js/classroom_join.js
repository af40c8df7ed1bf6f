// Classroom mode, the join page: POST /api/classroom/join, then open the page the student came for.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const S = JSON.parse($("join-strings").textContent);
  const form = $("join-form");
  if (!$("join-nickname").value && $("join-code").value) $("join-nickname").focus();
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("join-error").textContent = "";
    $("join-button").disabled = true;
    $("join-button").textContent = S.joining;
    try {
      await Pizarra.api("/api/classroom/join", {code: $("join-code").value, nickname: $("join-nickname").value});
      const next = form.dataset.next || "/";
      location.assign(next.startsWith("/") && !next.startsWith("//") ? next : "/");
    } catch (e) {
      $("join-error").textContent = e.message;
      $("join-button").disabled = false;
      $("join-button").textContent = S.submit;
    }
  });
})();
