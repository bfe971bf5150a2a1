// Looking an ad up by id on the submission page: the bare id, or a link
// to the ad pasted whole. A found ad is followed by the status panel
// (app-status.js); a refusal shows by the field.

import { $, UUID, errorParts, fetchJson, node } from "./dom.js";
import { watch } from "./app-status.js";

const el = {
  lookupForm: $("lookup-form"),
  lookupId: $("lookup-id"),
  lookupError: $("lookup-error"),
  lookupButton: $("lookup-button"),
};

let lookingUp = false;

async function lookup(event) {
  event.preventDefault();
  if (lookingUp) return;
  el.lookupError.hidden = true;
  el.lookupError.replaceChildren();
  el.lookupId.removeAttribute("aria-invalid");
  const raw = el.lookupId.value.trim();
  if (!raw) {
    el.lookupError.replaceChildren(node("p", null, "Enter the ID of an ad."));
    el.lookupError.hidden = false;
    el.lookupId.setAttribute("aria-invalid", "true");
    el.lookupId.focus();
    return;
  }
  // A pasted link to the ad works as well as the bare ID.
  const match = raw.match(UUID);
  const id = match ? match[0].toLowerCase() : raw;
  lookingUp = true;
  el.lookupButton.setAttribute("aria-disabled", "true");
  el.lookupForm.setAttribute("aria-busy", "true");
  try {
    const answer = await fetchJson("ads/" + encodeURIComponent(id));
    watch(answer.id || id, { push: true, initial: answer, focus: true });
  } catch (error) {
    const title = error.status === 404 ? "Not found: " : "Could not look it up: ";
    el.lookupError.replaceChildren(...errorParts(title, error));
    el.lookupError.hidden = false;
    el.lookupId.setAttribute("aria-invalid", "true");
    el.lookupId.focus();
  } finally {
    lookingUp = false;
    el.lookupButton.setAttribute("aria-disabled", "false");
    el.lookupForm.setAttribute("aria-busy", "false");
  }
}

export function setUpLookup() {
  el.lookupForm.addEventListener("submit", lookup);
}
