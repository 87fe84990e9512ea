// Experiment overview: facts, status counts, config, search space and the metric over time.

import { get } from "../api.js";
import { axis, chartBox, draw, pt } from "../charts.js";
import { badge, dl, fmtChoice, fmtDuration, fmtNum, fmtTime, h, replace, seg } from "../dom.js";
import { progress } from "./experiments.js";

export async function mount(root, params) {
  const facts = h("section", { class: "card", id: "facts" });
  const counts = h("section", { class: "card", id: "counts" });
  const byTrial = chartBox(300);
  const byTime = chartBox(300);
  const hist = chartBox(260);
  const space = h("section", { class: "card", id: "space" });
  const config = h("section", { class: "card", id: "config" });
  const title = h("h1", {});
  const curves = h("div", { class: "row", id: "search-curves" },
    h("section", { class: "card wide" }, h("h2", {}, "Best so far, by trial number"), byTrial),
    h("section", { class: "card wide" }, h("h2", {}, "Best so far, by time"), byTime));
  const distribution = h("section", { class: "card wide", id: "distribution" }, h("h2", {}, "Metric distribution"), hist);
  replace(
    root,
    title,
    h("div", { class: "row" }, facts, counts),
    curves,
    h("div", { class: "row" }, distribution, config),
    space,
  );
  let spaceDrawn = false;
  async function update() {
    const data = await get(`experiments/${seg(params.id)}`);
    replace(title, data.name, " ", h("span", { class: "muted mono" }, data.id));
    drawFacts(facts, data);
    drawCounts(counts, data.counts);
    if (!spaceDrawn) {
      drawConfig(config, data.config);
      drawSpace(space, data.search_space);
      spaceDrawn = true;
    }
    // A one-shot run is one trial (the supernet): best-so-far curves and a distribution of one
    // value say nothing; its epochs are on the One-shot page.
    const oneshot = data.kind === "oneshot";
    curves.hidden = distribution.hidden = oneshot;
    if (!oneshot) await drawCurves(byTrial, byTime, hist, data);
  }
  await update();
  return { update };
}

function drawFacts(el, d) {
  replace(
    el,
    h("h2", {}, "Summary"),
    dl([
      ["Status", badge(d.status)],
      ["Kind", d.kind],
      ["Progress", progress(d.progress)],
      ["Best metric", d.best ? h("span", { id: "best-metric", dataset: { value: d.best.metric } }, fmtNum(d.best.metric)) : "—"],
      ["Best trial", d.best ? h("a", { href: `#/e/${seg(d.id)}/trials/${d.best.trial}` }, `#${d.best.trial}`) : "—"],
      ["Optimize", d.optimize_mode],
      ["Started", fmtTime(d.started_at)],
      ["Duration", fmtDuration(d.duration)],
      ["Error", d.error || null],
    ].filter(([, v]) => v !== null)),
  );
}

function drawCounts(el, counts) {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  replace(
    el,
    h("h2", {}, "Trials"),
    h(
      "table",
      { class: "grid compact", id: "status-counts" },
      h("tbody", {},
        Object.entries(counts).map(([status, n]) =>
          h("tr", { dataset: { status } }, h("td", {}, badge(status)), h("td", { class: "num" }, String(n)))),
        h("tr", { class: "total" }, h("td", {}, "total"), h("td", { class: "num" }, String(total)))),
    ),
  );
}

function drawConfig(el, config) {
  replace(
    el,
    h("h2", {}, "Configuration"),
    h("table", { class: "grid compact", id: "config-table" },
      h("tbody", {}, Object.entries(config).map(([k, v]) =>
        h("tr", {}, h("th", {}, k), h("td", { class: "mono" }, v === null ? "—" : typeof v === "string" ? v : JSON.stringify(v)))))),
  );
}

function drawSpace(el, space) {
  if (!space) {
    replace(el, h("h2", {}, "Search space"), h("p", { class: "muted" }, "No search space stored."));
    return;
  }
  replace(
    el,
    h("h2", {}, "Search space ", h("span", { class: "muted", id: "space-size" }, `${Number(space.size).toLocaleString("en-US")} architectures, ${space.choices.length} choices`)),
    h("table", { class: "grid compact", id: "space-table" },
      h("thead", {}, h("tr", {}, ["Choice", "Kind", "Options", "Candidates"].map((t) => h("th", {}, t)))),
      h("tbody", {}, space.choices.map((c) =>
        h("tr", { dataset: { label: c.label } },
          h("td", { class: "mono" }, c.label),
          h("td", {}, c.kind + (c.kind === "input_choice" ? ` (${c.n_chosen ?? "any"} of ${c.candidates.length})` : "")),
          h("td", { class: "num" }, String(c.size)),
          h("td", {}, c.candidates.map((v) => h("span", { class: "chip" }, fmtChoice(v)))))))),
  );
}

/** Whole-number ticks for an axis of counts or trial numbers when there are few of them
 * (plotly would otherwise tick 0.5, 1, 1.5, ...). */
const few = (n) => (n <= 10 ? { dtick: 1 } : {});

async function drawCurves(byTrial, byTime, hist, d) {
  const c = d.curve;
  const hover = (ids) => ids.map((i) => `trial #${i}`);
  await draw(byTrial, [
    { x: c.trial, y: c.metric, text: hover(c.trial), mode: "markers", type: "scatter", name: "trial metric", marker: { size: 5, color: "#94a3b8" } },
    { x: c.trial, y: c.best, mode: "lines", type: "scatter", name: "best so far", line: { shape: "hv", color: "#2563eb", width: 2 } },
  ], { xaxis: axis("trial number", few(c.trial.length)), yaxis: axis("metric") });
  await draw(byTime, [
    { x: c.time, y: c.time_metric, text: hover(c.time_trial), mode: "markers", type: "scatter", name: "trial metric", marker: { size: 5, color: "#94a3b8" } },
    { x: c.time, y: c.time_best, mode: "lines", type: "scatter", name: "best so far", line: { shape: "hv", color: "#2563eb", width: 2 } },
  ], { xaxis: axis("seconds since the first trial started"), yaxis: axis("metric") });
  await draw(hist, [{ x: c.metric, type: "histogram", marker: { color: "#2563eb" }, name: pt("metric") }], {
    xaxis: axis("final metric"), yaxis: axis("trials", few(c.metric.length)), bargap: 0.05,
  });
  byTrial.dataset.points = String(c.trial.length);
}
