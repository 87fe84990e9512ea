// One trial: architecture (with cell graphs), metrics, intermediate curve, log tail, error.

import { get } from "../api.js";
import { byLabel, choiceText } from "../arch.js";
import { drawCell } from "../cellgraph.js";
import { axis, chartBox, draw } from "../charts.js";
import { badge, dl, fmtDuration, fmtNum, fmtTime, h, replace, seg } from "../dom.js";

export async function mount(root, params) {
  const base = `experiments/${seg(params.id)}`;
  const title = h("h1", {});
  const facts = h("section", { class: "card", id: "trial-facts" });
  const arch = h("section", { class: "card", id: "architecture" });
  const cells = h("section", { class: "card", id: "cells" });
  const finals = h("section", { class: "card", id: "final-metrics" });
  const curveBox = chartBox(300);
  curveBox.id = "trial-curve";
  const metricSelect = h("select", { id: "trial-curve-metric", "aria-label": "metric", onchange: () => drawCurve() });
  const curve = h("section", { class: "card wide" }, h("h2", {}, "Intermediate metric ", metricSelect), curveBox);
  const failure = h("section", { class: "card", id: "failure", hidden: true });
  const log = h("pre", { class: "log", id: "log" });
  const logInfo = h("p", { class: "muted", id: "log-info" });
  replace(
    root,
    title,
    h("div", { class: "row" }, facts, finals),
    failure,
    h("div", { class: "row" }, arch, cells),
    curve,
    h("section", { class: "card" }, h("h2", {}, "Log (tail)"), logInfo, log),
  );

  let trial = null;
  let dims = null;
  async function drawCurve() {
    const points = trial.intermediate;
    const keys = [...new Set(points.flatMap((p) => Object.keys(p.metrics)))];
    const chosen = keys.includes(metricSelect.value) ? metricSelect.value : keys.includes("default") ? "default" : keys[0];
    replace(metricSelect, keys.map((k) => h("option", { value: k, selected: k === chosen }, k)));
    curve.hidden = keys.length === 0;
    if (!keys.length) return;
    const shown = points.filter((p) => p.metrics[chosen] !== undefined && p.metrics[chosen] !== null);
    await draw(curveBox, [{ x: shown.map((p) => p.step), y: shown.map((p) => p.metrics[chosen]), mode: "lines+markers", type: "scatter" }], {
      xaxis: axis("step", shown.length && shown.length <= 20 ? { dtick: 1 } : {}),
      yaxis: axis(chosen),
    });
    curveBox.dataset.points = String(shown.length);
  }

  async function update() {
    const [data, space] = await Promise.all([get(`${base}/trials/${seg(params.trial)}`), dims ? null : get(`${base}/space`)]);
    if (!dims) dims = byLabel(space);
    trial = data;
    replace(title, `Trial #${data.id} `, badge(data.status));
    replace(facts, h("h2", {}, "Summary"), dl([
      ["Status", badge(data.status)],
      ["Final metric", h("span", { id: "final-metric", dataset: data.metric === null ? {} : { value: data.metric } }, fmtNum(data.metric))],
      ["Duration", fmtDuration(data.duration)],
      ["Started", fmtTime(data.started_at)],
      ["Ended", fmtTime(data.ended_at)],
      ["Node", h("span", { id: "node" }, data.node ?? "—")],
    ]));
    replace(finals, h("h2", {}, "Final metrics"), Object.keys(data.metrics).length
      ? h("table", { class: "grid compact" }, h("tbody", {}, Object.entries(data.metrics).map(([k, v]) =>
        h("tr", {}, h("th", {}, k), h("td", { class: "num", dataset: v === null ? {} : { value: v } }, fmtNum(v))))))
      : h("p", { class: "muted" }, "none"));
    failure.hidden = !data.error && !data.traceback;
    replace(failure, h("h2", {}, "Error"), h("p", { class: "error-text", id: "error" }, data.error || ""),
      data.traceback ? h("pre", { class: "traceback", id: "traceback" }, data.traceback) : null);
    const download = h("a", { class: "button", id: "download-arch", href: `/api/${base}/trials/${seg(data.id)}/architecture.json`, download: `trial-${data.id}.json` }, "Download architecture JSON");
    replace(arch, h("h2", {}, "Architecture"), download,
      h("table", { class: "grid compact", id: "arch-table" }, h("tbody", {}, Object.entries(data.arch).map(([label, value]) =>
        h("tr", { dataset: { label } }, h("th", { class: "mono" }, label), h("td", {}, choiceText(dims.get(label), value)))))));
    cells.hidden = data.cells.length === 0;
    replace(cells, h("h2", {}, "Cells"), data.cells.map((c) => h("figure", {}, drawCell(c), h("figcaption", {}, c.name))));
    await drawCurve();
    await drawLog(data);
  }

  async function drawLog(data) {
    if (data.log.size === null) {
      logInfo.textContent = "No log file for this trial.";
      log.hidden = true;
      return;
    }
    if (data.log.size === 0) {
      logInfo.textContent = "The log file is empty: the trial printed nothing.";
      log.hidden = true;
      return;
    }
    const response = await fetch(`/api/${base}/trials/${seg(data.id)}/log?kb=64`);
    const text = await response.text();
    log.hidden = false;
    log.textContent = text;
    log.scrollTop = log.scrollHeight; // the end of a log is what matters
    const cut = response.headers.get("x-log-truncated") === "1";
    logInfo.textContent = `${data.log.size.toLocaleString("en-US")} bytes${cut ? ", showing the last 64 KB" : ""}`;
  }

  await update();
  return { update };
}
