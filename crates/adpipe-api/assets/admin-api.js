// The moderation console's link to the server: the session (the admin
// token and the moderator's name), the requests made with it, and the
// photos fetched with it. Nothing here draws the page; a 401 is handed to
// the hook set with onUnauthorized.
//
// The token is kept in sessionStorage (this tab, until it is closed or the
// moderator signs out) and only ever travels in an Authorization header set
// here, never in a cookie, so other sites cannot make the browser use it.

const STORAGE = { token: "adpipe.admin.token", moderator: "adpipe.admin.moderator" };

// ------------------------------------------------------------- session

// `epoch` changes whenever a session starts or ends: answers to requests
// of an earlier one are ignored.
export const session = { token: null, moderator: null, active: false, epoch: 0 };

function storageGet(key) {
  try {
    return window.sessionStorage.getItem(key);
  } catch (_) {
    return null;
  }
}

function storageSet(key, value) {
  try {
    if (value === null) window.sessionStorage.removeItem(key);
    else window.sessionStorage.setItem(key, value);
  } catch (_) {
    // Storage off: the session lasts until the page is left.
  }
}

// The token and name kept in this tab, or nulls.
export function storedSession() {
  return { token: storageGet(STORAGE.token), moderator: storageGet(STORAGE.moderator) };
}

// Keeps a token that works and its moderator in this tab; nulls forget them.
export function storeSession(token, moderator) {
  storageSet(STORAGE.token, token);
  storageSet(STORAGE.moderator, moderator);
}

// ---------------------------------------------------------------- API

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// An answer to a request of a session that has ended since: ignored.
class Stale extends Error {}

// Already dealt with: a stale answer, or a 401 (back to the sign-in).
export function handled(error) {
  return error instanceof Stale || (error instanceof ApiError && error.status === 401);
}

// What a 401 does (the console ends the session); set once at start-up.
let unauthorized = () => {};

export function onUnauthorized(handler) {
  unauthorized = handler;
}

async function errorOf(response) {
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
  );
}

// One request with the bearer token; a 401 ends the session.
async function send(path, options) {
  const { method = "GET", json, accept = "application/json" } = options || {};
  const epoch = session.epoch;
  const headers = { Accept: accept, Authorization: "Bearer " + session.token };
  if (json !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: json === undefined ? undefined : JSON.stringify(json),
      cache: "no-store",
      credentials: "omit",
    });
  } catch (_) {
    if (epoch !== session.epoch) throw new Stale();
    throw new ApiError(0, "network_error", "The server could not be reached. Check the connection and try again.");
  }
  if (epoch !== session.epoch) throw new Stale();
  if (!response.ok) {
    const error = await errorOf(response);
    if (epoch !== session.epoch) throw new Stale();
    if (error.status === 401) unauthorized(error);
    throw error;
  }
  return response;
}

export async function api(path, options) {
  const response = await send(path, options);
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

export function adPath(id) {
  return "admin/ads/" + encodeURIComponent(id);
}

// -------------------------------------------------------------- images

// The photos need the bearer token, so they are fetched here and shown
// through object URLs; those of ads no longer near the current one (or
// the one found) are revoked.
const images = new Map();

// Each part of the page that shows photos says which ads it still wants.
const keepers = [];

export function keepImages(wanted) {
  keepers.push(wanted);
}

// Resolves to an object URL of the photo of `id`.
export function imageFor(id) {
  let entry = images.get(id);
  if (!entry) {
    entry = { url: null, promise: null };
    const mine = entry;
    entry.promise = send(adPath(id) + "/image", { accept: "image/*" })
      .then((response) => response.blob())
      .then(
        (blob) => {
          const url = URL.createObjectURL(blob);
          if (images.get(id) === mine) mine.url = url;
          else URL.revokeObjectURL(url);
          return url;
        },
        (error) => {
          if (images.get(id) === mine) images.delete(id);
          throw error;
        },
      );
    images.set(id, entry);
  }
  return entry.promise;
}

// Whether `url` is still the photo of `id` (not revoked since).
export function isImageOf(id, url) {
  const entry = images.get(id);
  return Boolean(entry) && entry.url === url;
}

export function pruneImages() {
  const keep = new Set();
  for (const wanted of keepers) for (const id of wanted()) keep.add(id);
  for (const [id, entry] of images) {
    if (keep.has(id)) continue;
    images.delete(id);
    if (entry.url) URL.revokeObjectURL(entry.url);
  }
}

export function forgetImages() {
  for (const entry of images.values()) if (entry.url) URL.revokeObjectURL(entry.url);
  images.clear();
}
