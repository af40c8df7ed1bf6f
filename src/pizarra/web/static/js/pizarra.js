// What every chapter page's script needs, written once (loaded by base.html before the chapter's own).
//   Pizarra.api(url, body)  POST body as JSON (GET when body is undefined), in the page's language;
//                           resolves to the JSON answer, throws Error(message in words) on 4xx/5xx
//   Pizarra.esc(text)       text safe to put inside HTML
//   Pizarra.num(x, digits)  x in the page's language with Intl.NumberFormat (es 1,56 · 16.000; en 1.56 · 16,000):
//                           exactly ``digits`` decimals, or up to 3 when digits is left out (Babel does the same
//                           on the server: pizarra.web.i18n.number)
//   Pizarra.pct(p, digits)  the fraction p as a percentage in the page's language (es 90,9 %; en 90.9%)
window.Pizarra = (function () {
  "use strict";
  const lang = document.documentElement.lang || "es";

  async function api(url, body) {
    const opts = body !== undefined
      ? {method: "POST", headers: {"Content-Type": "application/json", "Accept": "application/json"}, body: JSON.stringify(body)}
      : {headers: {"Accept": "application/json"}};
    const res = await fetch(url + (url.includes("?") ? "&" : "?") + "lang=" + lang, opts);
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error((data.error && data.error.message) || res.statusText);
    return data;
  }

  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));

  const formats = new Map();
  function format(key, options) {
    if (!formats.has(key)) formats.set(key, new Intl.NumberFormat(lang, options));
    return formats.get(key);
  }
  function num(x, digits) {
    if (x === null || x === undefined || Number.isNaN(Number(x))) return "–";
    const options = digits === undefined ? {maximumFractionDigits: 3}
                                         : {minimumFractionDigits: digits, maximumFractionDigits: digits};
    return format("n" + digits, options).format(x);
  }
  function pct(p, digits = 1) {
    if (p === null || p === undefined || Number.isNaN(Number(p))) return "–";
    return format("p" + digits, {style: "percent", minimumFractionDigits: digits, maximumFractionDigits: digits}).format(p);
  }

  return {api, esc, lang, num, pct};
})();
