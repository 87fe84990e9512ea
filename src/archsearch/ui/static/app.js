// The single-page shell: hash routing, the navigation bar, and live polling.

import { get } from "./api.js";
import { badge, h, replace, seg } from "./dom.js";

const PAGES = {
  experiments: () => import("./pages/experiments.js"),
  overview: () => import("./pages/overview.js"),
  trials: () => import("./pages/trials.js"),
  trial: () => import("./pages/trial.js"),
  choices: () => import("./pages/choices.js"),
  oneshot: () => import("./pages/oneshot.js"),
};

const POLL_MS = 2000;
const root = document.getElementById("app");
const nav = document.getElementById("nav");
const live = document.getElementById("live");
let current = null; // {route, page, token}
let timer = null;

/** "#/e/abc/trials/3" → {name: "trial", params: {id: "abc", trial: "3"}}. */
export function parseRoute(hash) {
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] !== "e" || parts.length < 2) return { name: "experiments", params: {} };
  const id = parts[1];
  const sub = parts[2] || "overview";
  if (sub === "trials" && parts[3] !== undefined) return { name: "trial", params: { id, trial: parts[3] } };
  if (sub in PAGES && sub !== "experiments" && sub !== "trial") return { name: sub, params: { id } };
  return { name: "overview", params: { id } };
}

function drawNav(route, experiment) {
  if (!route.params.id) {
    replace(nav, h("a", { href: "#/", class: "active" }, "Experiments"));
    return;
  }
  const base = `#/e/${seg(route.params.id)}`;
  const links = [["overview", "Overview", base]];
  if (experiment && experiment.kind === "oneshot") links.push(["oneshot", "One-shot", `${base}/oneshot`]);
  links.push(["trials", "Trials", `${base}/trials`], ["choices", "Choices", `${base}/choices`]);
  const active = route.name === "trial" ? "trials" : route.name;
  replace(
    nav,
    h("a", { href: "#/" }, "Experiments"),
    h("span", { class: "crumb", id: "nav-experiment" }, experiment ? experiment.name : route.params.id),
    experiment ? badge(experiment.status) : null,
    links.map(([name, text, href]) => h("a", { href, class: name === active ? "active" : null }, text)),
  );
}

async function show() {
  const route = parseRoute(location.hash);
  const token = Symbol(route.name);
  if (current && current.page.unmount) current.page.unmount();
  current = { route, page: {}, token };
  clearTimeout(timer);
  let experiment = null;
  try {
    if (route.params.id) experiment = await get(`experiments/${seg(route.params.id)}/status`);
    drawNav(route, experiment);
    const module = await PAGES[route.name]();
    const container = h("div", { class: `page page-${route.name}` });
    replace(root, container);
    const page = await module.mount(container, route.params, { experiment });
    if (current.token !== token) return; // the user moved on while this page loaded
    current.page = page || {};
    document.body.dataset.page = route.name;
    document.body.dataset.ready = "1";
  } catch (error) {
    if (current.token !== token) return;
    drawNav(route, experiment);
    replace(root, h("div", { class: "error-box" }, h("strong", {}, "Error: "), String(error.message || error)));
    document.body.dataset.ready = "1";
  }
  schedule(token, experiment);
}

function running(experiment) {
  return experiment && (experiment.status === "running" || experiment.status === "created");
}

/** While something runs, ask the page to refresh itself every POLL_MS. */
function schedule(token, experiment) {
  const route = current.route;
  const isLive = route.params.id ? running(experiment) : Boolean(current.page.live);
  live.hidden = !isLive;
  if (!isLive && route.params.id) return;
  timer = setTimeout(async () => {
    if (current.token !== token) return;
    let next = experiment;
    try {
      if (route.params.id) {
        next = await get(`experiments/${seg(route.params.id)}/status`);
        drawNav(route, next);
      }
      if (current.page.update) await current.page.update(next);
    } catch (error) {
      console.warn("live update failed", error);
    }
    if (current.token === token) schedule(token, next);
  }, POLL_MS);
}

window.addEventListener("hashchange", show);
show();
