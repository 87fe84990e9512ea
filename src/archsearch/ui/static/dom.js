// DOM helpers. Every piece of text reaches the page through textContent or an attribute set
// by setAttribute: nothing from the server is ever parsed as HTML.

/** Build an element: h("td", {class: "num", dataset: {value: 1}}, "text", childNode, ...). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** The same for SVG elements. */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "dataset") {
      for (const [k, v] of Object.entries(value)) el.dataset[k] = String(v);
    } else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "checked" || key === "selected" || key === "value") {
      el[key] = value;
    } else {
      if (/^(href|src|action|formaction|xlink:href)$/i.test(key) && !isSafeUrl(String(value))) {
        throw new Error(`refusing URL ${value}`);
      }
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
}

function isSafeUrl(url) {
  // Only links of our own: relative paths and fragments.
  return url.startsWith("/") || url.startsWith("#");
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Remove every child of `el` and append `children`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A metric as shown everywhere: 6 significant digits, "—" when missing. */
export function fmtNum(value, digits = 6) {
  if (value === null || value === undefined) return "—";
  if (typeof value !== "number") return String(value);
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(digits)));
}

/** Seconds as "1h 02m", "3m 04s", "5.2s". */
export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  const pad = (n) => String(n).padStart(2, "0");
  return hh ? `${hh}h ${pad(mm)}m` : `${mm}m ${pad(ss)}s`;
}

/** A Unix time as local "YYYY-MM-DD HH:MM:SS". */
export function fmtTime(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const d = new Date(seconds * 1000);
  const pad = (n) => String(n).padStart(2, "0");
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

/** An architecture value as text: names, numbers, or a list of them. */
export function fmtChoice(value) {
  if (Array.isArray(value)) return value.length ? value.map(fmtChoice).join(" + ") : "∅";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

/** A status as a coloured badge. */
export function badge(status) {
  return h("span", { class: `badge status-${String(status).replace(/[^a-z-]/g, "")}` }, status);
}

/** A definition list from [term, value] pairs. */
export function dl(pairs) {
  return h("dl", { class: "facts" }, pairs.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

/** Encode a path segment for our own URLs (ids and labels may hold any character). */
export const seg = (value) => encodeURIComponent(String(value));
