// The Models view (anyone signed in: read): the model versions stored
// (`adpipe models add`), the live one marked, each version's training
// report, the promotions and rollbacks with who made them, and the shadow
// report: per category of the ads' outcome now, how often the candidate
// run in shadow agrees with the live model and, on the ads a person
// decided, how often each of them decided as the person did.
//
// Changing the live model is an admin's command-line step
// (`adpipe models promote|rollback|shadow`), where the candidate is first
// measured; this view only shows. admin-tabs.js loads it when shown.

import { api, handled } from "./admin-api.js";
import { onShow } from "./admin-tabs.js";
import { hideError, showError } from "./admin-view.js";
import { $, node } from "./dom.js";

const el = {
  error: $("models-error"),
  live: $("models-live"),
  versions: $("models-versions"),
  history: $("models-history"),
  shadowCaption: $("shadow-caption"),
  shadow: $("shadow-rows"),
};

let generation = 0;

function text(value) {
  return typeof value === "string" && value !== "" ? value : "—";
}

function count(value) {
  return typeof value === "number" ? value : 0;
}

// "7 of 9 (78 %)"; "—" when there is nothing to count.
function share(part, whole) {
  if (!whole) return "—";
  return part + " of " + whole + " (" + Math.round((100 * part) / whole) + " %)";
}

function versionRow(version) {
  const name = node("td", null, text(version.name));
  if (version.live) name.append(" ", node("strong", { class: "badge", "data-status": "approved" }, "live"));
  const report = (version.files || []).includes("report.html")
    ? node(
        "a",
        { href: "admin/models/" + encodeURIComponent(version.version) + "/report.html", target: "_blank", rel: "noopener" },
        "report",
      )
    : "—";
  return node(
    "tr",
    { "data-version": text(version.version) },
    node("td", null, node("code", { title: text(version.version) }, text(version.short))),
    name,
    node("td", null, text(version.kind)),
    node("td", null, text(version.added_at)),
    node("td", null, node("code", null, text(version.added_by))),
    node("td", null, report),
  );
}

function historyRow(deployment) {
  const what = typeof deployment.version === "string" ? deployment.version.slice(0, 12) : "configured model";
  return node(
    "tr",
    null,
    node("td", null, text(deployment.at)),
    node("td", null, text(deployment.action) + (deployment.forced ? " (forced)" : "")),
    node("td", null, node("code", null, what)),
    node("td", null, node("code", null, text(deployment.by))),
  );
}

// The row's name: a category, or what became of the ads not approved.
const OUTCOMES = { in_review: "waiting for people", rejected: "rejected", all: "all ads" };

function shadowRow(category) {
  const people = count(category.decided_by_people);
  const name = text(category.category);
  return node(
    "tr",
    { "data-category": name },
    node("th", { scope: "row" }, Object.hasOwn(OUTCOMES, name) ? OUTCOMES[name] : name),
    node("td", null, String(count(category.ads))),
    node("td", null, share(count(category.agrees_with_live), count(category.ads))),
    node("td", null, share(count(category.live_agrees_with_people), people)),
    node("td", null, share(count(category.shadow_agrees_with_people), people)),
    node("td", null, count(category.live_left_to_people) + " / " + count(category.shadow_left_to_people)),
  );
}

async function load() {
  const mine = ++generation;
  hideError(el.error);
  try {
    const [models, shadow] = await Promise.all([api("admin/models"), api("admin/models/shadow")]);
    if (mine !== generation) return;
    const versions = Array.isArray(models.versions) ? models.versions : [];
    const live = versions.find((version) => version.live);
    el.live.textContent = live
      ? "Live: " + text(live.name) + " (" + text(live.short) + ")."
      : "Live: the configured model (ADPIPE_MODEL).";
    el.versions.replaceChildren(...versions.map(versionRow));
    if (!versions.length) el.versions.append(node("tr", null, node("td", { colspan: "6" }, "No version stored yet: adpipe models add FOLDER.")));
    const deployments = Array.isArray(models.deployments) ? models.deployments : [];
    el.history.replaceChildren(...deployments.map(historyRow));
    if (!deployments.length) el.history.append(node("tr", null, node("td", { colspan: "4" }, "No promotion yet.")));
    const categories = Array.isArray(shadow.categories) ? shadow.categories : [];
    if (typeof shadow.version !== "string") {
      el.shadowCaption.textContent = "No model has run in shadow: adpipe models shadow VERSION.";
    } else {
      el.shadowCaption.textContent =
        (shadow.running ? "In shadow now: " : "Last in shadow: ") +
        text(shadow.name || shadow.short) + " (" + text(shadow.short) + "), per category of the ads' outcome now";
    }
    el.shadow.replaceChildren(...categories.map(shadowRow));
    if (!categories.length) el.shadow.append(node("tr", null, node("td", { colspan: "6" }, "No verdict yet.")));
  } catch (error) {
    if (handled(error) || mine !== generation) return;
    showError(el.error, "Could not read the models.", error);
  }
}

// Signed out: nothing shown.
export function resetModels() {
  generation += 1;
  el.live.textContent = "";
  el.versions.replaceChildren();
  el.history.replaceChildren();
  el.shadow.replaceChildren();
  el.shadowCaption.textContent = "";
  hideError(el.error);
}

onShow("models", load);
