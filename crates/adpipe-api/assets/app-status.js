// The ad being followed on the submission page: its panel (id, link,
// status, the decision), asking the API for its status until it is
// decided, and the page's address (/?id=…), which always names it. The
// form (app-submit.js) and the lookup (app-lookup.js) hand ads to watch();
// the entry point (app.js) follows the address. A rejected ad's appeal
// (app-appeal.js) shows in the panel.

import { $, ApiError, errorParts, fetchJson, node } from "./dom.js";
import { hideAppeal, showAppeal } from "./app-appeal.js";

const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 15000;
const LABELS = {
  pending: "Pending",
  in_review: "In review",
  approved: "Approved",
  rejected: "Rejected",
  failed: "Failed",
};

const el = {
  result: $("result"),
  resultTitle: $("result-title"),
  resultId: $("result-id"),
  resultLink: $("result-link"),
  copyButton: $("copy-button"),
  copyFeedback: $("copy-feedback"),
  statusBox: $("status-box"),
  badge: $("status-badge"),
  statusMessage: $("status-message"),
  reason: $("status-reason"),
  pollInfo: $("poll-info"),
  pollError: $("poll-error"),
  checkNow: $("check-now"),
  approved: $("approved"),
  category: $("result-category"),
  adText: $("result-text"),
  tags: $("result-tags"),
  adImage: $("result-image"),
  adImageCaption: $("result-image-caption"),
  // The lookup form shows the id of the ad being followed.
  lookupId: $("lookup-id"),
};

const watcher = {
  id: null,
  generation: 0,
  timer: null,
  delay: FIRST_DELAY_MS,
  status: null,
  controller: null,
  waitingForVisible: false,
};

function clock(date) {
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

// What the check found, for an ad no longer pending.
function settled(status) {
  const what = status === "in_review" ? "Waiting for a person" : "Decided";
  return what + "; checked at " + clock(new Date()) + ".";
}

function pageUrl(id) {
  const url = new URL(window.location.href);
  url.search = id ? "?id=" + encodeURIComponent(id) : "";
  url.hash = "";
  return url;
}

function stopWatching() {
  watcher.generation += 1;
  clearTimeout(watcher.timer);
  watcher.timer = null;
  if (watcher.controller) watcher.controller.abort();
  watcher.controller = null;
  watcher.waitingForVisible = false;
}

// 1 s, then half as long again each time up to 15 s, with a little
// jitter so many open pages do not poll in step.
function nextDelay() {
  const delay = watcher.delay;
  watcher.delay = Math.min(Math.round(watcher.delay * 1.5), MAX_DELAY_MS);
  return Math.round(delay * (0.9 + Math.random() * 0.2));
}

function schedule(delay) {
  clearTimeout(watcher.timer);
  const generation = watcher.generation;
  watcher.timer = setTimeout(() => {
    if (generation === watcher.generation) poll();
  }, delay);
  el.pollInfo.textContent =
    "Checked at " + clock(new Date()) + "; next check in about " + Math.max(1, Math.round(delay / 1000)) + " s.";
}

function resetResult() {
  el.statusBox.dataset.status = "pending";
  el.badge.dataset.status = "pending";
  el.badge.textContent = LABELS.pending;
  el.statusMessage.textContent = "";
  el.reason.hidden = true;
  el.reason.replaceChildren();
  el.pollInfo.textContent = "";
  el.pollError.hidden = true;
  el.pollError.replaceChildren();
  el.approved.hidden = true;
  el.category.textContent = "";
  el.adText.textContent = "";
  el.tags.replaceChildren();
  el.adImage.hidden = true;
  el.adImage.removeAttribute("src");
  el.adImageCaption.textContent = "";
  el.copyFeedback.textContent = "";
  el.statusBox.hidden = false;
  hideAppeal();
}

// Follows the ad `id`: the address names it (a new history entry when
// `push`), its panel shows `initial` (an answer already at hand) or asks
// for it, and `focus` moves the keyboard focus to the panel.
export function watch(id, options) {
  const { push = false, initial = null, focus = false } = options || {};
  stopWatching();
  watcher.id = id;
  watcher.delay = FIRST_DELAY_MS;
  watcher.status = null;
  const url = pageUrl(id);
  if (push) window.history.pushState({ id }, "", url);
  else window.history.replaceState({ id }, "", url);
  resetResult();
  el.result.hidden = false;
  el.resultId.textContent = id;
  el.resultLink.href = url.href;
  el.lookupId.value = id;
  if (initial) {
    render(initial);
    if (initial.status === "pending") schedule(nextDelay());
    else el.pollInfo.textContent = settled(initial.status);
  } else {
    el.statusMessage.textContent = "Checking the status…";
    poll();
  }
  if (focus) el.resultTitle.focus();
}

// No ad followed: the panel goes away.
export function stopShowing() {
  stopWatching();
  watcher.id = null;
  el.result.hidden = true;
  document.title = "adpipe: submit an ad";
}

function showPollError(error, retrying, delay) {
  const parts = errorParts("Could not check the status: ", error);
  if (retrying) {
    parts.push(node("p", null, "Trying again in about " + Math.max(1, Math.round(delay / 1000)) + " s."));
  }
  el.pollError.replaceChildren(...parts);
  el.pollError.hidden = false;
}

async function poll() {
  const id = watcher.id;
  if (!id) return;
  clearTimeout(watcher.timer);
  if (document.hidden) {
    watcher.waitingForVisible = true;
    el.pollInfo.textContent = "Paused while this tab is in the background.";
    return;
  }
  watcher.waitingForVisible = false;
  const generation = watcher.generation;
  if (watcher.controller) watcher.controller.abort();
  const controller = new AbortController();
  watcher.controller = controller;
  try {
    const answer = await fetchJson("ads/" + encodeURIComponent(id), { signal: controller.signal });
    if (generation !== watcher.generation) return;
    el.pollError.hidden = true;
    render(answer);
    if (answer.status === "pending") schedule(nextDelay());
    else el.pollInfo.textContent = settled(answer.status);
  } catch (error) {
    if (generation !== watcher.generation || (error && error.name === "AbortError")) return;
    if (!(error instanceof ApiError)) throw error;
    if (error.status === 400 || error.status === 404) {
      // No such ad (any more): asking again will not change that.
      el.approved.hidden = true;
      el.reason.hidden = true;
      hideAppeal();
      el.pollInfo.textContent = "";
      showPollError(error, false, 0);
      watcher.status = null;
      el.badge.dataset.status = "failed";
      el.statusBox.dataset.status = "failed";
      el.badge.textContent = "Unknown";
      el.statusMessage.textContent = "This ad cannot be shown.";
      document.title = "Unknown ad · adpipe";
      return;
    }
    // The network, a busy or restarting server: keep trying, gently.
    const delay = Math.max(nextDelay(), (error.retryAfter || 0) * 1000);
    schedule(delay);
    showPollError(error, true, delay);
  } finally {
    if (watcher.controller === controller) watcher.controller = null;
  }
}

function render(ad) {
  const status = typeof ad.status === "string" ? ad.status : "pending";
  const label = LABELS[status] || status;
  el.statusBox.dataset.status = status;
  el.badge.dataset.status = status;
  el.badge.textContent = label;
  if (status !== watcher.status) {
    // The live region speaks only when the status changes, not on
    // every check.
    el.statusMessage.textContent = ad.message || label;
    watcher.status = status;
  }
  document.title = "Ad " + String(ad.id || watcher.id).slice(0, 8) + "…: " + label + " · adpipe";

  if ((status === "rejected" || status === "failed") && ad.reason) {
    el.reason.replaceChildren(node("strong", null, "Reason: "), ad.reason);
    el.reason.hidden = false;
  } else {
    el.reason.hidden = true;
  }
  showAppeal(ad, ad.id || watcher.id);

  if (status !== "approved") {
    el.approved.hidden = true;
    return;
  }
  el.approved.hidden = false;
  el.category.textContent = ad.category || "(none)";
  el.adText.textContent = ad.text || "";
  const tags = Array.isArray(ad.tags) ? ad.tags.slice() : [];
  tags.sort((a, b) => (b.confidence || 0) - (a.confidence || 0));
  el.tags.replaceChildren(
    ...tags.map((tag) => {
      const confidence = Math.min(1, Math.max(0, Number(tag.confidence) || 0));
      const percent = Math.round(confidence * 100) + " %";
      return node(
        "li",
        null,
        node("span", null, tag.label),
        node("meter", { min: "0", max: "1", value: String(confidence), "aria-label": tag.label + " confidence" }, percent),
        node("span", { class: "pct" }, percent),
      );
    }),
  );
  if (!tags.length) el.tags.append(node("li", null, "(no tags)"));
  // The image from this server, whatever public URL the API reports.
  const source = "ads/" + encodeURIComponent(ad.id || watcher.id) + "/image";
  if (el.adImage.getAttribute("src") !== source) {
    el.adImage.onload = () => {
      el.adImageCaption.textContent =
        "The ad's photo, " + el.adImage.naturalWidth + " × " + el.adImage.naturalHeight + " px.";
    };
    el.adImage.onerror = () => {
      el.adImage.hidden = true;
      el.adImageCaption.textContent = "The photo could not be loaded.";
    };
    el.adImage.alt = "Photo of the approved ad" + (ad.category ? " (" + ad.category + ")" : "");
    el.adImage.src = source;
    el.adImage.hidden = false;
  }
}

async function copyLink() {
  const href = el.resultLink.href;
  try {
    if (!navigator.clipboard) throw new Error("no clipboard");
    await navigator.clipboard.writeText(href);
    el.copyFeedback.textContent = "Link copied.";
  } catch (_) {
    el.copyFeedback.textContent = "Copying is not available here; the address bar holds the link.";
  }
}

// Checks the followed ad's status now (after its appeal, say).
export function refresh() {
  if (!watcher.id) return;
  watcher.delay = FIRST_DELAY_MS;
  poll();
}

// The panel's buttons, and a check as soon as a tab that was in the
// background (where checks pause) is shown again.
export function setUpStatus() {
  el.checkNow.addEventListener("click", refresh);
  el.copyButton.addEventListener("click", copyLink);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && watcher.waitingForVisible) poll();
  });
}
