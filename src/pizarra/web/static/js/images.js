// Chapter 10's labs in the browser: each form calls one /api/images/* endpoint and draws PNG data URIs.
// Its data and words: the page's JSON block (Pizarra.data()).
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const lang = document.documentElement.lang || "es";
  const D = Pizarra.data(), T = D.strings;
  const esc = Pizarra.esc;

  const api = Pizarra.api;
  const pic = (src, label, cls) => `<figure class="pic ${cls || ""}"><img src="${src}" alt="${esc(label)}"><figcaption>${esc(label)}</figcaption></figure>`;
  const classes = (list) => list.map((c) => `<span class="chip">${esc(c[lang])} · ${Pizarra.num(c.score, 2)}</span>`).join("");
  const num = (id, dflt) => { const v = parseFloat($(id).value); return Number.isFinite(v) ? v : dflt; };

  // Run a form: disable its button, clear its boxes, show errors and the caption notice.
  function lab(prefix, run) {
    $(prefix + "-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const button = $(prefix + "-button");
      button.disabled = true;
      $(prefix + "-error").textContent = "";
      if ($(prefix + "-notice")) $(prefix + "-notice").textContent = "";
      try { await run(); } catch (e) { $(prefix + "-error").textContent = e.message; }
      finally { button.disabled = false; }
    });
  }
  const notices = (prefix, ...infos) => {
    $(prefix + "-notice").textContent = infos.map((i) => i && i.notice).filter(Boolean).join("\n");
  };

  // ----------------------------------------------------------------------- text -> image search
  lab("search", async () => {
    const r = await api(`/api/images/search?q=${encodeURIComponent($("search-q").value)}&k=${num("search-k", 8)}`);
    notices("search", r);
    $("search-classes").innerHTML = classes(r.classes);
    $("search-results").innerHTML = r.results.map((p) => pic(p.image, `${p[lang]} · ${Pizarra.num(p.score, 2)}`)).join("");
  });

  // ----------------------------------------------- gallery: image -> text, and A/B for the LERP
  let pickA = null, pickB = null;
  document.querySelectorAll("#gallery button.pick").forEach((b) => b.addEventListener("click", async () => {
    const i = parseInt(b.dataset.index, 10);
    [pickA, pickB] = pickB === null && pickA !== null && pickA !== i ? [pickA, i] : [i, null];
    document.querySelectorAll("#gallery .pic").forEach((f) => {
      const j = parseInt(f.dataset.index, 10);
      f.classList.toggle("sel-a", j === pickA); f.classList.toggle("sel-b", j === pickB);
    });
    $("lerpimg-a").textContent = "A: " + (pickA === null ? "–" : pickA);
    $("lerpimg-b").textContent = "B: " + (pickB === null ? "–" : pickB);
    $("describe-error").textContent = "";
    try {
      const r = await api(`/api/images/describe?index=${i}&k=5`);
      $("describe-out").innerHTML = `<span class="chip"><b>${esc(r[lang])}</b> →</span>` + classes(r.classes);
    } catch (e) { $("describe-error").textContent = e.message; }
  }));

  // ------------------------------------------------------------------------- LERP of captions
  const pathTable = (points, key, keyLabel) =>
    `<p class="row-label">${esc(keyLabel)}</p><div class="pics">` +
    points.map((p) => pic(p[key], `t=${Pizarra.num(p.t, 2)} · ${p.classes[0][lang]}`)).join("") + `</div>` +
    `<p class="row-label">${esc(T.nearest)}</p><div class="pics">` +
    points.map((p) => pic(p.nearest.image, p.nearest[lang])).join("") + `</div>`;
  lab("lerp", async () => {
    const r = await api("/api/images/interpolate", {a: $("lerp-a").value, b: $("lerp-b").value,
      points: num("lerp-points", 7), seed: num("lerp-seed", 0)});
    notices("lerp", r.a, r.b);
    $("lerp-out").innerHTML = pathTable(r.points, "image", T.lerp_gen);
  });

  // ------------------------------------------------------------------------- LERP of pictures
  lab("lerpimg", async () => {
    if (pickA === null || pickB === null) throw new Error(T.pick);
    const r = await api(`/api/images/interpolate-images?i=${pickA}&j=${pickB}&points=7`);
    $("lerpimg-out").innerHTML = pathTable(r.points, "latent", T.lerp_latent);
  });

  // ------------------------------------------------------------------------ caption + caption
  lab("sum", async () => {
    const r = await api("/api/images/arithmetic", {terms: [
      {weight: num("sum-wa", 1), caption: $("sum-a").value}, {weight: num("sum-wb", 1), caption: $("sum-b").value}], n: 8, k: 8});
    notices("sum", ...r.terms);
    $("sum-classes").innerHTML = classes(r.classes);
    $("sum-gen-label").hidden = false; $("sum-near-label").hidden = false;
    $("sum-gen").innerHTML = r.images.map((src, i) => pic(src, "#" + (i + 1))).join("");
    $("sum-near").innerHTML = r.nearest.map((p) => pic(p.image, `${p[lang]} · ${Pizarra.num(p.score, 2)}`)).join("");
  });

  // -------------------------------------------------------------------------------- generate
  lab("gen", async () => {
    $("gen-out").innerHTML = ""; $("gen-time").textContent = "";
    const r = await api("/api/images/generate", {caption: $("gen-caption").value, n: num("gen-n", 16),
      steps: num("gen-steps", 40), guidance: num("gen-guidance", D.guidance), seed: num("gen-seed", 0), method: $("gen-method").value});
    notices("gen", r);
    $("gen-classes").innerHTML = classes(r.classes);
    const names = D.classes;
    const want = r.classes[0]["class"];
    $("gen-out").innerHTML = r.images.map((src, i) => {
      const j = r.judge ? r.judge[i] : null;
      const label = j === null ? "#" + (i + 1) : `${T.judge}: ${names[j][lang]}`;
      return pic(src, label, j !== null && j !== want ? "wrong" : "");
    }).join("");
    $("gen-time").textContent = `${r.n} × ${r.steps} ${T.steps_label}, ${r.method.toUpperCase()}, w=${r.guidance}: ${Pizarra.num(r.seconds, 2)} ${T.seconds}`;
  });

  // ----------------------------------------------------------------------------- steps viewer
  lab("steps", async () => {
    const r = await api("/api/images/steps", {caption: $("steps-caption").value,
      guidance: num("steps-guidance", D.guidance), seed: num("steps-seed", 0)});
    notices("steps", r);
    $("steps-out").innerHTML = r.frames.map((f) => pic(f.image, T.steps_frame.replace("{n}", Pizarra.num(f.steps)), "big")).join("");
  });
})();
