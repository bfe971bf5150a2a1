// adpipe's submission page: send an ad, then watch its status until it is
// decided. Plain JavaScript, no dependencies, nothing fetched from elsewhere.
// Every URL is relative, so the page also works behind a path prefix.
"use strict";

(function () {
  const MAX_TEXT_CHARS = 5000;
  const FIRST_DELAY_MS = 1000;
  const MAX_DELAY_MS = 15000;
  const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
  const LABELS = {
    pending: "Pending",
    approved: "Approved",
    rejected: "Rejected",
    failed: "Failed",
  };

  const $ = (id) => document.getElementById(id);
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
    lookupForm: $("lookup-form"),
    lookupId: $("lookup-id"),
    lookupError: $("lookup-error"),
    lookupButton: $("lookup-button"),
  };

  // ---------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(status, code, message, retryAfter) {
      super(message);
      this.status = status;
      this.code = code;
      this.retryAfter = retryAfter;
    }
  }

  function retryAfterSeconds(response) {
    const value = response.headers.get("Retry-After");
    if (!value) return null;
    const seconds = Number(value);
    if (Number.isFinite(seconds)) return Math.max(0, Math.round(seconds));
    const date = Date.parse(value);
    return Number.isNaN(date) ? null : Math.max(0, Math.round((date - Date.now()) / 1000));
  }

  // Fetches JSON; an answer that is not 2xx becomes an ApiError carrying
  // the API's own code and message ({"error": {"code", "message"}}).
  async function api(url, options) {
    let response;
    try {
      response = await fetch(url, {
        cache: "no-store",
        headers: { Accept: "application/json" },
        ...options,
      });
    } catch (error) {
      if (error && error.name === "AbortError") throw error;
      throw new ApiError(
        0,
        "network_error",
        "The server could not be reached. Check your connection and try again.",
        null,
      );
    }
    let body = null;
    let text = "";
    try {
      text = await response.text();
      body = text ? JSON.parse(text) : null;
    } catch (_) {
      body = null;
    }
    if (!response.ok) {
      const detail = body && typeof body.error === "object" && body.error ? body.error : {};
      const message =
        (typeof detail.message === "string" && detail.message) ||
        (text && text.length < 500 ? text.trim() : "") ||
        response.statusText ||
        "The request failed";
      throw new ApiError(
        response.status,
        typeof detail.code === "string" ? detail.code : "http_" + response.status,
        message,
        retryAfterSeconds(response),
      );
    }
    if (body === null || typeof body !== "object") {
      throw new ApiError(response.status, "bad_answer", "The server's answer was not JSON.", null);
    }
    return body;
  }

  // ---------------------------------------------------------- helpers

  function node(tag, attributes, ...children) {
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

  function formatBytes(bytes) {
    if (bytes < 1024) return bytes + " bytes";
    if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(1) + " KiB";
    return (bytes / 1024 / 1024).toFixed(1) + " MiB";
  }

  function clock(date) {
    return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  // Characters as the server counts them: after trimming, in Unicode scalar
  // values, with line breaks sent as CR LF.
  function textLength(value) {
    return Array.from(value.trim().replace(/\r?\n/g, "\r\n")).length;
  }

  function pageUrl(id) {
    const url = new URL(window.location.href);
    url.search = id ? "?id=" + encodeURIComponent(id) : "";
    url.hash = "";
    return url;
  }

  function idFromLocation() {
    const query = new URLSearchParams(window.location.search).get("id");
    if (query && query.trim()) return query.trim();
    const hash = decodeURIComponent(window.location.hash.slice(1)).trim();
    const match = hash.match(UUID);
    return match ? match[0] : null;
  }

  // --------------------------------------------------- field errors

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
    if (error.status) {
      parts.push(
        node(
          "p",
          { class: "hint" },
          "Error code ",
          node("code", null, error.code),
          ", HTTP " + error.status + ".",
        ),
      );
    }
    el.submitError.replaceChildren(...parts);
    el.submitError.hidden = false;
    if (field) {
      setFieldError(field, error.message);
      focusField(field);
    } else {
      el.submitError.focus();
    }
  }

  // ---------------------------------------------------------- form

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
      const answer = await api("ads", { method: "POST", body: data });
      el.form.reset();
      watch(answer.id, { push: true, initial: answer, focus: true });
    } catch (error) {
      if (error instanceof ApiError) showSubmitError(error);
      else showSubmitError(new ApiError(0, "client_error", String(error), null));
    } finally {
      setSending(false);
    }
  }

  // --------------------------------------------------------- watching

  const watcher = {
    id: null,
    generation: 0,
    timer: null,
    delay: FIRST_DELAY_MS,
    status: null,
    controller: null,
    waitingForVisible: false,
  };

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
  }

  function watch(id, options) {
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
      else el.pollInfo.textContent = "Decided; checked at " + clock(new Date()) + ".";
    } else {
      el.statusMessage.textContent = "Checking the status…";
      poll();
    }
    if (focus) el.resultTitle.focus();
  }

  function stopShowing() {
    stopWatching();
    watcher.id = null;
    el.result.hidden = true;
    document.title = "adpipe: submit an ad";
  }

  function showPollError(error, retrying, delay) {
    const parts = [
      node("p", null, node("strong", null, "Could not check the status: "), error.message),
    ];
    if (error.status) {
      parts.push(node("p", { class: "hint" }, "Error code ", node("code", null, error.code), ", HTTP " + error.status + "."));
    }
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
      const answer = await api("ads/" + encodeURIComponent(id), { signal: controller.signal });
      if (generation !== watcher.generation) return;
      el.pollError.hidden = true;
      render(answer);
      if (answer.status === "pending") schedule(nextDelay());
      else el.pollInfo.textContent = "Decided; checked at " + clock(new Date()) + ".";
    } catch (error) {
      if (generation !== watcher.generation || (error && error.name === "AbortError")) return;
      if (!(error instanceof ApiError)) throw error;
      if (error.status === 400 || error.status === 404) {
        // No such ad (any more): asking again will not change that.
        el.approved.hidden = true;
        el.reason.hidden = true;
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

  // ---------------------------------------------------------- lookup

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
      const answer = await api("ads/" + encodeURIComponent(id));
      watch(answer.id || id, { push: true, initial: answer, focus: true });
    } catch (error) {
      const title = error.status === 404 ? "Not found: " : "Could not look it up: ";
      const parts = [node("p", null, node("strong", null, title), error.message)];
      if (error.status) {
        parts.push(node("p", { class: "hint" }, "Error code ", node("code", null, error.code), ", HTTP " + error.status + "."));
      }
      el.lookupError.replaceChildren(...parts);
      el.lookupError.hidden = false;
      el.lookupId.setAttribute("aria-invalid", "true");
      el.lookupId.focus();
    } finally {
      lookingUp = false;
      el.lookupButton.setAttribute("aria-disabled", "false");
      el.lookupForm.setAttribute("aria-busy", "false");
    }
  }

  // ------------------------------------------------------------ wiring

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

  function fromLocation() {
    const id = idFromLocation();
    if (id) watch(id, { push: false });
    else stopShowing();
  }

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
  el.lookupForm.addEventListener("submit", lookup);
  el.checkNow.addEventListener("click", () => {
    if (!watcher.id) return;
    watcher.delay = FIRST_DELAY_MS;
    poll();
  });
  el.copyButton.addEventListener("click", copyLink);

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

  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && watcher.waitingForVisible) poll();
  });
  window.addEventListener("popstate", fromLocation);

  updateCounter();
  // A reload, or a link to an ad (/?id=… or /#…), resumes watching it.
  fromLocation();
})();
