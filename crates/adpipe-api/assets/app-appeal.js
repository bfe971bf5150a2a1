// A rejected ad's one appeal, on the submission page. The rejection email
// links to /?id=…&appeal=SECRET: with that secret, the status panel of a
// rejected ad open to appeal shows a form (the submitter's few words, with
// a counter) that sends POST /ads/{id}/appeal. Without it, the panel only
// says that the email holds the link; the id alone does not allow an
// appeal. The secret is kept in memory, for the ad it came with: the
// address bar drops it once the page follows the ad (app-status.js), so a
// copied link to the ad never carries it.

import { $, ApiError, errorParts, fetchJson, node } from "./dom.js";

const MAX_APPEAL_CHARS = 2000;
const SECRET = /^[0-9a-f]{32}$/;
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;

const el = {
  section: $("appeal"),
  title: $("appeal-title"),
  info: $("appeal-info"),
  error: $("appeal-error"),
  form: $("appeal-form"),
  text: $("appeal-text"),
  count: $("appeal-count"),
  textError: $("appeal-text-error"),
  button: $("appeal-button"),
  done: $("appeal-done"),
};

const held = {
  // The ad the link named, and its secret.
  id: null,
  secret: null,
  // The ad whose appeal this page sent.
  sent: null,
  // The ad the section shows now.
  shown: null,
};

let sending = false;
// Asks the status panel to check the ad again (set by setUpAppeal).
let refreshStatus = () => {};

// The secret of the link the page was opened with, for the ad `id`.
export function holdSecret(id, secret) {
  held.id = String(id).toLowerCase();
  held.secret = secret;
}

function clearErrors() {
  el.error.hidden = true;
  el.error.replaceChildren();
  el.text.removeAttribute("aria-invalid");
  el.textError.hidden = true;
  el.textError.textContent = "";
}

function showError(parts) {
  el.error.replaceChildren(...parts);
  el.error.hidden = false;
  el.error.focus();
}

function textError(message) {
  el.text.setAttribute("aria-invalid", "true");
  el.textError.textContent = message;
  el.textError.hidden = false;
  el.text.focus();
}

// Characters as the server counts them: as sent, in Unicode scalar values.
function updateCounter() {
  const count = Array.from(el.text.value).length;
  el.count.textContent = count + " / " + MAX_APPEAL_CHARS;
  el.count.classList.toggle("over", count > MAX_APPEAL_CHARS);
}

// No appeal section (until the ad's status says otherwise).
export function hideAppeal() {
  el.section.hidden = true;
}

// The section for `ad` (an answer of GET /ads/{id}): the form when the
// page holds this ad's secret and the ad is open to appeal, else what the
// answer says of its appeal, if anything.
export function showAppeal(ad, id) {
  id = String(id).toLowerCase();
  if (held.shown !== id) {
    // A new ad: nothing of the previous one's.
    clearErrors();
    el.done.hidden = true;
    el.done.replaceChildren();
    el.text.value = "";
    updateCounter();
    held.shown = id;
  }
  if (held.sent === id) {
    // The confirmation stays while the ad is followed.
    el.form.hidden = true;
    el.info.hidden = true;
    el.section.hidden = false;
    return;
  }
  const state = ad && ad.appeal;
  if (!state) {
    el.section.hidden = true;
    return;
  }
  el.section.hidden = false;
  const withLink = state === "open" && held.id === id && held.secret !== null;
  if (withLink && !SECRET.test(held.secret)) {
    el.form.hidden = true;
    el.info.hidden = true;
    showError([
      node(
        "p",
        null,
        node("strong", null, "This appeal link is incomplete: "),
        "open the link in the rejection email again, whole (it ends with 32 letters and digits).",
      ),
    ]);
    return;
  }
  if (withLink) {
    el.info.textContent =
      "If you think this decision is a mistake, tell us why: a person will look at your ad again.";
    el.info.hidden = false;
    el.form.hidden = false;
    return;
  }
  el.form.hidden = true;
  el.info.textContent = typeof ad.appeal_message === "string" ? ad.appeal_message : "";
  el.info.hidden = !el.info.textContent;
}

function setSending(on) {
  sending = on;
  el.form.setAttribute("aria-busy", on ? "true" : "false");
  el.button.setAttribute("aria-disabled", on ? "true" : "false");
  el.button.textContent = on ? "Sending…" : "Send the appeal";
}

function refused(error) {
  if (error.code === "invalid_appeal" || error.code === "invalid_json") {
    textError(error.message);
    return;
  }
  if (error.code === "appeal_secret_wrong") {
    el.form.hidden = true;
    showError([
      ...errorParts("This appeal link does not fit this ad: ", error),
      node("p", null, "Open the link in the rejection email again, whole."),
    ]);
    return;
  }
  if (error.code === "appeal_not_allowed") {
    el.form.hidden = true;
    showError(errorParts("This ad cannot be appealed: ", error));
    refreshStatus();
    return;
  }
  const parts = errorParts("The appeal was not sent: ", error);
  if (error.retryAfter) parts.push(node("p", null, "You can try again in " + error.retryAfter + " s."));
  showError(parts);
}

async function send(event) {
  event.preventDefault();
  if (sending || !held.shown || held.shown !== held.id) return;
  clearErrors();
  const text = el.text.value;
  const length = Array.from(text).length;
  if (!text.trim()) return textError("Write a few words on why a person should look again.");
  if (length > MAX_APPEAL_CHARS) {
    return textError("The text is too long: " + length + " characters, at most " + MAX_APPEAL_CHARS + ".");
  }
  if (CONTROL.test(text)) return textError("The text contains control characters.");
  const id = held.id;
  setSending(true);
  try {
    const answer = await fetchJson("ads/" + encodeURIComponent(id) + "/appeal", {
      method: "POST",
      headers: { Accept: "application/json", "Content-Type": "application/json" },
      body: JSON.stringify({ secret: held.secret, text }),
    });
    held.sent = id;
    held.secret = null;
    el.form.hidden = true;
    el.info.hidden = true;
    el.text.value = "";
    updateCounter();
    el.done.replaceChildren(
      node("p", null, node("strong", null, "Appeal sent. "), answer.message || "A person will look at your ad again."),
    );
    el.done.hidden = false;
    el.done.focus();
    refreshStatus();
  } catch (error) {
    if (error instanceof ApiError) refused(error);
    else refused(new ApiError(0, "client_error", String(error), null));
  } finally {
    setSending(false);
  }
}

// The form's events; `refresh` checks the ad's status again (after an
// appeal, or a refusal that says it changed).
export function setUpAppeal(refresh) {
  refreshStatus = refresh;
  el.text.addEventListener("input", () => {
    updateCounter();
    el.text.removeAttribute("aria-invalid");
    el.textError.hidden = true;
  });
  el.form.addEventListener("submit", send);
  updateCounter();
}
