// Choice analysis: per choice, how the final metric falls for each candidate; and a
// parallel-coordinates view of every succeeded trial's choices against its metric.

import { get } from "../api.js";
import { axis, chartBox, draw, pt } from "../charts.js";
import { fmtNum, h, replace, seg } from "../dom.js";
import { parallel } from "../parcoords.js";

export async function mount(root, params) {
  const grid = h("div", { class: "choice-grid", id: "choice-cards" });
  const para = h("section", { class: "card wide", id: "parallel" });
  replace(root, h("h1", {}, "Choice analysis"), h("p", { class: "muted" },
    "Final metrics of succeeded trials, grouped by the candidate each choice picked."), para, grid);
  let cards = new Map();

  async function update() {
    const data = await get(`experiments/${seg(params.id)}/choices`);
    if (!data.choices.length) {
      replace(grid, h("p", { class: "muted" }, "No search space stored."));
      return;
    }
    replace(para, h("h2", {}, "Parallel coordinates"), h("p", { class: "muted" },
      `${data.parallel.metric.length} succeeded trials; colour = metric (${data.optimize_mode === "maximize" ? "brighter is better" : "brighter is worse"}).`),
      parallel(data.parallel, data.optimize_mode, para.clientWidth - 30)); // less the card's padding
    if (cards.size !== data.choices.length) {
      cards = new Map(data.choices.map((c) => [c.label, { table: h("table", { class: "grid compact" }), chart: chartBox(220) }]));
      replace(grid, data.choices.map((c) => {
        const card = cards.get(c.label);
        return h("section", { class: "card choice-card", dataset: { label: c.label } },
          h("h2", { class: "mono" }, c.label, h("span", { class: "muted" }, ` ${c.kind}`)), card.chart, card.table);
      }));
    }
    for (const choice of data.choices) {
      const card = cards.get(choice.label);
      drawTable(card.table, choice, data.optimize_mode);
      await drawBoxes(card.chart, choice);
    }
  }
  await update();
  return { update };
}

function drawTable(table, choice, mode) {
  const scored = choice.candidates.filter((c) => c.count > 0);
  const bestMean = scored.length ? (mode === "maximize" ? Math.max : Math.min)(...scored.map((c) => c.mean)) : null;
  replace(
    table,
    h("thead", {}, h("tr", {}, ["Candidate", "Trials", "Succeeded", "Mean", "Median", "Best"].map((t) => h("th", {}, t)))),
    h("tbody", {}, choice.candidates.map((c) =>
      h("tr", { dataset: { candidate: c.text }, class: c.count && c.mean === bestMean ? "top" : null },
        h("td", {}, c.text),
        h("td", { class: "num" }, String(c.trials)),
        h("td", { class: "num count" }, String(c.count)),
        h("td", { class: "num mean", dataset: c.count ? { value: c.mean } : {} }, c.count ? fmtNum(c.mean, 4) : "—"),
        h("td", { class: "num median", dataset: c.count ? { value: c.median } : {} }, c.count ? fmtNum(c.median, 4) : "—"),
        h("td", { class: "num best", dataset: c.count ? { value: c.best } : {} }, c.count ? fmtNum(c.best, 4) : "—")))),
  );
}

async function drawBoxes(el, choice) {
  const shown = choice.candidates.filter((c) => c.count > 0);
  const names = shown.map((c) => pt(c.text));
  await draw(el, [{
    type: "box",
    x: names,
    q1: shown.map((c) => c.q1),
    median: shown.map((c) => c.median),
    q3: shown.map((c) => c.q3),
    lowerfence: shown.map((c) => c.min),
    upperfence: shown.map((c) => c.max),
    mean: shown.map((c) => c.mean),
    boxmean: true,
    marker: { color: "#2563eb" },
    hoverinfo: "y",
  }], { xaxis: axis("", { type: "category" }), yaxis: axis("metric"), margin: { l: 56, r: 8, t: 8, b: 60 } });
}
