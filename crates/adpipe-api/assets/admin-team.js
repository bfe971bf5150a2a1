// The Team view (admins: manage_accounts): the accounts with their role, a
// picker to change it, disable or enable, reset the password (the new one
// is shown once), and a form to add an account (with a password, or one
// made up by the server and shown once). Nobody changes their own role or
// disables themselves, so those controls are off on one's own row (the
// server refuses them anyway, and keeps the last enabled admin), and so is
// the reset: one's own password is changed in the Password view.
//
// Its buttons and forms are wired here; admin-tabs.js loads the list when
// the view is shown.

import { api, handled, session } from "./admin-api.js";
import { onLeave, onShow } from "./admin-tabs.js";
import { dateTime, hideError, hideSecret, refusal, say, sayError, showError, showSecret } from "./admin-view.js";
import { $, node } from "./dom.js";

const ROLES = ["viewer", "moderator", "admin"];
const MIN_PASSWORD = 12;

const el = {
  refresh: $("team-refresh"),
  once: $("team-once"),
  rows: $("team-rows"),
  form: $("team-form"),
  error: $("team-error"),
  name: $("team-name"),
  role: $("team-role"),
  password: $("team-password"),
  add: $("team-add"),
};

const team = { users: [], generation: 0 };

function userPath(name) {
  return "admin/users/" + encodeURIComponent(name);
}

function usable(user) {
  return user && typeof user.name === "string";
}

// A button whose name says whose row it acts on ("Disable ana").
function rowButton(label, name, control) {
  return node(
    "button",
    { type: "button", class: "button small", "data-control": control },
    label,
    node("span", { class: "visually-hidden" }, " " + name),
  );
}

function row(user) {
  const own = Boolean(session.me) && user.name === session.me.name;
  const select = node("select", { "aria-label": "Role of " + user.name, "data-control": "role" });
  select.replaceChildren(...ROLES.map((value) => node("option", { value }, value)));
  if (!ROLES.includes(user.role)) select.append(node("option", { value: user.role }, user.role));
  select.value = user.role;
  select.disabled = own;
  select.addEventListener("change", () => change(user, { role: select.value }, select));

  const toggle = rowButton(user.disabled ? "Enable" : "Disable", user.name, "toggle");
  toggle.disabled = own;
  toggle.addEventListener("click", () => change(user, { disabled: !user.disabled }));

  // One's own password is changed in the Password view (it asks for the
  // current one).
  const reset = rowButton("Reset password", user.name, "reset");
  reset.disabled = own;
  reset.addEventListener("click", () => {
    const sure = window.confirm(
      "Make up a new password for " + user.name + "? The current one stops working; you are shown the new one once.",
    );
    if (sure) change(user, { reset_password: true });
  });

  return node(
    "tr",
    { "data-name": user.name, "data-role": user.role, "data-disabled": String(Boolean(user.disabled)) },
    node("th", { scope: "row" }, node("code", null, user.name), own ? node("span", { class: "hint" }, " (you)") : null),
    node("td", null, select),
    node(
      "td",
      null,
      node("span", { class: "badge", "data-status": user.disabled ? "rejected" : "approved" }, user.disabled ? "Disabled" : "Enabled"),
    ),
    node("td", null, dateTime(user.created_at_ms)),
    node("td", null, dateTime(user.password_changed_at_ms)),
    node("td", null, node("div", { class: "row-actions" }, toggle, reset)),
  );
}

// Draws the list anew; a focused control keeps the focus.
function render() {
  const active = document.activeElement;
  const focused =
    active && el.rows.contains(active) && active.closest("tr")
      ? [active.closest("tr").dataset.name, active.dataset.control]
      : null;
  el.rows.replaceChildren(...team.users.map(row));
  if (!team.users.length) el.rows.append(node("tr", null, node("td", { colspan: "6" }, "No accounts.")));
  if (focused) {
    const again = Array.from(el.rows.querySelectorAll("tr")).find((tr) => tr.dataset.name === focused[0]);
    const control = again && again.querySelector('[data-control="' + focused[1] + '"]');
    if (control && !control.disabled) control.focus();
  }
}

function keep(user) {
  const index = team.users.findIndex((known) => known.name === user.name);
  if (index >= 0) team.users[index] = user;
  else team.users.push(user);
  team.users.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export async function loadTeam() {
  const generation = ++team.generation;
  el.rows.setAttribute("aria-busy", "true");
  try {
    const answer = await api("admin/users");
    if (generation !== team.generation) return;
    team.users = (Array.isArray(answer.users) ? answer.users : []).filter(usable);
    render();
  } catch (error) {
    if (!handled(error)) sayError("Could not load the accounts: " + refusal(error), error);
  } finally {
    if (generation === team.generation) el.rows.removeAttribute("aria-busy");
  }
}

function what(patch) {
  if (patch.role) return "made " + patch.role;
  if (patch.disabled === true) return "disabled";
  if (patch.disabled === false) return "enabled";
  return "given a new password";
}

async function change(user, patch, select) {
  const tr = Array.from(el.rows.querySelectorAll("tr")).find((candidate) => candidate.dataset.name === user.name);
  if (tr) tr.setAttribute("aria-busy", "true");
  try {
    const answer = await api(userPath(user.name), { method: "PATCH", json: patch });
    const { password, ...fresh } = answer || {};
    if (usable(fresh)) keep(fresh);
    render();
    if (typeof password === "string" && password) {
      showSecret(el.once, {
        title: "The new password of " + user.name + ".",
        label: "Password",
        value: password,
        fieldId: "team-secret",
        back: el.name,
      });
    }
    say(user.name + " was " + what(patch) + ".");
  } catch (error) {
    if (handled(error)) return;
    if (select) select.value = user.role;
    if (tr) tr.removeAttribute("aria-busy");
    let message = refusal(error);
    if (error.code === "last_admin") message = user.name + " is the last enabled admin: make another admin first.";
    sayError("Could not change " + user.name + ": " + message, error);
  }
}

async function add(event) {
  event.preventDefault();
  if (el.add.getAttribute("aria-disabled") === "true") return;
  hideError(el.error);
  for (const field of [el.name, el.password]) field.removeAttribute("aria-invalid");
  const name = el.name.value.trim().toLowerCase();
  const password = el.password.value;
  if (!name) {
    showError(el.error, "Enter a name for the account.");
    el.name.setAttribute("aria-invalid", "true");
    el.name.focus();
    return;
  }
  if (password && [...password].length < MIN_PASSWORD) {
    showError(el.error, "A password needs at least " + MIN_PASSWORD + " characters; or leave it empty to have one made up.");
    el.password.setAttribute("aria-invalid", "true");
    el.password.focus();
    return;
  }
  const body = { name, role: el.role.value };
  if (password) body.password = password;
  el.add.setAttribute("aria-disabled", "true");
  try {
    const answer = await api("admin/users", { method: "POST", json: body });
    const { password: made, ...user } = answer || {};
    el.form.reset();
    if (usable(user)) keep(user);
    render();
    say("Added " + name + " (" + body.role + ").");
    if (typeof made === "string" && made) {
      showSecret(el.once, {
        title: "The password of the new account " + name + ".",
        label: "Password",
        value: made,
        fieldId: "team-secret",
        back: el.name,
      });
    } else {
      el.name.focus();
    }
  } catch (error) {
    if (handled(error)) return;
    const title =
      error.code === "account_exists" ? "There is already an account named " + name + "." : "Could not add the account.";
    showError(el.error, title, error);
    el.name.setAttribute("aria-invalid", String(error.code === "account_exists" || error.code === "invalid_account"));
    el.name.focus();
  } finally {
    el.add.setAttribute("aria-disabled", "false");
  }
}

// Signed out: nothing of the list, no secret, an empty form.
export function resetTeam() {
  team.generation += 1;
  team.users = [];
  el.rows.replaceChildren();
  hideSecret(el.once);
  hideError(el.error);
  el.form.reset();
}

onShow("team", loadTeam);
onLeave("team", () => hideSecret(el.once));
el.refresh.addEventListener("click", loadTeam);
el.form.addEventListener("submit", add);
