// The ad shown in the review queue (#current): its id, place and waiting
// time, photo (with the boxes of the text read in it), text, tags, the
// model's suggestion, what its text said and what its photo says, the
// submitter's appeal if any; and the decision form beside it (the
// category to approve with, the reason to reject with, the note for
// moderators). It knows one ad at a time, never the list: which ad that
// is, moving and deciding are admin-queue.js's.

import { textInImage } from "./admin-evidence.js";
import { chosenReason, dateTime, fillSelect, sayError, score, short, showImage, text } from "./admin-view.js";
import { $, node } from "./dom.js";

// The first one is preselected, and is what `r` sends.
export const REASONS = [
  "The photo does not show what the ad is for",
  "The photo is unclear",
  "The text and the photo do not match",
  "This item is not allowed",
  "Duplicate ad",
];

const el = {
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

const photoText = textInImage({
  image: el.currentImage,
  overlay: $("current-image-boxes"),
  section: $("current-photo-text"),
  list: $("current-photo-lines"),
});

let imageGeneration = 0;
// The ad the note field was last cleared for.
let noteFor = null;

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
export function waiting(item) {
  const base = Number(item.waiting_s) || 0;
  return duration(base + (Date.now() - (item.seenAt || Date.now())) / 1000);
}

// ------------------------------------------------------------- drawing

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

// Shows `item` as the ad at `position` (from 0) of `count`; a different ad
// than before gets fresh pickers (its suggested category from
// `categories`, the first common reason).
export function showAd(item, position, count, categories) {
  const changed = el.current.dataset.id !== item.id;
  el.current.hidden = false;
  el.current.dataset.id = item.id;
  el.currentId.textContent = item.id;
  el.currentPosition.textContent = position + 1 + " of " + count;
  el.currentWaiting.textContent = waiting(item);
  if (changed) {
    el.currentText.textContent = text(item.text, "");
    el.currentEmail.textContent = text(item.email, "");
    const suggestion = item.suggestion && typeof item.suggestion === "object" ? item.suggestion : {};
    renderSuggestion(suggestion);
    renderTags(el.currentTags, item.tags);
    renderTextReading(item.text_reading);
    photoText.show(item.text_in_image);
    fillSelect(el.category, categories, suggestion.category, suggestion.category);
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
}

// No ad to show.
export function hideAd() {
  el.current.hidden = true;
  delete el.current.dataset.id;
  imageGeneration += 1;
}

// Nothing of a session left: no ad, no photo, no note.
export function clearAd() {
  hideAd();
  el.currentImage.hidden = true;
  el.currentImage.removeAttribute("src");
  el.note.value = "";
  noteFor = null;
  renderAppeal(null);
  photoText.show([]);
}

// The id of the ad shown (hidden or not), null if none.
export function shownId() {
  return el.current.dataset.id || null;
}

// Whether an ad is shown.
export function adShown() {
  return !el.current.hidden;
}

// The ad shown is drawn anew next time (another policy: its pickers are
// filled again).
export function forgetShown() {
  delete el.current.dataset.id;
}

// The waiting time shown brought up to date.
export function refreshWaiting(item) {
  el.currentWaiting.textContent = waiting(item);
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

// ------------------------------------------------------------ deciding

// The decision controls while a decision is on its way.
export function markBusy(on) {
  el.current.setAttribute("aria-busy", on ? "true" : "false");
  for (const button of [el.approve, el.reject, ...el.quickReasons.querySelectorAll("button")]) {
    button.setAttribute("aria-disabled", on ? "true" : "false");
  }
}

// The decision's body from the form: the category (approving) or the
// reason (rejecting; `reasonOverride` is a common reason's button), and
// the note for moderators, with either outcome; never sent to the
// submitter. Null, and the status line says why, when something is
// missing.
export function decisionBody(outcome, reasonOverride) {
  const body = { outcome };
  if (outcome === "approved") {
    if (!el.category.value) {
      sayError("Choose a category first.");
      el.category.focus();
      return null;
    }
    body.category = el.category.value;
  } else {
    body.reason = reasonOverride || chosenReason(el.reason, el.reasonText);
    if (!body.reason) {
      sayError("Choose or write a reason first.");
      return null;
    }
  }
  const note = el.note.value.trim();
  if (note) body.note = note;
  return body;
}
