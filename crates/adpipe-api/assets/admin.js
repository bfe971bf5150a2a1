// adpipe's moderation console (/admin): sign in with the admin token, work
// through the ads waiting for review (keyboard: a approve, r reject, j next,
// k previous), find any ad by id or email with its decision history, and
// override a final decision. Plain JavaScript in ES modules, no
// dependencies, nothing fetched from elsewhere; every URL is relative (the
// requests' to the page, the imports' to this file: they load from
// /assets/).
//
// This file is the entry point: signing in and out, the keyboard shortcuts
// and the wiring of the page. The parts:
//   admin-api.js     the session, the requests with its token, the photos
//   admin-view.js    building elements, formats, pickers, the status line
//   admin-queue.js   the review queue and the decisions on it
//   admin-search.js  finding an ad, its history, overrides
//
// The token is kept in sessionStorage (this tab, until it is closed or the
// moderator signs out) and only ever travels in an Authorization header set
// in admin-api.js, never in a cookie, so other sites cannot make the browser
// use it. Everything the server returns is shown with textContent.
//
// A module runs once the page is parsed (like a deferred script), so the
// elements are all there when these files look them up.

import { forgetImages, onUnauthorized, session, storeSession, storedSession } from "./admin-api.js";
import { $, clearStatus, fillSelect, node, say } from "./admin-view.js";
import {
  REASONS,
  decide,
  loadQueue,
  move,
  onDecided,
  queue,
  refreshQueue,
  resetQueue,
  select,
} from "./admin-queue.js";
import { clearSearchError, decideFound, queueDecided, resetSearch, search } from "./admin-search.js";

const TICK_MS = 15000;

const el = {
  main: $("main"),
  session: $("session"),
  who: $("who"),
  signout: $("signout"),
  signin: $("signin"),
  signinForm: $("signin-form"),
  signinError: $("signin-error"),
  signinButton: $("signin-button"),
  token: $("token"),
  moderator: $("moderator"),
  console: $("console"),
  refresh: $("refresh"),
  queue: $("queue"),
  current: $("current"),
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

// ------------------------------------------------------------ session

function showSigninError(message, error) {
  const parts = [node("p", null, node("strong", null, message))];
  if (error) {
    parts.push(node("p", null, error.message));
    if (error.status) {
      parts.push(
        node("p", { class: "hint" }, "Error code ", node("code", null, error.code), ", HTTP " + error.status + "."),
      );
    }
    if (error.status === 404) {
      parts.push(node("p", null, "Are the admin endpoints on? They need ADPIPE_ADMIN_TOKEN set on the server."));
    }
  }
  el.signinError.replaceChildren(...parts);
  el.signinError.hidden = false;
}

function resetConsole() {
  resetQueue();
  resetSearch();
  forgetImages();
  clearStatus();
}

// Back to the sign-in form, with nothing of the session left in the tab.
function endSession(message, error) {
  session.epoch += 1;
  session.token = null;
  session.moderator = null;
  session.active = false;
  storeSession(null, null);
  clearInterval(ticker);
  ticker = null;
  resetConsole();
  el.console.hidden = true;
  el.session.hidden = true;
  el.signin.hidden = false;
  el.token.value = "";
  document.title = "adpipe: moderation";
  if (message) {
    showSigninError(message, error);
    el.signinError.focus();
  } else {
    el.signinError.hidden = true;
    el.signinError.replaceChildren();
    el.token.focus();
  }
}

function tick() {
  if (document.hidden || el.console.hidden) return;
  refreshQueue();
}

// Checks the token by loading the queue; only a token that works is kept.
async function startSession(token, moderator) {
  session.epoch += 1;
  session.token = token;
  session.moderator = moderator;
  session.active = false;
  el.signinButton.setAttribute("aria-disabled", "true");
  el.signinForm.setAttribute("aria-busy", "true");
  el.signinError.hidden = true;
  resetConsole();
  const epoch = session.epoch;
  queue.lastError = null;
  const ok = await loadQueue();
  el.signinButton.setAttribute("aria-disabled", "false");
  el.signinForm.setAttribute("aria-busy", "false");
  if (epoch !== session.epoch) return; // a 401: the sign-in form says so
  if (!ok) {
    const error = queue.lastError;
    session.epoch += 1;
    session.token = null;
    el.token.value = token;
    el.moderator.value = moderator;
    showSigninError("Could not open the review queue.", error);
    el.signinError.focus();
    return;
  }
  session.active = true;
  storeSession(token, moderator);
  el.token.value = "";
  el.who.textContent = moderator;
  el.signin.hidden = true;
  el.session.hidden = false;
  el.console.hidden = false;
  say("Signed in as " + moderator + ".");
  clearInterval(ticker);
  ticker = setInterval(tick, TICK_MS);
  // Focus off the form, so the shortcuts work at once.
  if (!el.current.hidden) el.current.focus();
  else el.main.focus();
}

function signIn(event) {
  event.preventDefault();
  if (el.signinButton.getAttribute("aria-disabled") === "true") return;
  const token = el.token.value.trim();
  const moderator = el.moderator.value.trim();
  el.token.removeAttribute("aria-invalid");
  el.moderator.removeAttribute("aria-invalid");
  if (!token) {
    showSigninError("Enter the admin token.");
    el.token.setAttribute("aria-invalid", "true");
    el.token.focus();
    return;
  }
  if (!moderator || /[\u0000-\u001F\u007F-\u009F]/.test(moderator)) {
    showSigninError("Enter your name; it is recorded with your decisions.");
    el.moderator.setAttribute("aria-invalid", "true");
    el.moderator.focus();
    return;
  }
  startSession(token, moderator);
}

// ------------------------------------------------------------ wiring

// A 401 from any request ends the session.
onUnauthorized((error) => {
  endSession(
    session.active
      ? "You were signed out: the server no longer accepts the token."
      : "Not signed in: the server refused this token.",
    error,
  );
});
onDecided(queueDecided);

fillSelect(el.reason, REASONS, REASONS[0], null);
fillSelect(el.overrideReason, REASONS, REASONS[0], null);
el.quickReasons.replaceChildren(
  ...REASONS.map((reason) => {
    const button = node("button", { type: "button", class: "button small" }, reason);
    button.addEventListener("click", () => decide("rejected", reason));
    return node("li", null, button);
  }),
);

el.signinForm.addEventListener("submit", signIn);
el.signout.addEventListener("click", () => endSession(null));
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

// The shortcuts, whenever the focus is not in a text field. A held key
// does not repeat a decision.
document.addEventListener("keydown", (event) => {
  if (el.console.hidden || event.defaultPrevented || event.repeat) return;
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

// A reload of the tab keeps the session.
const stored = storedSession();
if (stored.token && stored.moderator) {
  el.moderator.value = stored.moderator;
  startSession(stored.token, stored.moderator);
}
