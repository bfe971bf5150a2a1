// The form of the submission page: the ad's text (with its counter), the
// email address and the photo (chosen or dropped, with its preview); the
// checks made before sending; the API's refusals, shown next to the form
// and on the field they are about; and sending. A sent ad is followed by
// the status panel (app-status.js).

import { $, ApiError, errorCode, fetchJson, node } from "./dom.js";
import { watch } from "./app-status.js";

const MAX_TEXT_CHARS = 5000;

const el = {
  form: $("submit-form"),
  submitError: $("submit-error"),
  text: $("ad-text"),
  textCount: $("ad-text-count"),
  email: $("ad-email"),
  image: $("ad-image"),
  dropZone: $("drop-zone"),
  preview: $("preview-image"),
  previewCaption: $("preview-caption"),
  submitButton: $("submit-button"),
};

function formatBytes(bytes) {
  if (bytes < 1024) return bytes + " bytes";
  if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(1) + " KiB";
  return (bytes / 1024 / 1024).toFixed(1) + " MiB";
}

// Characters as the server counts them: after trimming, in Unicode scalar
// values, with line breaks sent as CR LF.
function textLength(value) {
  return Array.from(value.trim().replace(/\r?\n/g, "\r\n")).length;
}

// ------------------------------------------------------- field errors

const fieldErrors = {
  text: [el.text, $("ad-text-error")],
  email: [el.email, $("ad-email-error")],
  image: [el.image, $("ad-image-error")],
};

function setFieldError(field, message) {
  const [input, box] = fieldErrors[field];
  input.setAttribute("aria-invalid", "true");
  box.textContent = message;
  box.hidden = false;
}

function clearFieldError(field) {
  const [input, box] = fieldErrors[field];
  input.removeAttribute("aria-invalid");
  box.textContent = "";
  box.hidden = true;
}

function clearFieldErrors() {
  for (const field of Object.keys(fieldErrors)) clearFieldError(field);
}

function clearSubmitError() {
  el.submitError.hidden = true;
  el.submitError.replaceChildren();
  clearFieldErrors();
}

// Which field an API error is about, from its stable code (or, for
// missing/duplicate fields, from the field named in the message).
function fieldOf(code, message) {
  if (code === "invalid_text" || code === "text_too_long") return "text";
  if (code === "invalid_email") return "email";
  if (code.startsWith("image_") || code === "payload_too_large") return "image";
  const named = /the (text|email|image) field/.exec(message || "");
  return named ? named[1] : null;
}

function focusField(field) {
  const input = fieldErrors[field][0];
  input.focus();
}

function showProblems(problems) {
  const list = node("ul");
  for (const { field, message } of problems) {
    setFieldError(field, message);
    const link = node("a", { href: "#" + fieldErrors[field][0].id }, message);
    link.addEventListener("click", (event) => {
      event.preventDefault();
      focusField(field);
    });
    list.append(node("li", null, link));
  }
  el.submitError.replaceChildren(
    node("p", null, node("strong", null, "Please correct the following before sending:")),
    list,
  );
  el.submitError.hidden = false;
  focusField(problems[0].field);
}

function showSubmitError(error) {
  const field = error.status ? fieldOf(error.code, error.message) : null;
  const parts = [
    node(
      "p",
      null,
      node("strong", null, error.status ? "The ad was not accepted: " : "Not sent: "),
      error.message,
    ),
  ];
  if (error.retryAfter) {
    parts.push(node("p", null, "You can try again in " + error.retryAfter + " s."));
  }
  const code = errorCode(error);
  if (code) parts.push(code);
  el.submitError.replaceChildren(...parts);
  el.submitError.hidden = false;
  if (field) {
    setFieldError(field, error.message);
    focusField(field);
  } else {
    el.submitError.focus();
  }
}

// -------------------------------------------------------------- form

function updateCounter() {
  const count = textLength(el.text.value);
  el.textCount.textContent = count + " / " + MAX_TEXT_CHARS;
  el.textCount.classList.toggle("over", count > MAX_TEXT_CHARS);
}

let previewUrl = null;

function clearPreview() {
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = null;
  el.preview.hidden = true;
  el.preview.removeAttribute("src");
  el.preview.alt = "";
  el.previewCaption.textContent = "No photo chosen yet.";
}

function showPreview() {
  const file = el.image.files && el.image.files[0];
  clearPreview();
  if (!file) return;
  const description = file.name + ", " + formatBytes(file.size);
  previewUrl = URL.createObjectURL(file);
  el.preview.onload = () => {
    el.previewCaption.textContent =
      description + ", " + el.preview.naturalWidth + " × " + el.preview.naturalHeight + " px";
  };
  el.preview.onerror = () => {
    el.preview.hidden = true;
    el.previewCaption.textContent =
      description + ". Your browser cannot show this file; the server will check it.";
  };
  el.preview.alt = "Preview of the chosen photo, " + file.name;
  el.preview.src = previewUrl;
  el.preview.hidden = false;
  el.previewCaption.textContent = description;
}

function validate() {
  const problems = [];
  const length = textLength(el.text.value);
  if (length === 0) {
    problems.push({ field: "text", message: "Write the text of the ad." });
  } else if (length > MAX_TEXT_CHARS) {
    problems.push({
      field: "text",
      message: "The text is too long: " + length + " characters, at most " + MAX_TEXT_CHARS + ".",
    });
  } else if (/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/.test(el.text.value)) {
    problems.push({ field: "text", message: "The text contains control characters." });
  }
  const email = el.email.value.trim();
  if (!email) {
    problems.push({ field: "email", message: "Enter your email address." });
  } else if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
    problems.push({ field: "email", message: "The email address must look like name@example.com." });
  }
  const file = el.image.files && el.image.files[0];
  if (!file) {
    problems.push({ field: "image", message: "Choose a photo of what you sell." });
  } else if (file.size === 0) {
    problems.push({ field: "image", message: "The chosen file is empty." });
  }
  return problems;
}

let sending = false;

function setSending(on) {
  sending = on;
  el.form.setAttribute("aria-busy", on ? "true" : "false");
  // aria-disabled rather than disabled: the button keeps keyboard focus.
  el.submitButton.setAttribute("aria-disabled", on ? "true" : "false");
  el.submitButton.textContent = on ? "Sending…" : "Submit the ad";
}

async function submit(event) {
  event.preventDefault();
  if (sending) return;
  clearSubmitError();
  const problems = validate();
  if (problems.length) {
    showProblems(problems);
    return;
  }
  const file = el.image.files[0];
  const data = new FormData();
  data.append("text", el.text.value);
  data.append("email", el.email.value.trim());
  data.append("image", file, file.name);
  setSending(true);
  try {
    const answer = await fetchJson("ads", { method: "POST", body: data });
    el.form.reset();
    watch(answer.id, { push: true, initial: answer, focus: true });
  } catch (error) {
    if (error instanceof ApiError) showSubmitError(error);
    else showSubmitError(new ApiError(0, "client_error", String(error), null));
  } finally {
    setSending(false);
  }
}

// The form's fields and buttons, and the drop zone; the counter starts.
export function setUpSubmitForm() {
  // Editing a field takes its error away; a new photo, the whole answer
  // about the previous one.
  el.text.addEventListener("input", () => {
    updateCounter();
    clearFieldError("text");
  });
  el.email.addEventListener("input", () => clearFieldError("email"));
  el.image.addEventListener("change", () => {
    clearSubmitError();
    showPreview();
  });
  el.form.addEventListener("submit", submit);
  el.form.addEventListener("reset", () => {
    // The fields are cleared after this event.
    setTimeout(() => {
      clearPreview();
      updateCounter();
      clearSubmitError();
    }, 0);
  });

  // Dropping a file on the preview area: a pointer shortcut for the file
  // input, which stays the way in for the keyboard.
  for (const name of ["dragenter", "dragover"]) {
    el.dropZone.addEventListener(name, (event) => {
      if (!event.dataTransfer || !Array.from(event.dataTransfer.types).includes("Files")) return;
      event.preventDefault();
      el.dropZone.classList.add("dragging");
    });
  }
  el.dropZone.addEventListener("dragleave", () => el.dropZone.classList.remove("dragging"));
  el.dropZone.addEventListener("drop", (event) => {
    el.dropZone.classList.remove("dragging");
    const file = event.dataTransfer && event.dataTransfer.files[0];
    if (!file) return;
    event.preventDefault();
    const transfer = new DataTransfer();
    transfer.items.add(file);
    el.image.files = transfer.files;
    clearSubmitError();
    showPreview();
  });

  updateCounter();
}
