// Jobs page: POST /api/jobs, then follow GET /api/jobs/{id}/events (SSE) until a final status.
(function () {
  const $ = (id) => document.getElementById(id);
  const FINAL = new Set(["done", "failed", "cancelled", "interrupted"]);
  // The API's machine words (status, the runner's own sentences) as the page's language says them
  const TEXTS = JSON.parse(document.getElementById("job-texts").textContent);
  const statusText = (s) => TEXTS.status[s] || s;
  const errorText = (e) => TEXTS.error[e] || e;
  let source = null, current = null;

  const api = Pizarra.api;

  async function refreshTable() {
    const data = await api("/api/jobs?limit=10");
    const rows = (data.jobs || data).map((j) =>
      `<tr><td>${j.id}</td><td>${j.kind}</td><td>${statusText(j.status)}</td>` +
      `<td>${j.error ? errorText(j.error) : (j.result ? JSON.stringify(j.result).slice(0, 80) : "")}</td></tr>`);
    document.querySelector("#job-table tbody").innerHTML = rows.join("");
  }

  function follow(job) {
    current = job.id;
    $("job-live").hidden = false;
    $("job-id").textContent = "#" + job.id;
    $("job-status").textContent = statusText(job.status);
    $("job-cancel").disabled = false;
    source = new EventSource(`/api/jobs/${job.id}/events`);
    source.onmessage = (msg) => {
      const ev = JSON.parse(msg.data);
      if (ev.type === "progress" && ev.total) {
        $("job-progress").max = ev.total;
        $("job-progress").value = ev.step;
        $("job-step").textContent = `${ev.step} / ${ev.total}`;
        if (ev.metrics) $("job-metrics").textContent = JSON.stringify(ev.metrics);
      }
      if (ev.type === "status") {
        $("job-status").textContent = statusText(ev.status) + (ev.error ? ": " + errorText(ev.error) : "");
        if (FINAL.has(ev.status)) {   // close only on a final status: the browser reconnects otherwise
          source.close();
          $("job-cancel").disabled = true;
          if (ev.result) $("job-metrics").textContent = JSON.stringify(ev.result);
          refreshTable();
        }
      }
    };
  }

  $("job-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    $("job-error").hidden = true;
    const opt = $("job-kind").selectedOptions[0];
    try {
      const job = await api("/api/jobs", {kind: opt.value, params: JSON.parse(opt.dataset.params)});
      if (source) source.close();
      follow(job);
      refreshTable();
    } catch (err) {
      $("job-error").textContent = err.message;
      $("job-error").hidden = false;
    }
  });

  $("job-cancel").addEventListener("click", async () => {
    if (current) {
      try { await api(`/api/jobs/${current}/cancel`, {}); } catch (err) { /* already finished */ }
    }
  });

  refreshTable();
})();
