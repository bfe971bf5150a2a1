// The moderation console's link to the server: the session (who is signed
// in, with their role and what it may do), the requests made in it, and
// the photos fetched in it. Nothing here draws the page; a 401 and a 403
// are handed to the hooks set with onUnauthorized and onForbidden.
//
// The session itself is the server's `adpipe_session` cookie: HttpOnly
// (this script never sees it), SameSite=Strict, sent by the browser with
// every same-origin request. Nothing is kept in sessionStorage or
// localStorage. The browser adds the Origin header to every POST, PATCH
// and DELETE, which the server checks against cross-site requests.
//
// The errors (ApiError) and reading the answers are dom.js's, shared with
// the other pages.

import { ApiError, errorOf, jsonOf } from "./dom.js";

// ------------------------------------------------------------- session

// `me`: the answer of GET /admin/me or POST /admin/session ({name, role,
// via, may}) while signed in, else null. `epoch` changes whenever a
// session starts or ends: answers to requests of an earlier one are
// ignored.
export const session = { me: null, active: false, epoch: 0 };

// Whether the signed-in role may do `permission` ("read", "decide",
// "retag", "manage_accounts", "read_audit", "manage_models"). The server
// checks again; this only decides what the page offers.
export function may(permission) {
  return Boolean(session.me && Array.isArray(session.me.may) && session.me.may.includes(permission));
}

// The signed-in role, for messages ("viewer").
export function role() {
  return session.me && typeof session.me.role === "string" ? session.me.role : "unknown";
}

// ---------------------------------------------------------------- API

// An answer to a request of a session that has ended since: ignored.
class Stale extends Error {}

// A 401 that means "not signed in" (no session, or it expired). A wrong
// password (sign_in_failed, when signing in or changing it) is a 401 too,
// but the session, if any, goes on.
export function isSignedOut(error) {
  return error instanceof ApiError && error.status === 401 && error.code !== "sign_in_failed";
}

// Already dealt with: a stale answer, or a signed-out 401 (back to the
// sign-in form).
export function handled(error) {
  return error instanceof Stale || isSignedOut(error);
}

// What a 401 does (the console ends the session) and what a 403 does (the
// console asks who it is again: the role may have changed); set once at
// start-up.
let unauthorized = () => {};
let forbidden = () => {};

export function onUnauthorized(handler) {
  unauthorized = handler;
}

export function onForbidden(handler) {
  forbidden = handler;
}

// One request with the session cookie; a signed-out 401 ends the session.
async function send(path, options) {
  const { method = "GET", json, accept = "application/json" } = options || {};
  const epoch = session.epoch;
  const headers = { Accept: accept };
  if (json !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: json === undefined ? undefined : JSON.stringify(json),
      cache: "no-store",
      credentials: "same-origin",
    });
  } catch (_) {
    if (epoch !== session.epoch) throw new Stale();
    throw new ApiError(0, "network_error", "The server could not be reached. Check the connection and try again.");
  }
  if (epoch !== session.epoch) throw new Stale();
  if (!response.ok) {
    const error = await errorOf(response);
    if (epoch !== session.epoch) throw new Stale();
    if (isSignedOut(error)) unauthorized(error);
    else if (error.status === 403 && error.code === "forbidden") forbidden(error);
    throw error;
  }
  return response;
}

// The JSON object of a request (see send); null for a 204 No Content.
export async function api(path, options) {
  const response = await send(path, options);
  if (response.status === 204) return null;
  return jsonOf(response);
}

export function adPath(id) {
  return "admin/ads/" + encodeURIComponent(id);
}

// -------------------------------------------------------------- images

// The photos are fetched here (with the session, like every request) and
// shown through object URLs; those of ads no longer near the current one
// (or the one found) are revoked.
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
