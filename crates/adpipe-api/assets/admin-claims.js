// Claims in the moderation console: the ad a moderator has open in the
// Review view is held for them (`POST admin/ads/{id}/claim`), so that two
// people never work on the same ad. The server holds it for
// ADPIPE_CLAIM_SECS (10 minutes by default); the page claims it again at
// half time while the ad stays open, and releases it (`DELETE`, without
// waiting for the answer) when the ad is left undecided: another ad, another
// view, signing out, closing the page. A decision ends the claim on the
// server. A 409 `claimed` means a colleague holds the ad: the page says who
// and until when, disables the decision controls for it and offers the
// next free ad. Roles that do not decide claim nothing.
//
// What the queue shows of claims (the badges, which ads `j` skips) is
// admin-queue.js's; it hands this module the ad shown (holdCurrent) and
// hears back what the server said (onClaimSeen, onClaimGone, onNextFree).

import { adPath, api, handled, may, session } from "./admin-api.js";
import { currentView } from "./admin-tabs.js";
import { clock, refusal, short, text } from "./admin-view.js";
import { $, node } from "./dom.js";

// Renewals come at half the time left, within these bounds (the browser's
// clock may be off the server's: the bounds keep a renewal in time).
const MIN_RENEW_MS = 10 * 1000;
const MAX_RENEW_MS = 5 * 60 * 1000;
// How long signing out waits for the release before it goes on.
const RELEASE_WAIT_MS = 1500;

const el = {
  status: $("claim-status"),
  decide: $("decide"),
};

// The claim of the ad shown: `id` (null: none), and `state`:
//   "claiming"  asked, no answer yet;
//   "mine"      held by the signed-in account until `until` (ms);
//   "other"     held by `by` until `until`: no decision from here;
//   "failed"    the server could not be asked (`message` says why);
//   "none"      nothing held (a role that does not decide).
// `generation` tells an answer to an earlier request from the current one.
const claim = { id: null, state: "none", by: null, until: null, message: "", timer: null, generation: 0 };

// What the queue does with what the server said about an ad's claim: `seen`
// ({claimed_by, until_ms} or null) updates its badges; `gone` (the error)
// takes it out of the queue (decided meanwhile, or deleted); `next` shows
// the next ad nobody else holds.
let seen = () => {};
let gone = () => {};
let next = () => {};

export function onClaimSeen(handler) {
  seen = handler;
}

export function onClaimGone(handler) {
  gone = handler;
}

export function onNextFree(handler) {
  next = handler;
}

// The signed-in account's name, as claims name it.
function me() {
  return session.me ? session.me.name : null;
}

// Whether a claim of the queue's list (or the server's answer) is someone
// else's.
export function heldByOther(listed) {
  return Boolean(listed && typeof listed === "object" && text(listed.claimed_by, null) && listed.claimed_by !== me());
}

// Whether the ad `id` is shown as a colleague's: no decision on it here.
export function blockedBy(id) {
  return claim.id === id && claim.state === "other" ? { by: claim.by, until: claim.until } : null;
}

// ------------------------------------------------------------- drawing

function render() {
  const held = claim.state === "other";
  for (const control of el.decide.querySelectorAll("fieldset, textarea")) control.disabled = held;
  el.status.dataset.state = claim.state;
  if (!claim.id || claim.state === "none" || !may("decide")) {
    el.status.hidden = true;
    el.status.replaceChildren();
    return;
  }
  el.status.hidden = false;
  switch (claim.state) {
    case "claiming":
      el.status.replaceChildren("Claiming this ad for you…");
      break;
    case "mine":
      el.status.replaceChildren("You hold this ad until " + clock(claim.until) + ": colleagues skip it.");
      break;
    case "other": {
      const button = node("button", { id: "claim-next", type: "button", class: "button small" }, "Next free ad ", node("kbd", null, "j"));
      button.addEventListener("click", () => next());
      el.status.replaceChildren(
        node("strong", null, text(claim.by, "A colleague")),
        " holds this ad until " + clock(claim.until) + ": you cannot decide on it now. ",
        button,
      );
      break;
    }
    default:
      el.status.replaceChildren(
        "Could not claim this ad (" + claim.message + "). You may still decide on it; a colleague might be looking at it too.",
      );
  }
}

// ------------------------------------------------------------ requests

function release(id) {
  api(adPath(id) + "/claim", { method: "DELETE" }).catch(() => {});
}

function schedule(id) {
  clearTimeout(claim.timer);
  const left = (Number(claim.until) || 0) - Date.now();
  const delay = Math.min(MAX_RENEW_MS, Math.max(MIN_RENEW_MS, left / 2));
  claim.timer = setTimeout(() => {
    if (claim.id === id && claim.state === "mine") ask(id, { renewing: true });
  }, delay);
}

// Who holds `id` (after a 409 `claimed`): the ad's record, or failing that
// the error's message ("bo holds ad … until …").
async function holder(id, error) {
  try {
    const ad = await api(adPath(id));
    if (ad && ad.status && ad.status !== "in_review") return { gone: true };
    if (ad && heldByOther(ad.claim)) return { by: ad.claim.claimed_by, until: Number(ad.claim.until_ms) };
    if (ad && !ad.claim) return { free: true };
  } catch (_) {
    // The message will do.
  }
  const by = String(error.message || "").split(" holds ad ")[0];
  return { by: by || null, until: null };
}

// Claims `id` (again, when `renewing`: the page keeps saying it holds it
// meanwhile).
async function ask(id, options) {
  const { renewing = false, again = true } = options || {};
  clearTimeout(claim.timer);
  const generation = ++claim.generation;
  claim.id = id;
  if (!renewing) {
    claim.state = "claiming";
    render();
  }
  let answer;
  try {
    answer = await api(adPath(id) + "/claim", { method: "POST" });
  } catch (error) {
    if (handled(error)) return;
    if (generation !== claim.generation) return;
    if (error.status === 409 && error.code === "claimed") {
      const who = await holder(id, error);
      if (generation !== claim.generation) return;
      if (who.gone) {
        claim.id = null;
        claim.state = "none";
        render();
        gone(id, error);
        return;
      }
      // Released in between: once more.
      if (who.free && again) return ask(id, { again: false });
      claim.state = "other";
      claim.by = who.by;
      claim.until = who.until;
      render();
      seen(id, { claimed_by: who.by || "?", until_ms: who.until });
      return;
    }
    if (error.status === 409 || error.status === 404) {
      claim.id = null;
      claim.state = "none";
      render();
      gone(id, error);
      return;
    }
    if (error.status === 403) {
      // The role changed: the console asks who it is (admin.js).
      claim.state = "none";
      render();
      return;
    }
    if (renewing) {
      // Still held for a while: try again soon.
      claim.timer = setTimeout(() => {
        if (claim.id === id && claim.state === "mine") ask(id, { renewing: true });
      }, MIN_RENEW_MS);
      return;
    }
    claim.state = "failed";
    claim.message = refusal(error);
    render();
    return;
  }
  if (generation !== claim.generation) {
    // Left meanwhile, undecided (a decision ends the claim): let it go,
    // unless the page is back on this ad.
    if (claim.id !== id) release(id);
    return;
  }
  claim.state = "mine";
  claim.by = text(answer.claimed_by, me());
  claim.until = Number(answer.until_ms);
  render();
  seen(id, { claimed_by: claim.by, until_ms: claim.until });
  schedule(id);
}

// -------------------------------------------------------------- public

// The ad shown in the Review view (null: none): claims it, once; leaves the
// one before. Called whenever the review's current ad is drawn, so it also
// takes in what a fresh list says (a colleague's claim that ended).
export function holdCurrent(item) {
  const wanted = Boolean(item) && session.active && may("decide") && currentView() === "review";
  if (!wanted) {
    letGo();
    return;
  }
  if (claim.id === item.id) {
    if ((claim.state === "other" && !heldByOther(item.claim)) || claim.state === "failed") {
      // Free again (or the server could not be asked): once more.
      ask(item.id);
    } else if (claim.state === "mine" && heldByOther(item.claim)) {
      // Ran out (a sleeping laptop) and a colleague took it.
      clearTimeout(claim.timer);
      claim.state = "other";
      claim.by = item.claim.claimed_by;
      claim.until = Number(item.claim.until_ms);
      render();
    }
    return;
  }
  letGo();
  ask(item.id);
}

// The ad was left undecided: released (an answer still on its way is let
// go when it comes).
export function letGo() {
  clearTimeout(claim.timer);
  const { id, state } = claim;
  claim.generation += 1;
  claim.id = null;
  claim.state = "none";
  render();
  if (id && (state === "mine" || state === "failed") && may("decide")) {
    release(id);
    if (state === "mine") seen(id, null);
  }
}

// The ad was decided (by this account): the server ended the claim.
export function forgetClaim(id) {
  if (claim.id !== id) return;
  clearTimeout(claim.timer);
  claim.generation += 1;
  claim.id = null;
  claim.state = "none";
  render();
}

// A decision was refused with 409 `claimed`: ask again, and show who holds
// it.
export function recheck(id) {
  if (!may("decide")) return;
  ask(id);
}

// Signing out: the release is sent while the session still lasts, and
// waited for a moment.
export function releaseBeforeSignOut() {
  const { id, state } = claim;
  clearTimeout(claim.timer);
  claim.generation += 1;
  claim.id = null;
  claim.state = "none";
  render();
  if (!id || (state !== "mine" && state !== "claiming") || !may("decide")) return Promise.resolve();
  const sent = api(adPath(id) + "/claim", { method: "DELETE" }).catch(() => {});
  return Promise.race([sent, new Promise((resolve) => setTimeout(resolve, RELEASE_WAIT_MS))]);
}

// The page is going away (closed, reloaded, another address): a request
// that outlives it (`keepalive`), same origin, so the browser sends the
// cookie and the Origin header the server checks.
export function releaseOnUnload() {
  const { id, state } = claim;
  clearTimeout(claim.timer);
  claim.generation += 1;
  claim.id = null;
  claim.state = "none";
  if (!id || (state !== "mine" && state !== "claiming") || !session.active || !may("decide")) return;
  try {
    fetch(adPath(id) + "/claim", { method: "DELETE", keepalive: true, credentials: "same-origin", cache: "no-store" }).catch(
      () => {},
    );
  } catch (_) {
    // Nothing to be done: the claim runs out on its own.
  }
}

// Nothing of a session left (it ended: nothing to release any more).
export function resetClaim() {
  clearTimeout(claim.timer);
  claim.generation += 1;
  claim.id = null;
  claim.state = "none";
  claim.by = null;
  claim.until = null;
  render();
}

// Said in the status line when a decision is refused here.
export function heldMessage(id, held) {
  return (
    text(held.by, "A colleague") +
    " holds ad " +
    short(id) +
    (held.until ? " until " + clock(held.until) : "") +
    ": you cannot decide on it now. Press j for the next free ad."
  );
}
