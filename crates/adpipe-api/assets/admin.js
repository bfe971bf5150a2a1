// adpipe's moderation console (/admin): sign in with your account's name
// and password, work through the ads waiting for review (keyboard: a
// approve, r reject, each on to the next ad; j next, k previous; the ad
// open is held for you, and those colleagues hold are skipped), with an
// internal note on any decision, find any ad by id or email with its
// decision history, and override a final decision; manage your API
// tokens and your password; admins also manage the team's accounts and
// read the audit log. What the page offers follows the role (`may` of
// GET admin/me); the server checks every request anyway. Plain JavaScript
// in ES modules, no dependencies, nothing fetched from elsewhere; every URL
// is relative (the requests' to the page, the imports' to this file: they
// load from /assets/).
//
// This file is the entry point: what starts and ends with a session, the
// role's controls, the keyboard shortcuts and the wiring of the review
// view. The parts:
//   dom.js            building elements, the API's errors (all pages share it)
//   admin-api.js      the session, the requests made in it, the photos
//   admin-view.js     formats, pickers, the status line, error boxes, a
//                     secret shown once, showing a photo
//   admin-session.js  signing in and out, changing one's password
//   admin-tabs.js     the views' tabs (Review, Tokens, Team, Audit log,
//                     Password)
//   admin-queue.js    the review queue: its pages, moving along it, the decisions
//   admin-ad.js       the ad shown in the review and its decision form
//   admin-claims.js   holding the ad open (claims), releasing it
//   admin-search.js   finding an ad, its history, overrides
//   admin-tokens.js   the Tokens view
//   admin-team.js     the Team view (admins)
//   admin-models.js   the Models view: versions, the shadow report, promotions
//   admin-audit.js    the Audit log view (admins)
//
// The session is an HttpOnly, SameSite=Strict cookie that the server sets
// when signing in: this script never reads it, and nothing is kept in
// sessionStorage or localStorage. Everything the server returns is shown
// with textContent.
//
// A module runs once the page is parsed (like a deferred script), so the
// elements are all there when these files look them up.

import { forgetImages, may, onForbidden, onUnauthorized, role, session } from "./admin-api.js";
import { letGo, onNextFree, releaseBeforeSignOut, releaseOnUnload } from "./admin-claims.js";
import { clearStatus, fillSelect, say, sayError } from "./admin-view.js";
import { $, node } from "./dom.js";
import { REASONS } from "./admin-ad.js";
import {
  decide,
  holdShown,
  loadQueue,
  move,
  onDecided,
  queue,
  refreshQueue,
  resetQueue,
  select,
} from "./admin-queue.js";
import { clearSearchError, decideFound, queueDecided, resetSearch, search } from "./admin-search.js";
import {
  endSession,
  onRoleChange,
  onSessionEnd,
  onSessionStart,
  onSigningOut,
  refreshMe,
  resume,
} from "./admin-session.js";
import { applyPermissions, currentView, onLeave, onShow, resetViews, showView } from "./admin-tabs.js";
import { resetAudit } from "./admin-audit.js";
import { resetModels } from "./admin-models.js";
import { resetTeam } from "./admin-team.js";
import { resetTokens } from "./admin-tokens.js";

const TICK_MS = 15000;

const el = {
  main: $("main"),
  console: $("console"),
  refresh: $("refresh"),
  queue: $("queue"),
  current: $("current"),
  decide: $("decide"),
  decideNone: $("decide-none"),
  approve: $("approve"),
  reason: $("reason"),
  reject: $("reject"),
  quickReasons: $("quick-reasons"),
  previous: $("previous"),
  next: $("next"),
  searchForm: $("search-form"),
  search: $("search"),
  overrideReason: $("override-reason"),
  overrideApprove: $("override-approve"),
  overrideReject: $("override-reject"),
};

let ticker = null;

// A text input: keys typed there are text, not shortcuts. Selects too
// (letters pick an option).
function isTyping(target) {
  if (!(target instanceof Element)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === "TEXTAREA" || tag === "SELECT") return true;
  if (tag !== "INPUT") return false;
  const type = (target.getAttribute("type") || "text").toLowerCase();
  return !["button", "submit", "reset", "checkbox", "radio", "range", "color", "file", "image"].includes(type);
}

// ------------------------------------------------------------- session

// What the role may do, on the page: the decision controls for "decide",
// the admins' tabs for "manage_accounts" and "read_audit".
function applyRole() {
  const decides = may("decide");
  el.decide.hidden = !decides;
  el.decideNone.hidden = decides;
  el.decideNone.textContent = decides ? "" : "Your role (" + role() + ") may look at ads but not decide on them.";
  applyPermissions();
  // A role that decides holds the ad shown; one that does not, nothing.
  holdShown();
}

function tick() {
  if (document.hidden || el.console.hidden || currentView() !== "review") return;
  refreshQueue();
}

onSessionStart(async () => {
  applyRole();
  showView("review", { quiet: true });
  clearInterval(ticker);
  ticker = setInterval(tick, TICK_MS);
  // Focus off the form, so the shortcuts work at once.
  el.main.focus();
  const epoch = session.epoch;
  if ((await loadQueue()) && epoch === session.epoch && !el.current.hidden) el.current.focus();
});

onSessionEnd(() => {
  clearInterval(ticker);
  ticker = null;
  resetQueue();
  resetSearch();
  resetTokens();
  resetTeam();
  resetAudit();
  resetModels();
  resetViews();
  forgetImages();
  clearStatus();
});

onRoleChange((me) => {
  applyRole();
  say("Your role is now " + me.role + ".");
});

// A signed-out 401 from any request ends the session; the form says why
// (nothing at start-up, when nobody was signed in yet).
onUnauthorized((error) => {
  if (!session.active) {
    endSession({ focus: false });
    return;
  }
  endSession({
    error: {
      title: "Your session has ended (it expired, was signed out elsewhere, or your account changed). Sign in again.",
      error,
    },
  });
});
// A 403: the role may have changed meanwhile; ask again.
onForbidden(() => refreshMe());
onDecided(queueDecided);
// Signing out releases the ad held first, while the session still lasts.
onSigningOut(releaseBeforeSignOut);
onNextFree(() => move(1));

// ------------------------------------------------------ the review view

fillSelect(el.reason, REASONS, REASONS[0], null);
fillSelect(el.overrideReason, REASONS, REASONS[0], null);
el.quickReasons.replaceChildren(
  ...REASONS.map((reason) => {
    const button = node("button", { type: "button", class: "button small" }, reason);
    button.addEventListener("click", () => decide("rejected", reason));
    return node("li", null, button);
  }),
);

onShow("review", () => loadQueue());
// Another view: the ad shown is left undecided, so it is released (and
// claimed again when the review is back).
onLeave("review", () => letGo());
el.refresh.addEventListener("click", async () => {
  if (await loadQueue()) say("The queue was refreshed.");
});
el.queue.addEventListener("click", (event) => {
  const button = event.target instanceof Element ? event.target.closest(".queue-item") : null;
  if (!button) return;
  select(queue.items.findIndex((item) => item.id === button.dataset.id));
});
el.approve.addEventListener("click", () => decide("approved"));
el.reject.addEventListener("click", () => decide("rejected"));
el.previous.addEventListener("click", () => move(-1));
el.next.addEventListener("click", () => move(1));
el.searchForm.addEventListener("submit", search);
el.search.addEventListener("input", clearSearchError);
el.overrideApprove.addEventListener("click", () => decideFound("approved"));
el.overrideReject.addEventListener("click", () => decideFound("rejected"));

// The shortcuts, in the review view, whenever the focus is not in a text
// field. A held key does not repeat a decision; a role that may not
// decide is told so by a and r.
document.addEventListener("keydown", (event) => {
  if (el.console.hidden || currentView() !== "review") return;
  if (event.defaultPrevented || event.repeat) return;
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (isTyping(event.target)) return;
  switch (event.key) {
    case "a":
      decide("approved");
      break;
    case "r":
      decide("rejected");
      break;
    case "j":
      move(1);
      break;
    case "k":
      move(-1);
      break;
    default:
      return;
  }
  event.preventDefault();
});

document.addEventListener("visibilitychange", () => {
  if (!document.hidden && session.active) tick();
});

// Closing or leaving the page releases the ad held (a request that
// outlives the page); back from the browser's cache, it is claimed again.
window.addEventListener("pagehide", () => releaseOnUnload());
window.addEventListener("pageshow", (event) => {
  if (event.persisted && session.active) holdShown();
});

// Signed in already (a reload, another tab of this browser), or the form.
resume().catch((error) => sayError("Could not start the console: " + error.message, error));
