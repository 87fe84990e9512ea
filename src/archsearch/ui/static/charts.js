// Charts through plotly.js, served from the installed `plotly` Python package and loaded only
// when a page first draws a chart (the trials table paints without it).

let loading = null;

/** Load /static/plotly.min.js once; resolves to window.Plotly. */
export function plotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = "/static/plotly.min.js";
      script.onload = () => resolve(window.Plotly);
      script.onerror = () => reject(new Error("could not load plotly.min.js"));
      document.head.append(script);
    });
  }
  return loading;
}

/** Text for plotly labels, legends and hovers. Plotly reads a small HTML subset in strings;
 * escaping <, > and & makes it show user text (labels, candidate and metric names) literally. */
export function pt(value) {
  return String(value).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

const CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["sendDataToCloud"] };

/** Draw or update a chart in `el` (Plotly.react keeps zoom state across live updates). */
export async function draw(el, traces, layout = {}) {
  const Plotly = await plotly();
  const legend = layout.showlegend ?? traces.length > 1;
  const base = {
    margin: { l: 56, r: 16, t: legend ? 34 : 12, b: 44 },
    font: { family: "system-ui, sans-serif", size: 12 },
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    uirevision: "keep",
    showlegend: legend,
    legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom" },
  };
  await Plotly.react(el, traces, { ...base, ...layout }, CONFIG);
  el.dataset.drawn = "1";
}

/** An axis title object with escaped text. */
export const axis = (title, extra = {}) => ({ title: { text: pt(title) }, automargin: true, ...extra });

/** A plotly chart container of the given height. */
export function chartBox(height = 320) {
  const el = document.createElement("div");
  el.className = "chart";
  el.style.height = `${height}px`;
  return el;
}
