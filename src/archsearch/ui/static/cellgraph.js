// A cell (NAS-Bench-201 edges or a DARTS-style Cell) drawn as SVG: nodes on a line, each edge
// an arc labelled with its operation. Labels are SVG text nodes (textContent), never markup.

import { svg } from "./dom.js";

const DX = 150;
const R = 20;
const PAD = 40;
let counter = 0;

/** An <svg> for one cell graph from the API: {name, nodes, inputs, output, edges}. */
export function drawCell(cell) {
  const n = cell.nodes.length;
  const index = new Map(cell.nodes.map((name, i) => [name, i]));
  const span = Math.max(1, ...cell.edges.map((e) => Math.abs(index.get(e.target) - index.get(e.source))));
  const lift = 34;
  const top = PAD + lift * Math.max(0, span - 1) + 12;
  const height = top + R + 40 + (cell.output && cell.edges.some((e) => e.label === "concat") ? lift * 2 : 0);
  const width = PAD * 2 + DX * (n - 1);
  const marker = `arrow-${++counter}`;
  const root = svg("svg", {
    class: "cell-graph",
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: "img",
    "aria-label": `cell ${cell.name}`,
  });
  root.append(
    svg("defs", {}, svg("marker", { id: marker, viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
      svg("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow" }))),
  );
  const x = (name) => PAD + DX * index.get(name);
  const seen = new Map();
  for (const edge of cell.edges) {
    const a = x(edge.source);
    const b = x(edge.target);
    const pair = `${edge.source}>${edge.target}`;
    const repeat = seen.get(pair) || 0;
    seen.set(pair, repeat + 1);
    const hops = Math.abs(index.get(edge.target) - index.get(edge.source));
    const below = edge.label === "concat";
    const bend = (hops === 1 && !below ? 0 : lift * hops) + repeat * 26;
    const dir = below ? 1 : -1;
    const x1 = a + R;
    const x2 = b - R;
    const cy = top + dir * bend * 2;
    const path = bend === 0 ? `M${x1},${top} L${x2},${top}` : `M${x1},${top} Q${(x1 + x2) / 2},${cy} ${x2},${top}`;
    const mid = { x: (x1 + x2) / 2, y: bend === 0 ? top - 6 : top + dir * bend - 4 };
    const muted = edge.label === "none" || below;
    root.append(
      svg("g", { class: `edge${muted ? " muted" : ""}`, dataset: { source: edge.source, target: edge.target } },
        svg("path", { d: path, "marker-end": `url(#${marker})`, class: below ? "dashed" : null }),
        svg("text", { x: mid.x, y: mid.y, "text-anchor": "middle", class: "edge-label" }, edge.label)),
    );
  }
  for (const name of cell.nodes) {
    const kind = cell.inputs.includes(name) ? "input" : name === cell.output ? "output" : "inner";
    root.append(
      svg("g", { class: `node ${kind}`, dataset: { node: name } },
        svg("circle", { cx: x(name), cy: top, r: R }),
        svg("text", { x: x(name), y: top + 4, "text-anchor": "middle" }, name)),
    );
  }
  return root;
}
