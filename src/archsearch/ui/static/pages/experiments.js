// Experiments: every experiment in the store with status, progress, best metric and times.

import { get } from "../api.js";
import { badge, fmtDuration, fmtNum, fmtTime, h, replace, seg } from "../dom.js";

export async function mount(root) {
  const table = h("table", { class: "grid", id: "experiments" });
  const note = h("p", { class: "muted" });
  replace(root, h("h1", {}, "Experiments"), note, table);
  const page = { live: false, update };
  async function update() {
    const data = await get("experiments");
    page.live = data.experiments.some((e) => e.status === "running" || e.status === "created");
    replace(note, data.experiments.length ? `${data.experiments.length} experiments` : "No experiments stored yet.");
    if (data.storage) note.append(h("span", {}, ` in ${data.storage}`));
    drawTable(table, data.experiments);
  }
  await update();
  return page;
}

function drawTable(table, experiments) {
  const head = h(
    "thead",
    {},
    h("tr", {}, ["Name", "ID", "Kind", "Status", "Progress", "Best metric", "Started", "Duration"].map((t) => h("th", {}, t))),
  );
  const body = h(
    "tbody",
    {},
    experiments.map((e) => {
      const link = `#/e/${seg(e.id)}${e.kind === "oneshot" ? "/oneshot" : ""}`;
      return h(
        "tr",
        { dataset: { id: e.id } },
        h("td", { class: "name" }, h("a", { href: link }, e.name)),
        h("td", { class: "mono" }, e.id),
        h("td", {}, e.kind),
        h("td", {}, badge(e.status)),
        h("td", { class: "progress-cell" }, progress(e.progress)),
        h(
          "td",
          { class: "num best", dataset: e.best ? { value: e.best.metric, trial: e.best.trial } : {} },
          e.best ? [fmtNum(e.best.metric), h("span", { class: "muted" }, ` (#${e.best.trial})`)] : "—",
        ),
        h("td", {}, fmtTime(e.started_at)),
        h("td", { class: "num" }, fmtDuration(e.duration)),
      );
    }),
  );
  replace(table, head, body);
}

/** "12 / 50 trials" with a bar (the larger of trial and time budget spent). */
export function progress(p) {
  const text = p.total ? `${p.done} / ${p.total} ${p.unit}` : `${p.done} ${p.unit}`;
  const bar = h("div", { class: "bar" });
  const fill = h("div", { class: "fill" });
  fill.style.width = `${Math.round((p.fraction ?? 0) * 100)}%`;
  bar.append(fill);
  return h("div", { class: "progress" }, p.fraction === null ? null : bar, h("span", { class: "progress-text" }, text));
}
