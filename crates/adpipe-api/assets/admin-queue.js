// The review queue of the moderation console: the ads waiting for a
// person, loaded a page at a time (oldest first), the current one shown
// large with its photo, text, tags and the model's suggestion, and the
// decision on it (approve, reject) and the moves (next, previous). The
// keys and buttons that call these are wired in admin.js.

import { adPath, api, handled, imageFor, keepImages, may, pruneImages, role, session } from "./admin-api.js";
import { chosenReason, fillSelect, refusal, say, sayError, score, short, showImage, text } from "./admin-view.js";
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
  textReading: $("current-text-reading"),
  textSays: $("current-text-says"),
  textScores: $("current-text-scores"),
  category: $("category"),
  approve: $("approve"),
  reason: $("reason"),
  reasonText: $("reason-text"),
  reject: $("reject"),
  quickReasons: $("quick-reasons"),
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
      const button = node(
        "button",
        { type: "button", class: "queue-item", "data-id": item.id },
        node("code", null, short(item.id)),
        node("span", { class: "queue-email" }, text(item.email, "")),
        node("span", { class: "queue-waiting" }, waiting(item)),
      );
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
  // The next photo is fetched ahead, so it is there when it is wanted.
  const upcoming = queue.items[queue.index + 1];
  if (upcoming) imageFor(upcoming.id).catch(() => {});
  pruneImages();
}

// The waiting times, brought up to date (every few seconds, and when the
// tab is shown again); an empty queue looks for newly arrived ads instead.
export function refreshQueue() {
  if (!queue.items.length) {
    // Nothing to do: look for newly arrived ads now and then.
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
}

// -------------------------------------------------------------- moving

export function select(index) {
  if (index < 0 || index >= queue.items.length) return;
  queue.index = index;
  showCurrent();
}

export async function move(step) {
  const target = queue.index + step;
  if (target < 0) {
    say("This is the first ad in the queue.");
    return;
  }
  if (target >= queue.items.length) {
    if (queue.total > queue.items.length || queue.next) {
      await loadQueue({ append: true });
      if (target < queue.items.length) select(target);
      else say("This is the last ad in the queue.");
      return;
    }
    say("This is the last ad in the queue.");
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
  loading.promise = (async () => {
    el.queue.setAttribute("aria-busy", "true");
    try {
      const page = await api(path);
      const now = Date.now();
      const ads = (Array.isArray(page.ads) ? page.ads : []).filter(
        (ad) => ad && typeof ad.id === "string",
      );
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
        queue.index = position >= 0 ? position : Math.min(keepIndex, Math.max(0, ads.length - 1));
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

export function removeFromQueue(id) {
  const index = queue.items.findIndex((item) => item.id === id);
  if (index < 0) return;
  queue.items.splice(index, 1);
  if (index < queue.index) queue.index -= 1;
  queue.total = Math.max(0, queue.total - 1);
  showCurrent();
  // The page ran out but the server has more (or others arrived).
  if (!queue.items.length && (queue.total > 0 || queue.next)) loadQueue();
}

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
  setBusy(true);
  try {
    const ad = await api(adPath(item.id) + "/decision", { method: "POST", json: body });
    removeFromQueue(item.id);
    if (outcome === "approved") say("Approved " + short(item.id) + " as " + text(ad.category, body.category) + ".");
    else say("Rejected " + short(item.id) + ": " + body.reason);
    decided(item.id, ad);
  } catch (error) {
    if (handled(error)) return;
    if (error.status === 409) {
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
