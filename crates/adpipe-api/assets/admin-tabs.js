// The console's views, one shown at a time under a row of tabs: Review
// (the queue and the search), Tokens, Team, Models, Audit log (admins
// only), Password. A WAI-ARIA tab list: Tab reaches the chosen tab, the arrow
// keys, Home and End move between the tabs and show theirs. A tab whose
// permission the signed-in role lacks is hidden (the server refuses those
// requests anyway).

import { may } from "./admin-api.js";
import { $ } from "./dom.js";

// Each view: its tab, its panel, and the permission it needs (null: any
// signed-in account).
const VIEWS = [
  { name: "review", needs: "read" },
  { name: "tokens", needs: null },
  { name: "team", needs: "manage_accounts" },
  { name: "models", needs: "read" },
  { name: "audit", needs: "read_audit" },
  { name: "password", needs: null },
].map((view) => ({ ...view, tab: $("tab-" + view.name), panel: $("view-" + view.name) }));

const list = $("tabs");
let current = "review";

// What a view does when it is shown (load its list) and when it is left
// (forget a secret shown once); set by the modules of the views.
const shown = new Map();
const left = new Map();

export function onShow(name, handler) {
  shown.set(name, handler);
}

export function onLeave(name, handler) {
  left.set(name, handler);
}

export function currentView() {
  return current;
}

function allowed(view) {
  return view.needs === null || may(view.needs);
}

function usable() {
  return VIEWS.filter((view) => !view.tab.hidden);
}

// Marks `view` chosen and shows its panel alone.
function choose(view) {
  current = view.name;
  for (const other of VIEWS) {
    const on = other === view;
    other.tab.setAttribute("aria-selected", on ? "true" : "false");
    other.tab.tabIndex = on ? 0 : -1;
    other.panel.hidden = !on;
  }
}

// Shows the view `name` (when the role allows it) and loads it, unless
// `quiet`; `focus` puts the focus on its tab (the arrow keys).
export function showView(name, options) {
  const { focus = false, quiet = false } = options || {};
  const view = VIEWS.find((candidate) => candidate.name === name);
  if (!view || !allowed(view)) return;
  const before = current;
  choose(view);
  if (focus) view.tab.focus();
  if (before !== name && left.has(before)) left.get(before)();
  if (!quiet && shown.has(name)) shown.get(name)();
}

// The tabs the signed-in role may use; a view it may no longer use is
// left for the review.
export function applyPermissions() {
  for (const view of VIEWS) view.tab.hidden = !allowed(view);
  const view = VIEWS.find((candidate) => candidate.name === current);
  if (!view || !allowed(view)) showView("review", { quiet: true });
}

// Signed out: back to the review view, nothing loaded.
export function resetViews() {
  if (left.has(current)) left.get(current)();
  choose(VIEWS[0]);
}

list.addEventListener("click", (event) => {
  const tab = event.target instanceof Element ? event.target.closest("[role=tab]") : null;
  const view = VIEWS.find((candidate) => candidate.tab === tab);
  if (view) showView(view.name);
});

list.addEventListener("keydown", (event) => {
  const tabs = usable();
  const at = tabs.findIndex((view) => view.tab === event.target);
  if (at < 0 || event.ctrlKey || event.metaKey || event.altKey) return;
  let to;
  switch (event.key) {
    case "ArrowRight":
      to = (at + 1) % tabs.length;
      break;
    case "ArrowLeft":
      to = (at - 1 + tabs.length) % tabs.length;
      break;
    case "Home":
      to = 0;
      break;
    case "End":
      to = tabs.length - 1;
      break;
    default:
      return;
  }
  event.preventDefault();
  showView(tabs[to].name, { focus: true });
});
