// One-shot run: candidate probabilities per choice over epochs, training curves, and the
// exported architecture.

import { get } from "../api.js";
import { byLabel, choiceText } from "../arch.js";
import { drawCell } from "../cellgraph.js";
import { axis, chartBox, draw, pt } from "../charts.js";
import { dl, fmtNum, h, replace, seg } from "../dom.js";

export async function mount(root, params) {
  const base = `experiments/${seg(params.id)}`;
  const facts = h("section", { class: "card", id: "oneshot-facts" });
  const exported = h("section", { class: "card", id: "exported" });
  const curves = h("div", { class: "choice-grid", id: "training-curves" });
  const probs = h("div", { class: "choice-grid", id: "probabilities" });
  const latest = h("section", { class: "card wide", id: "latest-probabilities" });
  replace(
    root,
    h("h1", {}, "One-shot search"),
    h("div", { class: "row" }, facts, exported),
    h("h2", {}, "Candidate probabilities over epochs"),
    probs,
    latest,
    h("h2", {}, "Training curves"),
    curves,
  );
  const charts = new Map();
  const chart = (key, parent, title) => {
    if (!charts.has(key)) {
      const box = chartBox(240);
      box.dataset.key = key;
      parent.append(h("section", { class: "card" }, h("h3", { class: "mono" }, title), box));
      charts.set(key, box);
    }
    return charts.get(key);
  };
  let dims = null;

  async function update() {
    const [data, summary, space] = await Promise.all([get(`${base}/oneshot`), get(`${base}/status`), dims ? null : get(`${base}/space`)]);
    if (!dims) dims = byLabel(space);
    const epochs = data.epochs.map((e) => e + 1);
    const epochAxis = axis("epoch", epochs.length <= 20 ? { dtick: 1 } : {});
    const last = data.epochs.length - 1;
    replace(facts, h("h2", {}, "Summary"), dl([
      ["Algorithm", data.algorithm ?? "—"],
      ["Epochs", h("span", { id: "epochs-done" }, `${data.epochs.length} / ${summary.progress.total ?? "?"}`)],
      ["Status", data.trial_status ?? "—"],
      ...Object.entries(data.final).map(([k, v]) => [k, h("span", { class: "final", dataset: { key: k, value: v } }, fmtNum(v))]),
    ]));
    const arch = data.exported ?? data.current_architecture;
    const trial = data.exported ? await get(`${base}/trials/1`).catch(() => null) : null;
    replace(exported, h("h2", {}, data.exported ? "Exported architecture" : "Current architecture"),
      arch ? [
        h("a", { class: "button", id: "download-arch", href: `/api/${base}/trials/1/architecture.json`, download: "architecture.json" }, "Download architecture JSON"),
        h("table", { class: "grid compact", id: "exported-table" }, h("tbody", {}, Object.entries(arch).map(([label, value]) =>
          h("tr", { dataset: { label } }, h("th", { class: "mono" }, label), h("td", {}, choiceText(dims.get(label), value)))))),
        trial ? trial.cells.map((c) => h("figure", {}, drawCell(c), h("figcaption", {}, c.name))) : null,
      ] : h("p", { class: "muted" }, "Not known yet (this algorithm exports by searching after training)."));

    for (const p of data.probabilities) {
      const box = chart(`prob/${p.label}`, probs, p.label);
      const traces = p.candidates.map((name, c) => ({
        x: epochs, y: p.values.map((row) => row[c] ?? null), name: pt(name), mode: "lines+markers", type: "scatter",
      }));
      await draw(box, traces, { xaxis: epochAxis, yaxis: axis("probability", { range: [0, 1] }), showlegend: true });
    }
    replace(latest, h("h2", {}, "Probabilities at the last epoch"), last < 0 ? h("p", { class: "muted" }, "No epoch finished yet.") :
      h("table", { class: "grid compact", id: "last-probabilities" },
        h("thead", {}, h("tr", {}, h("th", {}, "Choice"), h("th", {}, "Candidate probabilities"))),
        h("tbody", {}, data.probabilities.map((p) => h("tr", { dataset: { label: p.label } },
          h("th", { class: "mono" }, p.label),
          h("td", {}, p.candidates.map((name, c) => h("span", { class: "chip prob", dataset: { candidate: name, value: p.values[last][c] } },
            `${name}: ${fmtNum(p.values[last][c], 4)}`))))))));

    const names = new Set([...Object.keys(data.curves.train), ...Object.keys(data.curves.valid)]);
    for (const name of names) {
      const box = chart(`curve/${name}`, curves, name);
      const traces = ["train", "valid"].filter((phase) => data.curves[phase][name]).map((phase) => ({
        x: epochs, y: data.curves[phase][name], name: phase, mode: "lines+markers", type: "scatter",
      }));
      await draw(box, traces, { xaxis: epochAxis, yaxis: axis(name), showlegend: true });
    }
  }
  await update();
  return { update };
}
