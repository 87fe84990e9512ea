// Parallel coordinates on a canvas (fast for 10,000 lines) with SVG axis labels: one axis per
// choice (its candidates spread evenly) and a last axis for the metric.

import { h, svg } from "./dom.js";

const HEIGHT = 360;
const TOP = 28;
const BOTTOM = 24;
const LEFT = 110;
const RIGHT = 80;
const MIN_GAP = 90; // px between axes: room for a title and the next axis's tick labels

/** `text` cut to `n` characters (the full text is in the element's <title>). */
function short(text, n) {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}

/** A figure for {trials, metric, axes: [{label, ticks, values}]}, `available` pixels wide
 * when its axes fit there at least MIN_GAP apart (else wider, and its card scrolls). */
export function parallel(data, mode, available = 0) {
  const columns = data.axes.length + 1;
  const needed = LEFT + RIGHT + MIN_GAP * (columns - 1);
  const width = Math.max(520, Math.min(130 * columns, Math.max(available, needed)));
  const canvas = h("canvas", { width: width * 2, height: HEIGHT * 2, class: "parcoords-lines" });
  canvas.style.width = `${width}px`;
  canvas.style.height = `${HEIGHT}px`;
  const labels = svg("svg", { width, height: HEIGHT, class: "parcoords-axes", role: "img", "aria-label": "parallel coordinates" });
  const figure = h("div", { class: "parcoords", dataset: { lines: data.metric.length } }, canvas, labels);
  figure.style.width = `${width}px`;
  const xs = Array.from({ length: columns }, (_, i) => LEFT + ((width - LEFT - RIGHT) * i) / (columns - 1 || 1));
  const span = HEIGHT - TOP - BOTTOM;
  const gap = columns > 1 ? xs[1] - xs[0] : width;
  const titleChars = Math.max(8, Math.min(18, Math.floor(gap / 7.5))); // ~7.5 px a bold character
  const lo = Math.min(...data.metric);
  const hi = Math.max(...data.metric);
  const yMetric = (m) => TOP + span * (1 - (hi === lo ? 0.5 : (m - lo) / (hi - lo)));
  const yTick = (axis, i) => TOP + span * (axis.ticks.length === 1 ? 0.5 : i / (axis.ticks.length - 1));

  const ctx = canvas.getContext("2d");
  ctx.scale(2, 2);
  ctx.lineWidth = 1;
  // Worst first, so the best lines are drawn on top.
  const order = data.metric.map((_, i) => i).sort((a, b) => (mode === "maximize" ? 1 : -1) * (data.metric[a] - data.metric[b]));
  const alpha = Math.max(0.08, Math.min(0.7, 40 / Math.sqrt(order.length + 1)));
  for (const i of order) {
    const m = data.metric[i];
    const t = hi === lo ? 1 : (m - lo) / (hi - lo);
    const good = mode === "maximize" ? t : 1 - t;
    ctx.strokeStyle = `hsla(${220 - 180 * good}, 85%, ${35 + 20 * good}%, ${alpha})`;
    ctx.beginPath();
    data.axes.forEach((axis, a) => {
      const v = axis.values[i];
      const y = v >= 0 ? yTick(axis, v) + ((i % 7) - 3) * 0.6 : TOP + span + 8; // jitter shows density
      if (a === 0) ctx.moveTo(xs[a], y);
      else ctx.lineTo(xs[a], y);
    });
    ctx.lineTo(xs[columns - 1], yMetric(m));
    ctx.stroke();
  }

  data.axes.forEach((axis, a) => {
    labels.append(svg("line", { x1: xs[a], x2: xs[a], y1: TOP, y2: TOP + span, class: "axis" }));
    labels.append(svg("text", { x: xs[a], y: TOP - 10, "text-anchor": "middle", class: "axis-title" }, svg("title", {}, axis.label), short(axis.label, titleChars)));
    axis.ticks.forEach((tick, i) => {
      labels.append(svg("text", { x: xs[a] - 6, y: yTick(axis, i) + 4, "text-anchor": "end", class: "tick" }, svg("title", {}, tick), short(tick, 16)));
    });
  });
  const last = xs[columns - 1];
  labels.append(svg("line", { x1: last, x2: last, y1: TOP, y2: TOP + span, class: "axis" }));
  labels.append(svg("text", { x: last, y: TOP - 10, "text-anchor": "middle", class: "axis-title" }, "metric"));
  if (data.metric.length) {
    for (const value of [lo, (lo + hi) / 2, hi]) {
      labels.append(svg("text", { x: last + 6, y: yMetric(value) + 4, class: "tick" }, String(Number(value.toPrecision(4)))));
    }
  }
  return figure;
}
