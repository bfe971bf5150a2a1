// The review queue of the moderation console: the ads waiting for a
// person, loaded a page at a time (oldest first), the current one shown
// large with its photo, text, tags, the model's suggestion and the
// submitter's appeal if any, and the decision on it (approve, reject, each
// with an optional note for moderators) and the moves (next, previous).
// The list marks the ads a colleague holds (a claim, admin-claims.js) and
// the appealed ones; the moves and a decision go to the next ad nobody
// else holds. The keys and buttons that call these are wired in admin.js.

import { adPath, api, handled, imageFor, keepImages, may, pruneImages, role, session } from "./admin-api.js";
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
import {
  chosenReason,
  dateTime,
  fillSelect,
  refusal,
  say,
  sayError,
  score,
  short,
  showImage,
  text,
} from "./admin-view.js";
import { $, node } from "./dom.js";

// Ads asked for at once, in the queue and in a search by email.
export const PAGE_SIZE = 50;

// The first one is preselected, and is what `r` sends.
export const REASONS = [
  "The photo does not show what the ad is for",
  "The photo is unclear",
  "The text and the photo do not match",
  "This item is not allowed",
  "Duplicate ad",
];

const el = {
  queueCount: $("queue-count"),
  queue: $("queue"),
  queueMore: $("queue-more"),
  queueEmpty: $("queue-empty"),
  current: $("current"),
  currentId: $("current-id"),
  currentPosition: $("current-position"),
  currentImage: $("current-image"),
  currentImageCaption: $("current-image-caption"),
  currentText: $("current-text"),
  currentEmail: $("current-email"),
  currentWaiting: $("current-waiting"),
  currentSuggestion: $("current-suggestion"),
  currentTags: $("current-tags"),
  currentAppeal: $("current-appeal"),
  currentAppealAt: $("current-appeal-at"),
  currentAppealText: $("current-appeal-text"),
  textReading: $("current-text-reading"),
  textSays: $("current-text-says"),
  textScores: $("current-text-scores"),
  category: $("category"),
  approve: $("approve"),
  reason: $("reason"),
  reasonText: $("reason-text"),
  reject: $("reject"),
  quickReasons: $("quick-reasons"),
  note: $("note"),
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
let imageGeneration = 0;
// The ad the note field was last cleared for.
let noteFor = null;

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

function duration(seconds) {
  const total = Math.max(0, Math.round(seconds));
  if (total < 60) return total + " s";
  const minutes = Math.floor(total / 60);
  if (minutes < 60) return minutes + " min";
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return hours + " h " + (minutes % 60) + " min";
  return Math.floor(hours / 24) + " d " + (hours % 24) + " h";
}

// The waiting time now: the server's figure plus the time since it said so.
function waiting(item) {
  const base = Number(item.waiting_s) || 0;
  return duration(base + (Date.now() - (item.seenAt || Date.now())) / 1000);
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

function renderSuggestion(suggestion) {
  const s = suggestion && typeof suggestion === "object" ? suggestion : {};
  const outcome = s.outcome === "approved" ? "approved" : s.outcome === "rejected" ? "rejected" : null;
  const parts = [];
  if (outcome) {
    parts.push(node("span", { class: "badge", "data-status": outcome }, outcome === "approved" ? "Approve" : "Reject"));
  } else {
    parts.push("No suggestion");
  }
  parts.push(" ", node("span", null, "category " + text(s.category, "—") + ", score " + score(s.score)));
  if (text(s.reason, null)) parts.push(node("span", { class: "suggestion-reason" }, s.reason));
  el.currentSuggestion.replaceChildren(...parts);
}

function renderTags(list, tags) {
  const sorted = Array.isArray(tags) ? tags.slice() : [];
  sorted.sort((a, b) => (Number(b.confidence) || 0) - (Number(a.confidence) || 0));
  list.replaceChildren(
    ...sorted.map((tag) => {
      const confidence = Math.min(1, Math.max(0, Number(tag.confidence) || 0));
      const percent = Math.round(confidence * 100) + " %";
      const label = text(tag.label, "?");
      return node(
        "li",
        null,
        node("span", null, label),
        node("meter", { min: "0", max: "1", value: String(confidence), "aria-label": label + " confidence" }, percent),
        node("span", { class: "pct" }, percent),
      );
    }),
  );
  if (!sorted.length) list.append(node("li", null, "(no tags)"));
}

// What the ad's text said (policies that read texts), beside the photo's
// tags: its guess in words, then the three likeliest of its categories and
// "something we do not publish", as bars like the tags'.
function renderTextReading(reading) {
  const r = reading && typeof reading === "object" ? reading : null;
  el.textReading.hidden = !r;
  if (!r) return;
  const says = text(r.says, null);
  const similarity = Number(r.best_similarity);
  el.textSays.textContent =
    says === null
      ? "Nothing clear: the text is far from every category (similarity " +
        (Number.isFinite(similarity) ? similarity.toFixed(2) : "?") + ")."
      : says === "off_topic"
        ? "It sells something we do not publish."
        : "It sells: " + says + ".";
  const shares = Object.entries(r.categories && typeof r.categories === "object" ? r.categories : {})
    .map(([label, confidence]) => ({ label, confidence }))
    .sort((a, b) => (Number(b.confidence) || 0) - (Number(a.confidence) || 0))
    .slice(0, 3);
  shares.push({ label: "not something we publish", confidence: r.off_topic });
  renderTags(el.textScores, shares);
}

// Shows the ad at queue.index; a different ad than before gets fresh
// pickers (its suggested category, the first common reason).
function showCurrent() {
  if (queue.index >= queue.items.length) queue.index = queue.items.length - 1;
  if (queue.index < 0) queue.index = 0;
  renderQueue();
  const item = queue.items[queue.index];
  if (!item) {
    el.current.hidden = true;
    delete el.current.dataset.id;
    imageGeneration += 1;
    pruneImages();
    holdCurrent(null);
    return;
  }
  const changed = el.current.dataset.id !== item.id;
  el.current.hidden = false;
  el.current.dataset.id = item.id;
  el.currentId.textContent = item.id;
  el.currentPosition.textContent = queue.index + 1 + " of " + Math.max(queue.total, queue.items.length);
  el.currentWaiting.textContent = waiting(item);
  if (changed) {
    el.currentText.textContent = text(item.text, "");
    el.currentEmail.textContent = text(item.email, "");
    const suggestion = item.suggestion && typeof item.suggestion === "object" ? item.suggestion : {};
    renderSuggestion(suggestion);
    renderTags(el.currentTags, item.tags);
    renderTextReading(item.text_reading);
    fillSelect(el.category, queue.categories, suggestion.category, suggestion.category);
    el.reason.value = REASONS[0];
    el.reasonText.value = "";
    const generation = ++imageGeneration;
    showImage(item.id, el.currentImage, el.currentImageCaption, "Photo of ad " + short(item.id), () => {
      return generation === imageGeneration && el.current.dataset.id === item.id;
    });
  }
  // A note is the ad's: another ad starts without one (a reload keeps it).
  if (noteFor !== item.id) {
    el.note.value = "";
    noteFor = item.id;
  }
  renderAppeal(item.appeal);
  // The next photo is fetched ahead, so it is there when it is wanted.
  const upcoming = queue.items[freeIndex(queue.index + 1, 1)];
  if (upcoming) imageFor(upcoming.id).catch(() => {});
  pruneImages();
  // Opening an ad claims it; leaving one releases it (admin-claims.js).
  holdCurrent(item);
}

// The submitter's appeal of a rejection (the ad is back in review because
// of it): when, and their words, as text.
function renderAppeal(appeal) {
  const a = appeal && typeof appeal === "object" ? appeal : null;
  el.currentAppeal.hidden = !a;
  if (!a) {
    el.currentAppealAt.textContent = "";
    el.currentAppealText.textContent = "";
    return;
  }
  el.currentAppealAt.textContent = "on " + dateTime(a.at_ms);
  el.currentAppealText.textContent = text(a.text, "(The submitter gave no reason.)");
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
  if (current) el.currentWaiting.textContent = waiting(current);
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
  el.current.hidden = true;
  delete el.current.dataset.id;
  imageGeneration += 1;
  el.currentImage.hidden = true;
  el.currentImage.removeAttribute("src");
  el.queueCount.textContent = "0";
  el.queueCount.dataset.count = "0";
  el.queueEmpty.hidden = true;
  el.queueMore.hidden = true;
  el.note.value = "";
  noteFor = null;
  renderAppeal(null);
  recentlyDecided.clear();
  resetClaim();
}

// Claims the ad shown, or lets it go (a role that does not decide, no ad,
// another view): after a change of role, or back from the browser's cache.
export function holdShown() {
  holdCurrent(el.current.hidden ? null : queue.items[queue.index] || null);
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
  const keep = el.current.dataset.id || null;
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
          delete el.current.dataset.id;
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
  el.current.setAttribute("aria-busy", on ? "true" : "false");
  for (const button of [el.approve, el.reject, ...el.quickReasons.querySelectorAll("button")]) {
    button.setAttribute("aria-disabled", on ? "true" : "false");
  }
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
  const body = { outcome };
  if (outcome === "approved") {
    if (!el.category.value) {
      sayError("Choose a category first.");
      el.category.focus();
      return;
    }
    body.category = el.category.value;
  } else {
    body.reason = reasonOverride || chosenReason(el.reason, el.reasonText);
    if (!body.reason) {
      sayError("Choose or write a reason first.");
      return;
    }
  }
  // The note for moderators, with either outcome; never sent to the
  // submitter.
  const note = el.note.value.trim();
  if (note) body.note = note;
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
