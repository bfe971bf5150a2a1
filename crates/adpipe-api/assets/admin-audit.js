// The Audit log view (admins: read_audit): who did what to whom, from
// where, newest first, a page at a time ("Older entries" asks for the
// page before the last entry shown, with the `next` of the page before),
// filtered by actor (account:ana, token:ana/nightly, bootstrap) and action
// (ad.decided, session.signed_in, ...).
//
// Its buttons and form are wired here; admin-tabs.js loads the first page
// when the view is shown.

import { api, handled } from "./admin-api.js";
import { onShow } from "./admin-tabs.js";
import { dateTime, hideError, refusal, showError } from "./admin-view.js";
import { $, node } from "./dom.js";

const PAGE_SIZE = 50;

// The actions the server records, offered as the filter's suggestions.
const ACTIONS = [
  "ad.decided",
  "ad.overridden",
  "ad.retagged",
  "ad.deleted",
  "session.signed_in",
  "session.signed_out",
  "session.sign_in_failed",
  "account.created",
  "account.role_changed",
  "account.disabled",
  "account.enabled",
  "account.password_reset",
  "account.password_changed",
  "token.created",
  "token.revoked",
];

const el = {
  form: $("audit-form"),
  actor: $("audit-actor"),
  action: $("audit-action"),
  actions: $("audit-actions"),
  clear: $("audit-clear"),
  error: $("audit-error"),
  caption: $("audit-caption"),
  rows: $("audit-rows"),
  older: $("audit-older"),
};

// `filter`: what the rows shown were asked with; `next`: the `before` of
// the page after them (null: the last page is shown).
const audit = { filter: { actor: "", action: "" }, next: null, count: 0, generation: 0 };

function text(value) {
  return typeof value === "string" && value !== "" ? value : "—";
}

// An entry's detail (an object, e.g. {"role": "viewer"}) as "role: viewer".
function detail(value) {
  if (value === null || value === undefined) return "—";
  if (typeof value !== "object" || Array.isArray(value)) return JSON.stringify(value);
  const parts = Object.entries(value).map(
    ([key, item]) => key + ": " + (typeof item === "string" ? item : JSON.stringify(item)),
  );
  return parts.length ? parts.join(", ") : "—";
}

function row(entry) {
  const at = typeof entry.at_ms === "number" ? dateTime(entry.at_ms) : text(entry.at);
  const from = node("td", null, text(entry.address));
  if (typeof entry.user_agent === "string" && entry.user_agent) {
    from.append(node("span", { class: "hint user-agent" }, entry.user_agent));
  }
  return node(
    "tr",
    { "data-seq": String(entry.seq), "data-action": text(entry.action) },
    node("td", null, node("time", { datetime: text(entry.at) }, at)),
    node("td", null, node("code", null, text(entry.actor))),
    node("td", null, node("code", null, text(entry.action))),
    node("td", null, text(entry.target)),
    node("td", null, detail(entry.detail)),
    from,
  );
}

function path(before) {
  const query = new URLSearchParams();
  if (audit.filter.actor) query.set("actor", audit.filter.actor);
  if (audit.filter.action) query.set("action", audit.filter.action);
  if (before !== null) query.set("before", String(before));
  query.set("limit", String(PAGE_SIZE));
  return "admin/audit?" + query.toString();
}

function describe() {
  const parts = [];
  if (audit.filter.actor) parts.push("by " + audit.filter.actor);
  if (audit.filter.action) parts.push("action " + audit.filter.action);
  const what = parts.length ? "Entries " + parts.join(", ") : "All entries";
  const end = audit.next === null ? ", down to the oldest)" : ")";
  el.caption.textContent = what + ", newest first (" + audit.count + " shown" + end;
}

// The first page (with `older`: the page after the rows shown).
async function load(older) {
  const generation = ++audit.generation;
  const before = older ? audit.next : null;
  if (older && before === null) return;
  hideError(el.error);
  el.rows.setAttribute("aria-busy", "true");
  el.older.setAttribute("aria-disabled", "true");
  try {
    const page = await api(path(before));
    if (generation !== audit.generation) return;
    const entries = (Array.isArray(page.entries) ? page.entries : []).filter((entry) => entry && typeof entry === "object");
    const rows = entries.map(row);
    if (older) {
      el.rows.append(...rows);
      audit.count += rows.length;
    } else {
      el.rows.replaceChildren(...rows);
      audit.count = rows.length;
      if (!rows.length) el.rows.append(node("tr", null, node("td", { colspan: "6" }, "No entries.")));
    }
    audit.next = typeof page.next === "number" ? page.next : null;
    el.older.hidden = audit.next === null;
    describe();
    // The first new row takes the focus, so the reader goes on from there.
    if (older && rows.length) {
      rows[0].tabIndex = -1;
      rows[0].focus();
    }
  } catch (error) {
    if (handled(error) || generation !== audit.generation) return;
    showError(el.error, "Could not read the audit log.", error);
  } finally {
    if (generation === audit.generation) {
      el.rows.removeAttribute("aria-busy");
      el.older.setAttribute("aria-disabled", "false");
    }
  }
}

export function loadAudit() {
  return load(false);
}

function filter(event) {
  event.preventDefault();
  audit.filter = { actor: el.actor.value.trim(), action: el.action.value.trim() };
  load(false);
}

// Signed out: no rows, no filter.
export function resetAudit() {
  audit.generation += 1;
  audit.filter = { actor: "", action: "" };
  audit.next = null;
  audit.count = 0;
  el.form.reset();
  el.rows.replaceChildren();
  el.older.hidden = true;
  el.caption.textContent = "Newest first";
  hideError(el.error);
}

el.actions.replaceChildren(...ACTIONS.map((action) => node("option", { value: action })));
onShow("audit", loadAudit);
el.form.addEventListener("submit", filter);
el.clear.addEventListener("click", () => {
  el.form.reset();
  audit.filter = { actor: "", action: "" };
  load(false);
});
el.older.addEventListener("click", () => {
  if (el.older.getAttribute("aria-disabled") !== "true") load(true);
});
