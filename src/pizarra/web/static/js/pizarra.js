// What every chapter page's script needs, written once (loaded by base.html before the chapter's own).
//   Pizarra.api(url, body)  POST body as JSON (GET when body is undefined), in the page's language;
//                           resolves to the JSON answer, throws Error(message in words) on 4xx/5xx
//   Pizarra.esc(text)       text safe to put inside HTML
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

  return {api, esc, lang};
})();
