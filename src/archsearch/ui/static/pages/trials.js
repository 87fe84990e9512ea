// Trials: a server-side sorted, filtered and paginated table (fast at 10,000 trials); ticking
// rows overlays their intermediate-metric curves.

import { get } from "../api.js";
import { choiceText } from "../arch.js";
import { axis, chartBox, draw } from "../charts.js";
import { badge, fmtDuration, fmtNum, fmtTime, h, replace, seg } from "../dom.js";

const STATUSES = ["waiting", "running", "succeeded", "failed", "timeout", "cancelled"];
const PAGE_SIZES = [25, 50, 100, 200];
const MAX_SELECTED = 50;
const FIXED = [
  ["id", "ID"],
  ["status", "Status"],
  ["metric", "Metric"],
  ["duration", "Duration"],
  ["started_at", "Started"],
];

export async function mount(root, params) {
  const id = params.id;
  const state = { offset: 0, limit: 50, sort: "id", order: "asc", status: "", arch: {}, selected: new Set() };
  const [space, first] = await Promise.all([get(`experiments/${seg(id)}/space`), fetchPage(id, state)]);
  const choices = space ? space.choices : [];

  const table = h("table", { class: "grid trials", id: "trials-table" });
  const info = h("span", { class: "page-info", id: "page-info" });
  const pager = h("div", { class: "pager" });
  const statusSelect = h(
    "select",
    { id: "status-filter", "aria-label": "status filter", onchange: () => { state.status = statusSelect.value; state.offset = 0; refresh(); } },
    h("option", { value: "" }, "all statuses"),
    STATUSES.map((s) => h("option", { value: s }, s)),
  );
  const sizeSelect = h(
    "select",
    { id: "page-size", "aria-label": "rows per page", onchange: () => { state.limit = Number(sizeSelect.value); state.offset = 0; refresh(); } },
    PAGE_SIZES.map((n) => h("option", { value: String(n), selected: n === state.limit }, `${n} rows`)),
  );
  const clear = h("button", { type: "button", id: "clear-filters", onclick: () => {
    state.arch = {}; state.status = ""; statusSelect.value = ""; state.offset = 0; refresh();
  } }, "Clear filters");
  const problem = h("p", { class: "error-text", id: "trials-error", hidden: true });
  const overlayNote = h("p", { class: "muted", id: "overlay-note" }, "Tick trials to overlay their intermediate metrics.");
  const metricSelect = h("select", { id: "curve-metric", "aria-label": "curve metric", hidden: true, onchange: () => drawOverlay().catch(() => {}) });
  const overlay = chartBox(320);
  overlay.id = "overlay-chart";
  overlay.hidden = true;

  replace(
    root,
    h("h1", {}, "Trials"),
    h("div", { class: "toolbar" }, statusSelect, sizeSelect, clear, info, pager),
    problem,
    h("div", { class: "table-wrap" }, table),
    h("section", { class: "card" }, h("h2", {}, "Intermediate metrics"), overlayNote, metricSelect, overlay),
  );

  function render(data) {
    drawTable(table, data, choices, state, params.id, {
      sort: (key) => {
        state.order = state.sort === key && state.order === "asc" ? "desc" : state.sort === key ? "asc" : key === "metric" ? "desc" : "asc";
        state.sort = key;
        state.offset = 0;
        refresh();
      },
      filter: (label, value) => {
        if (value === "") delete state.arch[label];
        else state.arch[label] = JSON.parse(value);
        state.offset = 0;
        refresh();
      },
      select: (trialId, on) => {
        if (on && state.selected.size < MAX_SELECTED) state.selected.add(trialId);
        else state.selected.delete(trialId);
        drawOverlay().catch((error) => { overlayNote.textContent = String(error.message || error); });
      },
    });
    const last = Math.min(data.offset + data.trials.length, data.total);
    info.textContent = data.total ? `${data.offset + 1}–${last} of ${data.total}` : "no matching trials";
    info.dataset.total = String(data.total);
    drawPager(pager, data, (offset) => { state.offset = offset; refresh(); });
  }

  let pending = 0;
  async function refresh() {
    const ticket = ++pending;
    try {
      const data = await fetchPage(id, state);
      if (ticket === pending) {
        problem.hidden = true;
        render(data);
      }
    } catch (error) {
      if (ticket === pending) {
        problem.hidden = false;
        problem.textContent = String(error.message || error);
      }
    }
  }

  let curveCache = new Map();
  async function drawOverlay() {
    const ids = [...state.selected].sort((a, b) => a - b);
    overlay.hidden = metricSelect.hidden = ids.length === 0;
    overlayNote.textContent = ids.length
      ? `Trials ${ids.map((i) => `#${i}`).join(", ")}`
      : "Tick trials to overlay their intermediate metrics.";
    if (!ids.length) return;
    const missing = ids.filter((i) => !curveCache.has(i));
    if (missing.length) {
      const got = await get(`experiments/${seg(id)}/curves`, { trials: missing.join(",") });
      for (const [k, points] of Object.entries(got.curves)) curveCache.set(Number(k), points);
    }
    const keys = [...new Set(ids.flatMap((i) => curveCache.get(i).flatMap((p) => Object.keys(p.metrics))))];
    const chosen = keys.includes(metricSelect.value) ? metricSelect.value : keys.includes("default") ? "default" : keys[0];
    replace(metricSelect, keys.map((k) => h("option", { value: k, selected: k === chosen }, k)));
    const traces = ids.map((i) => {
      const points = curveCache.get(i).filter((p) => p.metrics[chosen] !== undefined);
      return { x: points.map((p) => p.step), y: points.map((p) => p.metrics[chosen]), mode: "lines+markers", type: "scatter", name: `#${i}` };
    });
    const steps = Math.max(0, ...traces.map((t) => t.x.length));
    await draw(overlay, traces, {
      xaxis: axis("step", steps && steps <= 20 ? { dtick: 1 } : {}),
      yaxis: axis(chosen ?? "metric"),
      showlegend: true,
    });
    overlay.dataset.traces = String(traces.length);
  }

  render(first);
  return {
    async update() {
      curveCache = new Map(); // curves of running trials grow
      await refresh();
      if (state.selected.size) await drawOverlay();
    },
  };
}

function fetchPage(id, state) {
  return get(`experiments/${seg(id)}/trials`, {
    offset: state.offset,
    limit: state.limit,
    sort: state.sort,
    order: state.order,
    status: state.status,
    arch: Object.keys(state.arch).length ? state.arch : undefined,
  });
}

function drawTable(table, data, choices, state, experimentId, on) {
  const header = (key, text, extra = {}) => {
    const active = state.sort === key;
    return h(
      "th",
      { class: "sortable", dataset: { sort: key }, "aria-sort": active ? (state.order === "asc" ? "ascending" : "descending") : "none", ...extra },
      h("button", { type: "button", class: "sort", onclick: () => on.sort(key) }, text, active ? (state.order === "asc" ? " ▲" : " ▼") : ""),
    );
  };
  const head = h(
    "thead",
    {},
    h("tr", {}, h("th", {}, ""), FIXED.map(([k, t]) => header(k, t)), h("th", { class: "node" }, "Node"), choices.map((c) => header(`arch.${c.label}`, c.label, { class: "sortable choice" }))),
    h("tr", { class: "filters" }, h("th", {}), FIXED.map(() => h("th", {})), h("th", {}), choices.map((c) => h("th", {}, filterSelect(c, state.arch, on.filter)))),
  );
  const body = h(
    "tbody",
    {},
    data.trials.map((t) =>
      h(
        "tr",
        { dataset: { id: t.id, status: t.status } },
        h("td", {}, h("input", { type: "checkbox", "aria-label": `select trial ${t.id}`, checked: state.selected.has(t.id), onchange: (e) => on.select(t.id, e.target.checked) })),
        h("td", { class: "num" }, h("a", { href: `#/e/${seg(experimentId)}/trials/${t.id}` }, `#${t.id}`)),
        h("td", {}, badge(t.status)),
        h("td", { class: "num metric", dataset: t.metric === null ? {} : { value: t.metric } }, fmtNum(t.metric)),
        h("td", { class: "num" }, fmtDuration(t.duration)),
        h("td", {}, fmtTime(t.started_at)),
        h("td", { class: "node" }, t.node ?? "—"),
        choices.map((c) => h("td", { class: "choice", dataset: { label: c.label } }, t.arch[c.label] === undefined ? "—" : choiceText(c, t.arch[c.label]))),
      ),
    ),
  );
  replace(table, head, body);
}

function filterSelect(choice, filters, onFilter) {
  if (!choice.options) return null;
  const current = choice.label in filters ? JSON.stringify(filters[choice.label]) : "";
  return h(
    "select",
    { class: "choice-filter", "aria-label": `filter ${choice.label}`, dataset: { label: choice.label }, onchange: (e) => onFilter(choice.label, e.target.value) },
    h("option", { value: "" }, "any"),
    choice.options.map((o) => {
      const value = JSON.stringify(o.value);
      return h("option", { value, selected: value === current }, o.text);
    }),
  );
}

function drawPager(el, data, go) {
  const pages = Math.max(1, Math.ceil(data.total / data.limit));
  const page = Math.floor(data.offset / data.limit);
  const button = (text, target, disabled, id) =>
    h("button", { type: "button", id, disabled, onclick: () => go(target * data.limit) }, text);
  replace(
    el,
    button("«", 0, page === 0, "page-first"),
    button("‹", page - 1, page === 0, "page-prev"),
    h("span", { class: "muted" }, `page ${page + 1} / ${pages}`),
    button("›", page + 1, page >= pages - 1, "page-next"),
    button("»", pages - 1, page >= pages - 1, "page-last"),
  );
}
