// Small pieces of the moderation console's page that the queue, the search
// and the sign-in all use: building elements, formatting values, the
// pickers, the status line and showing a photo. Everything the server
// returns is shown with textContent (node() appends strings as text).

import { handled, imageFor, isImageOf } from "./admin-api.js";

export const $ = (id) => document.getElementById(id);

const statusLine = $("status-line");

export function node(tag, attributes, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (name === "class") element.className = value;
    else element.setAttribute(name, value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

export function short(id) {
  return String(id || "").slice(0, 8) + "…";
}

export function text(value, fallback) {
  return typeof value === "string" && value !== "" ? value : fallback;
}

export function score(value) {
  return typeof value === "number" && Number.isFinite(value) ? value.toFixed(2) : "—";
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
