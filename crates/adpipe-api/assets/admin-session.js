// Signing in and out of the moderation console, and changing one's
// password. Signing in is `POST admin/session` with name and password: the
// server answers who it is ({name, role, via, may}) and sets the session
// cookie (HttpOnly: this script never sees it). At start-up `GET admin/me`
// says whether the browser is signed in already. Signing out is `DELETE
// admin/session`; a changed password ends every session of the account.
//
// What starts and ends with a session (the queue, the views) is set by
// admin.js with onSessionStart and onSessionEnd.

import { api, handled, session } from "./admin-api.js";
import { hideError, say, sayError, showError } from "./admin-view.js";
import { $ } from "./dom.js";

const MIN_PASSWORD = 12;

const el = {
  main: $("main"),
  checking: $("checking"),
  session: $("session"),
  who: $("who"),
  whoRole: $("who-role"),
  signout: $("signout"),
  signin: $("signin"),
  signinNote: $("signin-note"),
  signinForm: $("signin-form"),
  signinError: $("signin-error"),
  signinButton: $("signin-button"),
  name: $("signin-name"),
  password: $("signin-password"),
  console: $("console"),
  passwordForm: $("password-form"),
  passwordError: $("password-error"),
  passwordButton: $("password-button"),
  passwordUsername: $("password-username"),
  passwordCurrent: $("password-current"),
  passwordNew: $("password-new"),
  passwordRepeat: $("password-repeat"),
};

let started = () => {};
let ended = () => {};
let changed = () => {};
let leaving = () => Promise.resolve();

// What a new session starts (the queue), with who it is.
export function onSessionStart(handler) {
  started = handler;
}

// What an ended session leaves behind (nothing: every view is cleared).
export function onSessionEnd(handler) {
  ended = handler;
}

// What follows a changed role (the tabs and the decision controls).
export function onRoleChange(handler) {
  changed = handler;
}

// What is done before signing out, while the session still lasts (the ad
// held is released); signing out waits for its promise.
export function onSigningOut(handler) {
  leaving = handler;
}

// The server's answer about who is signed in, checked for its shape.
function who(me) {
  return {
    name: typeof me.name === "string" ? me.name : "?",
    role: typeof me.role === "string" ? me.role : "unknown",
    via: typeof me.via === "string" ? me.via : "session",
    may: Array.isArray(me.may) ? me.may.filter((permission) => typeof permission === "string") : [],
  };
}

function showWho() {
  el.who.textContent = session.me.name;
  el.whoRole.textContent = session.me.role;
  el.passwordUsername.value = session.me.name;
}

function busy(form, button, on) {
  button.setAttribute("aria-disabled", on ? "true" : "false");
  form.setAttribute("aria-busy", on ? "true" : "false");
}

// ------------------------------------------------------------- sign-in

function begin(me) {
  session.epoch += 1;
  session.me = who(me);
  session.active = true;
  showWho();
  el.checking.hidden = true;
  el.signin.hidden = true;
  hideError(el.signinError);
  el.signinNote.textContent = "";
  el.session.hidden = false;
  el.console.hidden = false;
  say("Signed in as " + session.me.name + " (" + session.me.role + ").");
  started(session.me);
}

// Back to the sign-in form, with nothing of the session left on the page.
// `error` says why in the error box (a title and the error, if any);
// `note` says what happened in a plain notice (signed out, password
// changed); `focus` moves the focus to the form (not at start-up).
export function endSession(options) {
  const { error = null, note = null, focus = true } = options || {};
  session.epoch += 1;
  session.me = null;
  session.active = false;
  ended();
  el.checking.hidden = true;
  el.console.hidden = true;
  el.session.hidden = true;
  el.signin.hidden = false;
  el.password.value = "";
  el.passwordUsername.value = "";
  el.passwordForm.reset();
  hideError(el.passwordError);
  document.title = "adpipe: moderation";
  el.signinNote.textContent = note || "";
  if (error) {
    showError(el.signinError, error.title, error.error);
    if (focus) el.signinError.focus();
  } else {
    hideError(el.signinError);
    if (focus) (el.name.value ? el.password : el.name).focus();
  }
}

function refuseSignIn(error) {
  let title = "Could not sign in.";
  if (error.status === 401) title = "Wrong name or password.";
  else if (error.status === 429) {
    const wait = error.retryAfter;
    title =
      "Too many failed sign-ins: signing in is locked for a while." +
      (wait !== null ? " Try again in " + wait + (wait === 1 ? " second." : " seconds.") : " Try again later.");
  } else if (error.status === 403) {
    title = "The server refused a sign-in from this page's address. Open the console at the server's own address.";
  }
  showError(el.signinError, title, error);
}

async function signIn(event) {
  event.preventDefault();
  if (el.signinButton.getAttribute("aria-disabled") === "true") return;
  const name = el.name.value.trim();
  const password = el.password.value;
  el.name.removeAttribute("aria-invalid");
  el.password.removeAttribute("aria-invalid");
  el.signinNote.textContent = "";
  for (const [field, value, what] of [[el.name, name, "your name"], [el.password, password, "your password"]]) {
    if (!value) {
      showError(el.signinError, "Enter " + what + ".");
      field.setAttribute("aria-invalid", "true");
      field.focus();
      return;
    }
  }
  busy(el.signinForm, el.signinButton, true);
  try {
    const me = await api("admin/session", { method: "POST", json: { name, password } });
    el.password.value = "";
    begin(me);
  } catch (error) {
    if (handled(error)) return;
    el.password.value = "";
    refuseSignIn(error);
    if (error.status === 401) {
      el.name.setAttribute("aria-invalid", "true");
      el.password.setAttribute("aria-invalid", "true");
    }
    el.password.focus();
  } finally {
    busy(el.signinForm, el.signinButton, false);
  }
}

// At start-up: signed in already (a reload, another tab), or the form.
export async function resume() {
  try {
    begin(await api("admin/me"));
  } catch (error) {
    // A 401 shows the form (the hook set in admin.js); anything else says
    // why the console cannot tell.
    if (handled(error)) return;
    endSession({
      error: { title: "Could not check whether you are signed in.", error },
      focus: false,
    });
  }
}

// Asks who is signed in again (a 403 may mean the role changed meanwhile).
export async function refreshMe() {
  if (!session.active) return;
  const epoch = session.epoch;
  try {
    const me = who(await api("admin/me"));
    if (epoch !== session.epoch || !session.active) return;
    const before = session.me.role + " " + session.me.may.join(",");
    session.me = me;
    showWho();
    if (before !== me.role + " " + me.may.join(",")) changed(me);
  } catch (_) {
    // A 401 ends the session on its own; anything else changes nothing.
  }
}

// Requests still in flight would be answered 401 once the session ends:
// they are of the session being left, and ignored.
function dropInFlight() {
  session.epoch += 1;
}

async function signOut() {
  el.signout.setAttribute("aria-disabled", "true");
  try {
    await leaving();
  } catch (_) {
    // Signing out goes on regardless.
  }
  dropInFlight();
  try {
    await api("admin/session", { method: "DELETE" });
    endSession({ note: "You are signed out." });
  } catch (error) {
    // Still signed in: the cookie is the server's to end.
    if (!handled(error)) sayError("Could not sign out: " + error.message, error);
  } finally {
    el.signout.setAttribute("aria-disabled", "false");
  }
}

// ------------------------------------------------------------ password

function passwordProblem(title, field) {
  showError(el.passwordError, title);
  if (field) {
    field.setAttribute("aria-invalid", "true");
    field.focus();
  }
}

async function changePassword(event) {
  event.preventDefault();
  if (el.passwordButton.getAttribute("aria-disabled") === "true") return;
  const current = el.passwordCurrent.value;
  const fresh = el.passwordNew.value;
  for (const field of [el.passwordCurrent, el.passwordNew, el.passwordRepeat]) field.removeAttribute("aria-invalid");
  hideError(el.passwordError);
  if (!current) return passwordProblem("Enter your current password.", el.passwordCurrent);
  if ([...fresh].length < MIN_PASSWORD) {
    return passwordProblem("The new password needs at least " + MIN_PASSWORD + " characters.", el.passwordNew);
  }
  if (fresh !== el.passwordRepeat.value) {
    return passwordProblem("The two new passwords differ; type the same one twice.", el.passwordRepeat);
  }
  busy(el.passwordForm, el.passwordButton, true);
  dropInFlight();
  try {
    await api("admin/me/password", { method: "POST", json: { current, new: fresh } });
    endSession({ note: "Your password was changed, and every session of your account ended. Sign in with the new password." });
  } catch (error) {
    if (handled(error)) return;
    el.passwordCurrent.value = "";
    if (error.code === "sign_in_failed") {
      showError(el.passwordError, "The current password is wrong.", error);
      el.passwordCurrent.setAttribute("aria-invalid", "true");
      el.passwordCurrent.focus();
    } else {
      showError(el.passwordError, "Could not change the password.", error);
      if (error.code === "invalid_account") el.passwordNew.setAttribute("aria-invalid", "true");
      el.passwordError.focus();
    }
  } finally {
    busy(el.passwordForm, el.passwordButton, false);
  }
}

// ------------------------------------------------------------- wiring

el.signinForm.addEventListener("submit", signIn);
el.signout.addEventListener("click", () => {
  if (el.signout.getAttribute("aria-disabled") !== "true") signOut();
});
el.passwordForm.addEventListener("submit", changePassword);
for (const field of [el.name, el.password]) {
  field.addEventListener("input", () => field.removeAttribute("aria-invalid"));
}
