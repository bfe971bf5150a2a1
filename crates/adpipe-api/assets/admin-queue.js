// The review queue of the moderation console: the ads waiting for a
// person, loaded a page at a time (oldest first), the moves through them
// (next, previous) and the decision on the current one (approve, reject).
// The ad shown large, with its photo, text, tags, the model's suggestion,
// the submitter's appeal and the decision form with its note, is
// admin-ad.js's. The list marks the ads a colleague holds (a claim,
// admin-claims.js) and the appealed ones; the moves and a decision go to
// the next ad nobody else holds. The keys and buttons that call these are
// wired in admin.js.

import { adPath, api, handled, imageFor, keepImages, may, pruneImages, role, session } from "./admin-api.js";
import {
  adShown,
  clearAd,
  decisionBody,
  forgetShown,
  hideAd,
  markBusy,
  refreshWaiting,
  showAd,
  shownId,
  waiting,
} from "./admin-ad.js";
import {
  blockedBy,
  forgetClaim,
  heldByOther,
  heldMessage,
  holdCurrent,
  onClaimGone,
  onClaimSeen,
  recheck,
  resetClaim,
} from "./admin-claims.js";
import { refusal, say, sayError, short, text } from "./admin-view.js";
import { $, node } from "./dom.js";

// Ads asked for at once, in the queue and in a search by email.
export const PAGE_SIZE = 50;

const el = {
  queueCount: $("queue-count"),
  queue: $("queue"),
  queueMore: $("queue-more"),
  queueEmpty: $("queue-empty"),
};

export const queue = {
  items: [],
  index: 0,
  total: 0,
  next: null,
  categories: [],
  loading: null,
  busy: false,
  lastError: null,
};

// The photos kept: the current ad's, the one before and the two after.
keepImages(() => {
  const keep = [];
  for (let index = queue.index - 1; index <= queue.index + 2; index += 1) {
    const item = queue.items[index];
    if (item) keep.push(item.id);
  }
  return keep;
});

// What else should follow a decision made here (the search's panel, when
// it shows the same ad); set once at start-up.
let decided = () => {};

export function onDecided(handler) {
  decided = handler;
}

// ------------------------------------------------------------- drawing

function setCount() {
  const count = Math.max(queue.total, queue.items.length);
  el.queueCount.textContent = String(count);
  el.queueCount.dataset.count = String(count);
  document.title = "Moderation (" + count + ") · adpipe";
  const more = count - queue.items.length;
  el.queueMore.hidden = more <= 0;
  el.queueMore.textContent =
    more > 0 ? "Showing " + queue.items.length + "; " + more + " more after these (j past the last one loads them)." : "";
}

function renderQueue() {
  // The list is drawn anew; a focused entry keeps the focus.
  const active = document.activeElement;
  const focused = active && el.queue.contains(active) ? active.dataset.id : null;
  el.queue.replaceChildren(
    ...queue.items.map((item, index) => {
      const held = heldByOther(item.claim);
      const appealed = Boolean(item.appeal && typeof item.appeal === "object");
      const button = node(
        "button",
        { type: "button", class: "queue-item", "data-id": item.id },
        node("code", null, short(item.id)),
        node("span", { class: "queue-email" }, text(item.email, "")),
        node("span", { class: "queue-waiting" }, waiting(item)),
        (held || appealed) &&
          node(
            "span",
            { class: "queue-flags" },
            appealed && node("span", { class: "badge flag appeal-badge" }, "Appealed"),
            held && node("span", { class: "badge flag claim-badge" }, "held by " + text(item.claim.claimed_by, "?")),
          ),
      );
      if (held) button.dataset.held = "true";
      if (index === queue.index) button.setAttribute("aria-current", "true");
      return node("li", null, button);
    }),
  );
  if (focused) {
    const again = Array.from(el.queue.querySelectorAll(".queue-item")).find(
      (button) => button.dataset.id === focused,
    );
    if (again) again.focus();
  }
  setCount();
  el.queueEmpty.hidden = queue.items.length > 0 || queue.total > 0;
}

// Shows the ad at queue.index (admin-ad.js draws it).
function showCurrent() {
  if (queue.index >= queue.items.length) queue.index = queue.items.length - 1;
  if (queue.index < 0) queue.index = 0;
  renderQueue();
  const item = queue.items[queue.index];
  if (!item) {
    hideAd();
    pruneImages();
    holdCurrent(null);
    return;
  }
  showAd(item, queue.index, Math.max(queue.total, queue.items.length), queue.categories);
  // The next photo is fetched ahead, so it is there when it is wanted.
  const upcoming = queue.items[freeIndex(queue.index + 1, 1)];
  if (upcoming) imageFor(upcoming.id).catch(() => {});
  pruneImages();
  // Opening an ad claims it; leaving one releases it (admin-claims.js).
  holdCurrent(item);
}

// The queue brought up to date (every few seconds, and when the tab is
// shown again): newly arrived ads, and claims taken, released or run out.
// Past the first page (loaded with j), the first page alone would lose the
// ads after it: only the waiting times are brought up to date then.
export function refreshQueue() {
  if (queue.items.length <= PAGE_SIZE) {
    loadQueue();
    return;
  }
  for (const button of el.queue.querySelectorAll(".queue-item")) {
    const item = queue.items.find((candidate) => candidate.id === button.dataset.id);
    const span = button.querySelector(".queue-waiting");
    if (item && span) span.textContent = waiting(item);
  }
  const current = queue.items[queue.index];
  if (current) refreshWaiting(current);
}

// Nothing of a session left: no ads, no photo, the count at 0.
export function resetQueue() {
  queue.items = [];
  queue.index = 0;
  queue.total = 0;
  queue.next = null;
  queue.busy = false;
  setBusy(false);
  el.queue.replaceChildren();
  clearAd();
  el.queueCount.textContent = "0";
  el.queueCount.dataset.count = "0";
  el.queueEmpty.hidden = true;
  el.queueMore.hidden = true;
  recentlyDecided.clear();
  resetClaim();
}

// Claims the ad shown, or lets it go (a role that does not decide, no ad,
// another view): after a change of role, or back from the browser's cache.
export function holdShown() {
  holdCurrent(adShown() ? queue.items[queue.index] || null : null);
}

// -------------------------------------------------------------- moving

export function select(index) {
  if (index < 0 || index >= queue.items.length) return;
  queue.index = index;
  showCurrent();
}

// The first ad from `from` on, going by `step` (1 or -1), that no colleague
// holds; -1 if there is none.
function freeIndex(from, step) {
  for (let index = from; index >= 0 && index < queue.items.length; index += step) {
    if (!heldByOther(queue.items[index].claim)) return index;
  }
  return -1;
}

// Whether there are ads past the current one, going by `step`.
function beyond(step) {
  return step > 0 ? queue.index < queue.items.length - 1 : queue.index > 0;
}

// Lands on an ad nobody else holds when the current one is a colleague's
// (after this one, else before); stays put when every ad is held.
function landOnFree() {
  const current = queue.items[queue.index];
  if (!current || !heldByOther(current.claim)) return;
  let free = freeIndex(queue.index, 1);
  if (free < 0) free = freeIndex(queue.index - 1, -1);
  if (free >= 0) select(free);
}

// The next (1) or previous (-1) ad that no colleague holds. Past the last
// one listed, the next page; when colleagues hold all the rest (or the ad
// shown), the queue is asked again (claims run out and are released).
export async function move(step) {
  let target = freeIndex(queue.index + step, step);
  if (target < 0 && step > 0 && (queue.total > queue.items.length || queue.next)) {
    await loadQueue({ append: true });
    target = freeIndex(queue.index + step, step);
  }
  const current = queue.items[queue.index];
  if (target < 0 && (beyond(step) || (current && heldByOther(current.claim)))) {
    if (await loadQueue()) target = freeIndex(queue.index + step, step);
  }
  if (target < 0) {
    if (beyond(step)) {
      say(
        step > 0
          ? "Colleagues hold every ad after this one; try again in a moment."
          : "Colleagues hold every ad before this one.",
      );
    } else {
      say(step > 0 ? "This is the last ad in the queue." : "This is the first ad in the queue.");
    }
    return;
  }
  select(target);
}

// ------------------------------------------------------------- loading

// Loads the first page (again, keeping the current ad shown if it is
// still waiting), or with `append` the page after the last ad listed.
// Resolves to whether it worked.
export function loadQueue(options) {
  const { append = false } = options || {};
  if (queue.loading && queue.loading.epoch === session.epoch) return queue.loading.promise;
  const last = queue.items[queue.items.length - 1];
  let path = "admin/reviews?limit=" + PAGE_SIZE;
  if (append && last) path += "&after=" + encodeURIComponent(last.id);
  const keep = shownId();
  const keepIndex = queue.index;
  const loading = { epoch: session.epoch, promise: null };
  const asked = decisions;
  loading.promise = (async () => {
    el.queue.setAttribute("aria-busy", "true");
    try {
      const page = await api(path);
      const now = Date.now();
      const ads = (Array.isArray(page.ads) ? page.ads : []).filter(
        (ad) => ad && typeof ad.id === "string" && !decidedSince(ad.id, asked),
      );
      if (!append) seenDecisions(asked);
      for (const ad of ads) ad.seenAt = now;
      if (Array.isArray(page.categories)) {
        const categories = page.categories.filter((name) => typeof name === "string");
        if (categories.join("\n") !== queue.categories.join("\n")) {
          queue.categories = categories;
          // Another policy: the current ad's pickers are filled again.
          forgetShown();
        }
      }
      if (append && last) {
        const known = new Set(queue.items.map((item) => item.id));
        queue.items.push(...ads.filter((ad) => !known.has(ad.id)));
      } else {
        queue.items = ads;
        const position = keep ? ads.findIndex((ad) => ad.id === keep) : -1;
        if (position >= 0) {
          queue.index = position;
        } else {
          // A new start (or the ad shown left): the first ad from there on
          // that no colleague holds.
          queue.index = Math.min(keepIndex, Math.max(0, ads.length - 1));
          let free = freeIndex(queue.index, 1);
          if (free < 0) free = freeIndex(queue.index - 1, -1);
          if (free >= 0) queue.index = free;
        }
      }
      queue.next = typeof page.next === "string" ? page.next : null;
      const total = Number(page.total);
      queue.total = Number.isFinite(total) ? Math.max(total, queue.items.length) : queue.items.length;
      showCurrent();
      return true;
    } catch (error) {
      if (!handled(error)) sayError("Could not load the review queue: " + refusal(error), error);
      queue.lastError = error;
      return false;
    } finally {
      el.queue.removeAttribute("aria-busy");
      if (queue.loading === loading) queue.loading = null;
    }
  })();
  queue.loading = loading;
  return loading.promise;
}

// An ad left the queue (decided, here or elsewhere): when it was the one
// shown, the next one that no colleague holds is shown (after it, else
// before it): deciding is deciding-and-next.
export function removeFromQueue(id) {
  const index = queue.items.findIndex((item) => item.id === id);
  if (index < 0) return;
  const wasCurrent = index === queue.index;
  queue.items.splice(index, 1);
  if (index < queue.index) queue.index -= 1;
  queue.total = Math.max(0, queue.total - 1);
  if (wasCurrent) {
    let free = freeIndex(queue.index, 1);
    if (free < 0) free = freeIndex(queue.index - 1, -1);
    if (free >= 0) queue.index = free;
  }
  showCurrent();
  const more = queue.total > queue.items.length || Boolean(queue.next);
  if (!queue.items.length && (queue.total > 0 || queue.next)) {
    // The page ran out but the server has more (or others arrived).
    loadQueue();
  } else if (wasCurrent && queue.items.length && freeIndex(0, 1) < 0) {
    // Colleagues hold all that is left here: the next page, or the queue
    // again (claims end).
    loadQueue(more ? { append: true } : undefined).then((ok) => ok && landOnFree());
  }
}

// Ads decided here, numbered: a load asked before the decision (and
// answered after it) keeps them out of the list; one asked after it knows
// better (an appeal brings a decided ad back).
const recentlyDecided = new Map();
let decisions = 0;

function decidedSince(id, asked) {
  const at = recentlyDecided.get(id);
  return at !== undefined && at > asked;
}

// Forgets the decisions that a load asked after them has seen.
function seenDecisions(asked) {
  for (const [id, at] of recentlyDecided) if (at <= asked) recentlyDecided.delete(id);
}

// What the server says of a claim, for the list: its badge, and whether j
// skips the ad.
onClaimSeen((id, claim) => {
  const item = queue.items.find((candidate) => candidate.id === id);
  if (!item) return;
  item.claim = claim;
  renderQueue();
});

// The ad shown was decided meanwhile (a claim answered 409 not_in_review)
// or deleted (404).
onClaimGone((id, error) => {
  removeFromQueue(id);
  sayError(
    error.status === 404
      ? "Ad " + short(id) + " no longer exists; it left the queue."
      : "Ad " + short(id) + " was decided meanwhile; it left the queue.",
    error,
  );
});

// ------------------------------------------------------------ deciding

function setBusy(on) {
  queue.busy = on;
  markBusy(on);
}

// The decision on the current ad, by the signed-in account (the server
// records it as moderator:<name>). A 409 means a colleague decided first.
export async function decide(outcome, reasonOverride) {
  if (queue.busy) return;
  const item = queue.items[queue.index];
  if (!item) return;
  if (!may("decide")) {
    sayError("Your role (" + role() + ") may look at ads but not decide on them.");
    return;
  }
  const held = blockedBy(item.id);
  if (held) {
    sayError(heldMessage(item.id, held));
    return;
  }
  const body = decisionBody(outcome, reasonOverride);
  if (!body) return;
  const note = body.note;
  setBusy(true);
  try {
    const ad = await api(adPath(item.id) + "/decision", { method: "POST", json: body });
    // The decision ended the claim.
    forgetClaim(item.id);
    recentlyDecided.set(item.id, ++decisions);
    removeFromQueue(item.id);
    const noted = note ? " (with a note for moderators)" : "";
    if (outcome === "approved") {
      say("Approved " + short(item.id) + " as " + text(ad.category, body.category) + noted + ".");
    } else {
      say("Rejected " + short(item.id) + noted + ": " + body.reason);
    }
    decided(item.id, ad);
  } catch (error) {
    if (handled(error)) return;
    if (error.status === 409 && error.code === "claimed") {
      // A colleague holds it (our claim ran out, or was never made).
      sayError("Could not decide on " + short(item.id) + ": " + error.message, error);
      recheck(item.id);
    } else if (error.status === 409) {
      removeFromQueue(item.id);
      sayError("A colleague decided on " + short(item.id) + " first; it left the queue.", error);
    } else if (error.status === 404) {
      removeFromQueue(item.id);
      sayError("Ad " + short(item.id) + " no longer exists; it left the queue.", error);
    } else {
      const verb = outcome === "approved" ? "approve " : "reject ";
      sayError("Could not " + verb + short(item.id) + ": " + refusal(error), error);
      // A policy with other categories: take them in.
      if (error.code === "unknown_category") loadQueue();
    }
  } finally {
    setBusy(false);
  }
}
