// Finding an ad in the moderation console: by id, or by email (a list of
// that address's ads to pick from); the found ad's panel with its photo,
// (with the boxes of the text read in it, and those lines), the
// submitter's appeal and who holds it, if anyone, and its decision
// history with the moderators' notes; and the decision from there (an
// override when the ad's decision is already final), with a note of its
// own. The form and buttons that call these are wired in admin.js.

import { adPath, api, handled, keepImages, may, pruneImages, role } from "./admin-api.js";
import { forgetClaim } from "./admin-claims.js";
import { REASONS } from "./admin-ad.js";
import { textInImage } from "./admin-evidence.js";
import { PAGE_SIZE, queue, removeFromQueue } from "./admin-queue.js";
import {
  chosenReason,
  clock,
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
import { $, UUID, errorParts, node } from "./dom.js";

const photoText = textInImage({
  image: $("found-image"),
  overlay: $("found-image-boxes"),
  section: $("found-photo-text"),
  list: $("found-photo-lines"),
});

const STATUS_LABELS = {
  pending: "Pending",
  in_review: "In review",
  approved: "Approved",
  rejected: "Rejected",
  failed: "Failed",
};

const el = {
  searchForm: $("search-form"),
  search: $("search"),
  searchButton: $("search-button"),
  searchError: $("search-error"),
  searchResults: $("search-results"),
  found: $("found"),
  foundTitle: $("found-title"),
  foundId: $("found-id"),
  foundStatus: $("found-status"),
  foundImage: $("found-image"),
  foundImageCaption: $("found-image-caption"),
  foundCategory: $("found-category"),
  foundReason: $("found-reason"),
  foundText: $("found-text"),
  foundEmail: $("found-email"),
  foundCreated: $("found-created"),
  foundDecided: $("found-decided"),
  foundAppealLabel: $("found-appeal-label"),
  foundAppeal: $("found-appeal"),
  foundClaimLabel: $("found-claim-label"),
  foundClaim: $("found-claim"),
  override: $("override"),
  overrideLegend: $("override-legend"),
  overrideCategory: $("override-category"),
  overrideApprove: $("override-approve"),
  overrideReason: $("override-reason"),
  overrideReasonText: $("override-reason-text"),
  overrideReject: $("override-reject"),
  overrideNote: $("override-note"),
  overrideNone: $("override-none"),
  historyRows: $("history-rows"),
};

const found = { id: null, ad: null, generation: 0, busy: false };
let searching = false;

// The found ad's photo is kept while it is shown.
keepImages(() => (found.id ? [found.id] : []));

export function clearSearchError() {
  el.searchError.hidden = true;
  el.searchError.replaceChildren();
  el.search.removeAttribute("aria-invalid");
}

function showSearchError(parts) {
  el.searchError.replaceChildren(...parts);
  el.searchError.hidden = false;
  el.search.setAttribute("aria-invalid", "true");
}

// ------------------------------------------------------------ the panel

// The decisions, oldest first; a moderator's note (never sent to the
// submitter) on a row of its own under its decision.
function renderHistory(decisions) {
  const rows = Array.isArray(decisions) ? decisions : [];
  el.historyRows.replaceChildren(
    ...rows.flatMap((row) => {
      const decision = node(
        "tr",
        { "data-by": text(row.by, "") },
        node("td", null, dateTime(row.at_ms)),
        node("td", null, node("code", null, text(row.by, "—"))),
        node("td", null, node("span", { class: "outcome", "data-status": text(row.outcome, "") }, text(row.outcome, "—"))),
        node("td", null, text(row.category, "—")),
        node("td", { class: "number" }, score(row.score)),
        node("td", null, text(row.reason, "—")),
      );
      const note = text(row.note, null);
      if (!note) return [decision];
      decision.classList.add("has-note");
      return [
        decision,
        node(
          "tr",
          { class: "note-row", "data-note-by": text(row.by, "") },
          node(
            "td",
            { colspan: "6" },
            node("span", { class: "history-note" }, node("span", { class: "note-label" }, "Note: "), note),
          ),
        ),
      ];
    }),
  );
  if (!rows.length) {
    el.historyRows.append(node("tr", null, node("td", { colspan: "6" }, "No decisions yet.")));
  }
}

function renderFound(ad) {
  const status = text(ad.status, "pending");
  el.found.dataset.id = ad.id;
  el.found.dataset.status = status;
  el.foundId.textContent = ad.id;
  el.foundStatus.dataset.status = status;
  el.foundStatus.textContent = STATUS_LABELS[status] || status;
  el.foundCategory.textContent = text(ad.category, "—");
  el.foundReason.textContent = text(ad.reason, "—");
  el.foundText.textContent = text(ad.text, "");
  el.foundEmail.textContent = text(ad.email, "");
  el.foundCreated.textContent = dateTime(ad.created_at_ms);
  el.foundDecided.textContent = dateTime(ad.decided_at_ms);
  photoText.show(ad.text_in_image);
  const appeal = ad.appeal && typeof ad.appeal === "object" ? ad.appeal : null;
  el.foundAppealLabel.hidden = !appeal;
  el.foundAppeal.hidden = !appeal;
  el.foundAppeal.textContent = appeal
    ? dateTime(appeal.at_ms) + ": " + text(appeal.text, "(The submitter gave no reason.)")
    : "";
  const claim = ad.claim && typeof ad.claim === "object" ? ad.claim : null;
  el.foundClaimLabel.hidden = !claim;
  el.foundClaim.hidden = !claim;
  el.foundClaim.textContent = claim ? text(claim.claimed_by, "?") + ", until " + clock(claim.until_ms) : "";

  const final = status === "approved" || status === "rejected";
  const open = final || status === "in_review";
  // A role that may not decide sees no decision controls at all.
  const allowed = may("decide");
  el.override.hidden = !open || !allowed;
  el.overrideNone.hidden = open && allowed;
  el.overrideNone.textContent =
    status === "pending"
      ? "The model has not decided on this ad yet."
      : status === "failed"
        ? "The ad could not be checked; there is no decision to change."
        : !allowed
          ? "Your role (" + role() + ") may look at ads but not decide on them."
          : "";
  el.overrideLegend.textContent = final ? "Change the final decision" : "Decide (the ad is in review)";
  el.overrideApprove.textContent = final ? "Override: approve" : "Approve";
  el.overrideReject.textContent = final ? "Override: reject" : "Reject";
  fillSelect(el.overrideCategory, queue.categories, ad.category, null);
  el.overrideReason.value = REASONS[0];
  el.overrideReasonText.value = "";
}

// Shows the ad `id` and its history; `ad` when its record is already
// here (a search by email, a decision's answer).
async function showFound(id, options) {
  const { ad = null, quiet = false } = options || {};
  const generation = ++found.generation;
  try {
    const [record, history] = await Promise.all([
      ad ? Promise.resolve(ad) : api(adPath(id)),
      api(adPath(id) + "/history"),
    ]);
    if (generation !== found.generation) return true;
    const changed = found.id !== record.id;
    if (changed) el.overrideNote.value = "";
    found.id = record.id;
    found.ad = record;
    renderFound(record);
    renderHistory(history.decisions);
    el.found.hidden = false;
    if (changed) {
      showImage(record.id, el.foundImage, el.foundImageCaption, "Photo of ad " + short(record.id), () => {
        return found.id === record.id;
      });
    }
    pruneImages();
    if (!quiet) el.foundTitle.focus();
    return true;
  } catch (error) {
    if (handled(error) || generation !== found.generation) return false;
    if (quiet) sayError("Could not reload ad " + short(id) + ": " + refusal(error), error);
    else showSearchError(errorParts(error.status === 404 ? "Not found: " : "Could not show the ad: ", error));
    return false;
  }
}

// A decision made in the queue: the panel follows when it shows that ad.
export function queueDecided(id, ad) {
  if (found.id === id) showFound(id, { ad, quiet: true });
}

function hideFound() {
  found.generation += 1;
  found.id = null;
  found.ad = null;
  el.found.hidden = true;
  delete el.found.dataset.id;
  el.historyRows.replaceChildren();
  el.overrideNote.value = "";
  el.foundImage.hidden = true;
  el.foundImage.removeAttribute("src");
}

// Nothing of a session left: no ad found, no results, an empty field.
export function resetSearch() {
  hideFound();
  el.searchResults.hidden = true;
  el.searchResults.replaceChildren();
  clearSearchError();
  el.search.value = "";
}

// ------------------------------------------------------------ searching

export async function search(event) {
  event.preventDefault();
  if (searching) return;
  clearSearchError();
  const raw = el.search.value.trim();
  const uuid = raw.match(UUID);
  if (!raw || (!raw.includes("@") && !uuid)) {
    showSearchError([node("p", null, "Enter an ad ID (a UUID) or an email address.")]);
    el.search.focus();
    return;
  }
  searching = true;
  el.searchButton.setAttribute("aria-disabled", "true");
  el.searchForm.setAttribute("aria-busy", "true");
  try {
    if (raw.includes("@")) {
      await searchEmail(raw);
    } else {
      el.searchResults.hidden = true;
      el.searchResults.replaceChildren();
      await showFound(uuid[0].toLowerCase());
    }
  } finally {
    searching = false;
    el.searchButton.setAttribute("aria-disabled", "false");
    el.searchForm.setAttribute("aria-busy", "false");
  }
}

async function searchEmail(email) {
  let page;
  try {
    page = await api("admin/ads?email=" + encodeURIComponent(email) + "&limit=" + PAGE_SIZE);
  } catch (error) {
    if (!handled(error)) showSearchError(errorParts("Could not search: ", error));
    return;
  }
  const ads = (Array.isArray(page.ads) ? page.ads : []).filter((ad) => ad && typeof ad.id === "string");
  hideFound();
  if (!ads.length) {
    el.searchResults.hidden = true;
    el.searchResults.replaceChildren();
    showSearchError([node("p", null, node("strong", null, "Not found: "), "no ads from " + email + ".")]);
    return;
  }
  const items = ads.map((ad) => {
    const status = text(ad.status, "pending");
    const button = node(
      "button",
      { type: "button", class: "result-item", "data-id": ad.id },
      node("code", null, short(ad.id)),
      node("span", { class: "badge", "data-status": status }, STATUS_LABELS[status] || status),
      node("span", null, dateTime(ad.created_at_ms)),
      node("span", { class: "result-text" }, text(ad.text, "")),
    );
    button.addEventListener("click", () => {
      for (const other of el.searchResults.querySelectorAll("button")) other.removeAttribute("aria-current");
      button.setAttribute("aria-current", "true");
      showFound(ad.id, { ad });
    });
    return node("li", null, button);
  });
  const heading = node(
    "li",
    { class: "hint" },
    ads.length + (ads.length === 1 ? " ad" : " ads") + " from " + email + ", newest first" + (page.next ? " (the newest " + ads.length + " shown)." : "."),
  );
  el.searchResults.replaceChildren(heading, ...items);
  el.searchResults.hidden = false;
  if (ads.length === 1) {
    items[0].firstChild.setAttribute("aria-current", "true");
    await showFound(ads[0].id, { ad: ads[0] });
  }
}

// ------------------------------------------------------------- deciding

// A decision from the found ad's panel: `override` when it is final.
export async function decideFound(outcome) {
  const ad = found.ad;
  if (!ad || found.busy) return;
  if (!may("decide")) {
    sayError("Your role (" + role() + ") may look at ads but not decide on them.");
    return;
  }
  const final = ad.status === "approved" || ad.status === "rejected";
  const body = { outcome };
  if (outcome === "approved") {
    if (!el.overrideCategory.value) {
      sayError("Choose a category first.");
      return;
    }
    body.category = el.overrideCategory.value;
  } else {
    body.reason = chosenReason(el.overrideReason, el.overrideReasonText);
    if (!body.reason) {
      sayError("Choose or write a reason first.");
      return;
    }
  }
  if (final) body.override = true;
  const note = el.overrideNote.value.trim();
  if (note) body.note = note;
  found.busy = true;
  for (const button of [el.overrideApprove, el.overrideReject]) button.setAttribute("aria-disabled", "true");
  try {
    const answer = await api(adPath(ad.id) + "/decision", { method: "POST", json: body });
    const what = outcome === "approved" ? "approved as " + text(answer.category, body.category) : "rejected: " + body.reason;
    say((final ? "Overrode " + short(ad.id) + ": now " : short(ad.id) + " ") + what + (note ? " (with a note for moderators)" : ""));
    el.overrideNote.value = "";
    forgetClaim(ad.id);
    removeFromQueue(ad.id);
    await showFound(ad.id, { ad: answer, quiet: true });
  } catch (error) {
    if (handled(error)) return;
    sayError("Could not change " + short(ad.id) + ": " + refusal(error), error);
    // Someone else changed it meanwhile (409): show what it is now.
    if (error.status === 409) showFound(ad.id, { quiet: true });
  } finally {
    found.busy = false;
    for (const button of [el.overrideApprove, el.overrideReject]) button.setAttribute("aria-disabled", "false");
  }
}
