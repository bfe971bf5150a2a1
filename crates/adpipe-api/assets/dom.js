// What adpipe's pages share: finding and building elements, and reading
// the API's answers, whose errors are {"error": {"code", "message"}}.
// Imported by the submission page (app*.js), the API reference (docs.js)
// and the moderation console (admin*.js), relative to their own address,
// so it loads from /assets/ like them.
//
// Everything a server returns is shown as text: node() appends strings as
// text nodes, never as HTML.

export const $ = (id) => document.getElementById(id);

// An ad's id (a UUID) anywhere in a string: a bare id, or a link to the ad.
export const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

// node("p", { class: "hint" }, "text", otherNode): an element with its
// attributes and children; null, undefined and false children are left out.
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

// ---------------------------------------------------------------- API

// A request that did not give what was asked: the HTTP status (0 when the
// server was not reached), the API's stable code, its message, and the
// seconds its Retry-After asks to wait (null when it names none).
export class ApiError extends Error {
  constructor(status, code, message, retryAfter = null) {
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

// The ApiError of an answer that is not 2xx: the API's own code and
// message, or what the answer says otherwise (a short text, its status).
export async function errorOf(response) {
  let body = null;
  let raw = "";
  try {
    raw = await response.text();
    body = raw ? JSON.parse(raw) : null;
  } catch (_) {
    body = null;
  }
  const detail = body && typeof body.error === "object" && body.error ? body.error : {};
  const message =
    (typeof detail.message === "string" && detail.message) ||
    (raw && raw.length < 500 && !body ? raw.trim() : "") ||
    response.statusText ||
    "The request failed";
  return new ApiError(
    response.status,
    typeof detail.code === "string" ? detail.code : "http_" + response.status,
    message,
    retryAfterSeconds(response),
  );
}

// The JSON object of a 2xx answer; anything else is a `bad_answer`.
export async function jsonOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch (_) {
    body = null;
  }
  if (body === null || typeof body !== "object") {
    throw new ApiError(response.status, "bad_answer", "The server's answer was not JSON.");
  }
  return body;
}

// A request of the public pages (no token): the answer's JSON object, or
// an ApiError. An abort (options.signal) is passed on as it is.
export async function fetchJson(url, options) {
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
    );
  }
  if (!response.ok) throw await errorOf(response);
  return jsonOf(response);
}

// ------------------------------------------------------------- errors

// "Error code …, HTTP …." under an error's message, when the server
// answered; null when it was not reached.
export function errorCode(error) {
  if (!error.status) return null;
  return node("p", { class: "hint" }, "Error code ", node("code", null, error.code), ", HTTP " + error.status + ".");
}

// The paragraphs of an error box: the title in bold with the message, and
// the code when the server answered.
export function errorParts(title, error) {
  const parts = [node("p", null, node("strong", null, title), error.message)];
  const code = errorCode(error);
  if (code) parts.push(code);
  return parts;
}
