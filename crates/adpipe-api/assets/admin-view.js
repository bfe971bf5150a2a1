// Small pieces of the moderation console's page that its views all use:
// formatting values, the pickers, the status line, an error box, a secret
// shown once, and showing a photo. Building elements ($, node) is
// dom.js's, shared with the other pages. Everything the server returns is
// shown with textContent (node() appends strings as text).

import { handled, imageFor, isImageOf, role } from "./admin-api.js";
import { $, errorCode, node } from "./dom.js";

const statusLine = $("status-line");

export function short(id) {
  return String(id || "").slice(0, 8) + "…";
}

export function text(value, fallback) {
  return typeof value === "string" && value !== "" ? value : fallback;
}

export function score(value) {
  return typeof value === "number" && Number.isFinite(value) ? value.toFixed(2) : "—";
}

// A time in milliseconds since the epoch, in the reader's locale; "—"
// for none.
export function dateTime(ms) {
  if (typeof ms !== "number" || !Number.isFinite(ms)) return "—";
  return new Date(ms).toLocaleString([], {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
}

// The hour and minute of a time in milliseconds since the epoch ("14:05"
// in the reader's locale); "—" for none.
export function clock(ms) {
  if (typeof ms !== "number" || !Number.isFinite(ms)) return "—";
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function fillSelect(select, values, chosen, suggested) {
  select.replaceChildren(
    ...values.map((value) =>
      node("option", { value }, value === suggested ? value + " (suggested)" : value),
    ),
  );
  if (values.includes(chosen)) select.value = chosen;
  else if (values.length) select.value = values[0];
}

// The free text when there is one, else the picked common reason.
export function chosenReason(select, input) {
  const own = input.value.trim();
  return own || select.value;
}

// --------------------------------------------------------- status line

export function say(message) {
  statusLine.dataset.kind = "ok";
  statusLine.textContent = message;
}

export function sayError(message, error) {
  statusLine.dataset.kind = "error";
  let line = message;
  if (error && error.status) line += " (" + error.code + ", HTTP " + error.status + ")";
  statusLine.textContent = line;
}

export function clearStatus() {
  statusLine.textContent = "";
}

// An error's message, said plainly when the role does not allow it (403
// forbidden): the server checks every request, whatever the page offers.
export function refusal(error) {
  if (error && error.status === 403 && error.code === "forbidden") {
    return "Not allowed for your role (" + role() + "): " + error.message;
  }
  return error ? error.message : "";
}

// ---------------------------------------------------------- error boxes

// Fills an error box (role=alert) with a title, the error's message and
// its code; `error` may be left out for a check made on the page.
export function showError(box, title, error) {
  const parts = [node("p", null, node("strong", null, title))];
  if (error) {
    parts.push(node("p", null, refusal(error)));
    const code = errorCode(error);
    if (code) parts.push(code);
  }
  box.replaceChildren(...parts);
  box.hidden = false;
}

export function hideError(box) {
  box.hidden = true;
  box.replaceChildren();
}

// ------------------------------------------------------- shown once

// Shows a secret that the server gives once (a new token, a generated
// password) in `box`: a read-only field with the id `fieldId` to copy it
// from, a Copy button, the warning that it will not be shown again, and a
// button that hides it (the focus then goes to `back`). `hideSecret` (or
// leaving the view) forgets it.
export function showSecret(box, { title, label, value, fieldId, back }) {
  const field = node("input", {
    id: fieldId,
    type: "text",
    readonly: "",
    autocomplete: "off",
    spellcheck: "false",
    class: "secret-value",
  });
  field.value = value;
  field.addEventListener("focus", () => field.select());
  const copied = node("span", { class: "hint", role: "status" });
  const copy = node("button", { type: "button", class: "button small" }, "Copy");
  copy.addEventListener("click", async () => {
    field.focus();
    field.select();
    try {
      await navigator.clipboard.writeText(value);
      copied.textContent = "Copied.";
    } catch (_) {
      copied.textContent = "Selected: press Ctrl+C (⌘C) to copy.";
    }
  });
  const done = node("button", { type: "button", class: "button small" }, "I have copied it: hide it");
  done.addEventListener("click", () => {
    hideSecret(box);
    if (back) back.focus();
  });
  box.replaceChildren(
    node("p", null, node("strong", null, title)),
    node("label", { for: fieldId }, label),
    node("div", { class: "inline-field" }, field, copy, copied),
    node("p", { class: "hint" }, "It will not be shown again: copy it now and keep it somewhere safe."),
    node("div", { class: "actions" }, done),
  );
  box.className = "notice secret-once";
  box.hidden = false;
  field.focus();
}

export function hideSecret(box) {
  box.hidden = true;
  box.replaceChildren();
}

// -------------------------------------------------------------- photos

// Shows the photo of `id` in `image` once it is here, unless `stillWanted`
// says the page has moved on meanwhile.
export function showImage(id, image, caption, alt, stillWanted) {
  image.hidden = true;
  image.removeAttribute("src");
  caption.textContent = "Loading the photo…";
  imageFor(id).then(
    (url) => {
      if (!stillWanted()) return;
      if (!isImageOf(id, url)) return;
      image.onload = () => {
        caption.textContent = image.naturalWidth + " × " + image.naturalHeight + " px";
      };
      image.onerror = () => {
        image.hidden = true;
        caption.textContent = "The browser cannot show this photo.";
      };
      image.alt = alt;
      image.src = url;
      image.hidden = false;
    },
    (error) => {
      if (handled(error) || !stillWanted()) return;
      caption.textContent = "The photo could not be loaded: " + error.message;
    },
  );
}
