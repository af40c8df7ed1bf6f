// Jobs page: a form per job kind, built from its parameter schema (GET-free: the kinds come in the
// page's data block); POST /api/jobs, then follow GET /api/jobs/{id}/events (SSE) until a final
// status, drawing the loss curve as the events arrive: the train loss of each ``progress`` event
// and the val loss of each ``eval`` (see pizarra.train.progress and pizarra.jobs.trainings).
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const FINAL = new Set(["done", "failed", "cancelled", "interrupted"]);
  const DATA = Pizarra.data();
  const T = DATA.texts;  // the page's words: status, error (the runner's sentences), field, stage, metric, ui
  const KINDS = Object.fromEntries(DATA.kinds.map((k) => [k.kind, k]));
  const statusText = (s) => T.status[s] || s;
  const errorText = (e) => T.error[e] || e;
  const ui = (key, values = {}) => (T.ui[key] || key).replace(/\{(\w+)\}/g, (_, name) => values[name] ?? "");
  const api = Pizarra.api;
  let source = null, current = null, curve = null, drawTimer = null;

  // ---- numbers in the page's language ---------------------------------------------------------
  const COUNTS = new Set(["params", "steps", "vocab", "count", "n_test"]);
  function fmt(key, value) {
    if (typeof value !== "number") return String(value);
    if (/_acc$/.test(key)) return Pizarra.pct(value, 1);
    if (COUNTS.has(key) || Number.isInteger(value)) return Pizarra.num(value, 0);
    if (key === "train_seconds") return Pizarra.num(value, 1);
    return Pizarra.num(value, Math.abs(value) >= 0.01 ? 3 : 5);
  }

  // ---- the form: one field per property of the kind's schema ---------------------------------
  function property(spec) {  // ``int | None`` is anyOf [{type: integer, …}, {type: null}]
    if (!spec.anyOf) return spec;
    const real = spec.anyOf.find((s) => s.type !== "null") || {};
    return {...real, default: spec.default, nullable: true};
  }

  function rangeText(p) {
    const min = p.minimum ?? p.exclusiveMinimum, max = p.maximum ?? p.exclusiveMaximum;
    if (min === undefined || max === undefined) return "";
    return ui("range", {min: Pizarra.num(min), max: Pizarra.num(max)});
  }

  function buildForm() {
    const kind = KINDS[$("job-kind").value];
    $("job-help").textContent = kind.help || "";
    const blocked = kind.needs_data && !DATA.has_data;
    $("job-needs-data").hidden = !blocked;
    $("job-start").disabled = blocked;
    const fields = [];
    const props = kind.schema.properties || {};
    for (const name of kind.fields) {  // in the model's order (the JSON block has its keys sorted)
      const p = property(props[name]);
      const label = document.createElement("label");
      label.className = "job-field";
      const title = document.createElement("span");
      title.textContent = T.field[name] || name;
      let input;
      if (p.enum) {
        input = document.createElement("select");
        for (const value of p.enum) input.append(new Option(value, value));
      } else {
        input = document.createElement("input");
        const numeric = p.type === "integer" || p.type === "number";
        input.type = numeric ? "number" : "text";
        if (numeric) {
          input.step = p.type === "integer" ? "1" : "any";
          if (p.minimum !== undefined) input.min = p.minimum;
          if (p.maximum !== undefined) input.max = p.maximum;
        }
      }
      input.id = "job-param-" + name;
      input.name = name;
      input.dataset.type = p.type || "string";
      input.dataset.nullable = p.nullable ? "1" : "";
      const value = name in kind.preset ? kind.preset[name] : p.default;
      input.value = value === null || value === undefined ? "" : String(value);
      const hint = document.createElement("small");
      hint.textContent = [rangeText(p), p.nullable ? ui("optional") : ""].filter(Boolean).join(" ");
      label.append(title, input, hint);
      fields.push(label);
    }
    $("job-fields").replaceChildren(...fields);
  }

  function readParams() {
    const params = {};
    for (const input of $("job-fields").querySelectorAll("input, select")) {
      const text = input.value.trim();
      if (text === "" && input.dataset.nullable) continue;
      const numeric = input.dataset.type === "integer" || input.dataset.type === "number";
      params[input.name] = numeric && text !== "" ? Number(text) : text;  // the server says what is wrong
    }
    return params;
  }

  // ---- the loss curve -------------------------------------------------------------------------
  function resetCurve() {
    curve = {unit: "step", train: {x: [], y: []}, val: {x: [], y: []}};
    $("job-chart").hidden = true;
  }

  function addPoint(series, x, y) {
    if (typeof y !== "number" || !Number.isFinite(y) || typeof x !== "number") return;
    series.x.push(x);
    series.y.push(y);
    if (!drawTimer) drawTimer = setTimeout(draw, 200);  // at most five redraws a second
  }

  function draw() {
    drawTimer = null;
    if (!curve || !window.Plotly || curve.train.x.length + curve.val.x.length === 0) return;
    $("job-chart").hidden = false;
    // copies: Plotly.react compares arrays by identity, and would not redraw arrays that only grew
    Plotly.react("job-chart", [
      {type: "scatter", mode: "lines", name: ui("train_trace"), x: curve.train.x.slice(), y: curve.train.y.slice(),
       line: {color: "#1f77b4", width: 2}},
      {type: "scatter", mode: "lines+markers", name: ui("val_trace"), x: curve.val.x.slice(), y: curve.val.y.slice(),
       line: {color: "#d62728", width: 2}, marker: {size: 7}},
    ], {
      title: {text: ui("chart_title")}, separators: Pizarra.separators, height: 360,
      margin: {l: 60, r: 16, t: 48, b: 80},
      xaxis: {title: {text: ui(curve.unit === "epoch" ? "x_epoch" : "x_step")}, rangemode: "tozero"},
      yaxis: {title: {text: ui("y_loss")}},
      legend: {orientation: "h", x: 0, y: -0.25},
    }, {responsive: true, displaylogo: false});
  }

  // ---- one job's events -----------------------------------------------------------------------
  function showMetrics(metrics) {
    const keys = ["loss", "train_loss", "val_loss", "val_acc"].filter((k) => typeof metrics[k] === "number");
    if (keys.length) $("job-metrics").textContent = keys.map((k) => `${T.metric[k] || k} ${fmt(k, metrics[k])}`).join(" · ");
  }

  function setProgress(step, total) {
    $("job-progress").max = total;
    $("job-progress").value = step;
    $("job-step").textContent = `${step} / ${total}`;
  }

  function showResult(result) {
    const box = $("job-result");
    const parts = [];
    if (result && result.stopped) {
      parts.push(`<p>${Pizarra.esc(ui("stopped"))}</p>`);
    } else if (result && result.artifact) {
      parts.push(`<p>${Pizarra.esc(ui("artifact"))} <code id="job-artifact">${Pizarra.esc(result.artifact)}</code></p>`);
      parts.push(`<p class="note">${Pizarra.esc(ui("card"))} <code>${Pizarra.esc(result.card)}</code></p>`);
      parts.push(summaryList(result.summary || {}));
      if (result.chapter) parts.push(`<p><a id="job-chapter" href="${Pizarra.esc(result.chapter)}">${Pizarra.esc(ui("chapter_link"))}</a></p>`);
    } else if (result && typeof result === "object") {
      parts.push(summaryList(result));
    }
    box.innerHTML = parts.join("");
    box.hidden = parts.length === 0;
  }

  function summaryList(values) {
    const rows = Object.entries(values).filter(([, v]) => ["number", "string", "boolean"].includes(typeof v));
    if (!rows.length) return "";
    return `<dl id="job-summary">${rows.map(([k, v]) =>
      `<dt>${Pizarra.esc(T.metric[k] || k)}</dt><dd>${Pizarra.esc(fmt(k, v))}</dd>`).join("")}</dl>`;
  }

  function onEvent(ev) {
    if (ev.type === "start") {
      if (ev.unit) curve.unit = ev.unit;
      if (ev.total) setProgress(ev.step || 0, ev.total);
    } else if (ev.type === "progress") {
      if (ev.total) setProgress(ev.step, ev.total);
      if (ev.metrics && ev.stage === undefined) {
        addPoint(curve.train, ev.step, ev.metrics.loss);
        showMetrics(ev.metrics);
      }
    } else if (ev.type === "eval") {
      addPoint(curve.val, ev.step, ev.metrics && ev.metrics.val_loss);
      showMetrics(ev.metrics || {});
    } else if (ev.type === "stage") {
      $("job-stage").textContent = "· " + (T.stage[ev.stage] || ev.stage);
    } else if (ev.type === "status") {
      $("job-status").textContent = statusText(ev.status) + (ev.error ? ": " + (ev.error_text || errorText(ev.error)) : "");
      if (FINAL.has(ev.status)) {  // close only on a final status: the browser reconnects otherwise
        source.close();
        $("job-cancel").disabled = true;
        $("job-stage").textContent = "";
        showResult(ev.result);
        draw();
        refreshTable();
      }
    }
  }

  function follow(job) {
    if (source) source.close();
    current = job.id;
    resetCurve();
    $("job-live").hidden = false;
    $("job-id").textContent = "#" + job.id;
    $("job-status").textContent = statusText(job.status);
    $("job-stage").textContent = "";
    $("job-metrics").textContent = "";
    $("job-step").textContent = "";
    $("job-progress").value = 0;
    showResult(null);
    $("job-cancel").disabled = FINAL.has(job.status);
    source = new EventSource(`/api/jobs/${job.id}/events`);
    source.onmessage = (msg) => onEvent(JSON.parse(msg.data));
  }

  // ---- the table of recent jobs ---------------------------------------------------------------
  let jobs = [];
  function resultCell(j) {
    if (j.error) return Pizarra.esc(j.error_text || errorText(j.error));
    if (!j.result) return "";
    if (j.result.stopped) return Pizarra.esc(ui("stopped_short"));
    if (j.result.artifact) {  // the part after <cache>/user-artifacts/: kind, job, model; the whole path on hover
      const short = j.result.artifact.split(/[\\/]user-artifacts[\\/]/).pop();
      return `<code title="${Pizarra.esc(j.result.artifact)}">${Pizarra.esc(short)}</code>`;
    }
    return Pizarra.esc(JSON.stringify(j.result).slice(0, 80));
  }

  async function refreshTable() {
    const data = await api("/api/jobs?limit=10");
    jobs = data.jobs || data;
    const rows = jobs.map((j) =>
      `<tr><td><button type="button" data-job="${j.id}" title="${Pizarra.esc(ui("view"))}">${j.id}</button></td>` +
      `<td>${Pizarra.esc(j.kind)}</td><td>${Pizarra.esc(statusText(j.status))}</td><td>${resultCell(j)}</td></tr>`);
    document.querySelector("#job-table tbody").innerHTML = rows.join("");
    return jobs;
  }

  document.querySelector("#job-table tbody").addEventListener("click", (e) => {
    const button = e.target.closest("button[data-job]");
    const job = button && jobs.find((j) => String(j.id) === button.dataset.job);
    if (job) follow(job);
  });

  $("job-kind").addEventListener("change", buildForm);

  $("job-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    $("job-error").hidden = true;
    try {
      const job = await api("/api/jobs", {kind: $("job-kind").value, params: readParams()});
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

  buildForm();
  refreshTable().then((list) => {  // a job still running (the page was reloaded): follow it
    const running = list.find((j) => j.status === "running" || j.status === "queued");
    if (running && current === null) follow(running);
  }).catch(() => {});
})();
