// What every chapter page's script needs, written once (loaded by base.html before the chapter's own).
//   Pizarra.api(url, body, {method, signal})  POST body as JSON (GET when body is undefined; another
//                           method when given), in the page's language; resolves to the JSON answer,
//                           throws Error(message in words) on 4xx/5xx; an AbortController's signal cancels it
//   Pizarra.sse(url, body, onEvent, signal)  POST body, read the server-sent events of the answer: onEvent(dict)
//                           for each; throws Error(message in words) on 4xx/5xx or an ``error`` event; an
//                           AbortController's signal stops it (the server stops the model at its next token)
//   Pizarra.data(id)        the page's data and words: the JSON block <script type="application/json" id="page-data">
//                           (every chapter page has one; its script is static/js/<chapter>.js)
//   Pizarra.esc(text)       text safe to put inside HTML
//   Pizarra.num(x, digits)  x in the page's language with Intl.NumberFormat (es 1,56 · 16.000; en 1.56 · 16,000):
//                           exactly ``digits`` decimals, or up to 3 when digits is left out (Babel does the same
//                           on the server: pizarra.i18n.number)
//   Pizarra.pct(p, digits)  the fraction p as a percentage in the page's language (es 90,9 %; en 90.9%)
//   Pizarra.separators      the decimal and thousands marks of the page's language, for Plotly's
//                           ``layout.separators`` (es ",." · en ".,"): a chart's ticks then read like Pizarra.num
//   Pizarra.plotTitle(text, el, size)  {title, top}: a Plotly ``layout.title`` for the chart in element el (or its
//                           id), broken into lines between words (<br>) to fit el's width, and the top margin in px
//                           that it needs (``layout.margin.t``). Plotly never wraps a title: on a phone a long one
//                           is cut at both edges, and its automargin puts a title of several lines over the chart
window.Pizarra = (function () {
  "use strict";
  const lang = document.documentElement.lang || "es";

  // fetch, but a request that never reached the server says so in the page's language (the browser's
  // own "Failed to fetch" is English); an abort (Cancel, Stop) stays an AbortError for the caller.
  async function reach(url, opts) {
    try {
      return await fetch(url, opts);
    } catch (e) {
      if (e && e.name === "AbortError") throw e;
      const el = document.getElementById("pizarra-strings");
      throw new Error((el && JSON.parse(el.textContent).network) || (e && e.message) || String(e));
    }
  }

  async function api(url, body, {method, signal} = {}) {
    const opts = body !== undefined
      ? {method: method || "POST", signal, headers: {"Content-Type": "application/json", "Accept": "application/json"}, body: JSON.stringify(body)}
      : {method: method || "GET", signal, headers: {"Accept": "application/json"}};
    const res = await reach(url + (url.includes("?") ? "&" : "?") + "lang=" + lang, opts);
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error((data.error && data.error.message) || res.statusText);
    return data;
  }

  async function sse(url, body, onEvent, signal) {
    const res = await reach(url + (url.includes("?") ? "&" : "?") + "lang=" + lang, {method: "POST", signal,
      headers: {"Content-Type": "application/json", "Accept": "text/event-stream"}, body: JSON.stringify(body)});
    if (!res.ok) {
      const data = await res.json().catch(() => ({}));
      throw new Error((data.error && data.error.message) || res.statusText);
    }
    const reader = res.body.getReader(), decoder = new TextDecoder();
    let buf = "";
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      buf += decoder.decode(value, {stream: true});
      let cut;
      while ((cut = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, cut); buf = buf.slice(cut + 2);
        for (const line of block.split("\n")) {
          if (!line.startsWith("data: ")) continue;
          const ev = JSON.parse(line.slice(6));
          if (ev.type === "error") throw new Error(ev.message);
          onEvent(ev);
        }
      }
    }
  }

  const data = (id = "page-data") => JSON.parse(document.getElementById(id).textContent);

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

  const marks = num(16000.5, 1).replace(/\d/g, "");  // es "16.000,5" → ".,"
  const separators = marks.length === 2 ? marks[1] + marks[0] : marks + " ";

  function plotTitle(text, el, size = 16) {
    const box = typeof el === "string" ? document.getElementById(el) : el;
    const width = (box && box.clientWidth) || 600;
    const perLine = Math.max(12, Math.floor((width - 24) / (0.62 * size)));  // characters of about 0.6 em
    const lines = [];
    for (const word of String(text).split(" ")) {
      const last = lines.length - 1;
      if (last >= 0 && (lines[last] + " " + word).length <= perLine) lines[last] += " " + word;
      else lines.push(word);
    }
    const title = {text: lines.join("<br>"), font: {size}, yref: "container", y: 1, yanchor: "top", pad: {t: 18}};
    return {title, top: 24 + Math.ceil(1.25 * size) * lines.length};  // from the figure's top edge down
  }

  return {api, sse, data, esc, lang, num, pct, separators, plotTitle};
})();
