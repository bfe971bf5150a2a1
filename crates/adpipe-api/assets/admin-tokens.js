// The Tokens view (anyone signed in): the API tokens of one's own account
// (admins see everyone's, with an Account column), a form to make one
// (the server shows the token once: it keeps only its hash), and Revoke.
// A token acts as its account, with its role, in `Authorization: Bearer`.
//
// Its buttons and form are wired here; admin-tabs.js loads the list when
// the view is shown.

import { api, handled, may } from "./admin-api.js";
import { onLeave, onShow } from "./admin-tabs.js";
import { dateTime, hideError, hideSecret, refusal, say, sayError, showError, showSecret } from "./admin-view.js";
import { $, node } from "./dom.js";

const el = {
  table: $("tokens"),
  caption: $("tokens-caption"),
  refresh: $("tokens-refresh"),
  form: $("token-form"),
  name: $("token-name"),
  create: $("token-create"),
  error: $("token-error"),
  once: $("token-once"),
  rows: $("token-rows"),
};

const tokens = { list: [], generation: 0 };

function usable(token) {
  return token && typeof token.id === "string";
}

function status(token) {
  if (typeof token.revoked_at_ms === "number") return ["rejected", "Revoked " + dateTime(token.revoked_at_ms)];
  return ["approved", "Active"];
}

function row(token, everyone) {
  const [kind, label] = status(token);
  let action = null;
  if (kind !== "rejected") {
    action = node(
      "button",
      { type: "button", class: "button small danger" },
      "Revoke",
      node("span", { class: "visually-hidden" }, " " + token.name),
    );
    action.addEventListener("click", () => revoke(token));
  }
  return node(
    "tr",
    { "data-id": token.id, "data-name": token.name, "data-revoked": String(kind === "rejected") },
    node("th", { scope: "row" }, token.name),
    everyone ? node("td", null, node("code", null, token.account)) : null,
    node("td", null, dateTime(token.created_at_ms)),
    node("td", null, typeof token.last_used_at_ms === "number" ? dateTime(token.last_used_at_ms) : "never"),
    node("td", null, node("span", { class: "badge", "data-status": kind }, label)),
    node("td", null, action),
  );
}

function render() {
  // Admins list everyone's tokens: whose each is, in a column of its own.
  const everyone = may("manage_accounts");
  el.table.classList.toggle("with-account", everyone);
  el.caption.textContent = everyone ? "Every account's tokens, newest first" : "Your tokens, newest first";
  el.rows.replaceChildren(...tokens.list.map((token) => row(token, everyone)));
  if (!tokens.list.length) {
    el.rows.append(node("tr", null, node("td", { colspan: everyone ? "6" : "5" }, "No tokens yet.")));
  }
}

export async function loadTokens() {
  const generation = ++tokens.generation;
  el.rows.setAttribute("aria-busy", "true");
  try {
    const answer = await api("admin/tokens");
    if (generation !== tokens.generation) return;
    tokens.list = (Array.isArray(answer.tokens) ? answer.tokens : []).filter(usable);
    render();
  } catch (error) {
    if (!handled(error)) sayError("Could not load the tokens: " + refusal(error), error);
  } finally {
    if (generation === tokens.generation) el.rows.removeAttribute("aria-busy");
  }
}

async function create(event) {
  event.preventDefault();
  if (el.create.getAttribute("aria-disabled") === "true") return;
  hideError(el.error);
  el.name.removeAttribute("aria-invalid");
  const name = el.name.value.trim();
  if (!name) {
    showError(el.error, "Name the token: what it is for (e.g. nightly-export).");
    el.name.setAttribute("aria-invalid", "true");
    el.name.focus();
    return;
  }
  el.create.setAttribute("aria-disabled", "true");
  try {
    const made = await api("admin/tokens", { method: "POST", json: { name } });
    el.form.reset();
    await loadTokens();
    say("Created the token " + name + ".");
    showSecret(el.once, {
      title: "Your new token " + name + ".",
      label: "Token",
      value: typeof made.token === "string" ? made.token : "",
      fieldId: "token-secret",
      back: el.name,
    });
  } catch (error) {
    if (handled(error)) return;
    showError(el.error, "Could not create the token.", error);
    if (error.code === "invalid_account") el.name.setAttribute("aria-invalid", "true");
    el.name.focus();
  } finally {
    el.create.setAttribute("aria-disabled", "false");
  }
}

async function revoke(token) {
  const whose = may("manage_accounts") ? " of " + token.account : "";
  if (!window.confirm("Revoke the token " + token.name + whose + "? Scripts using it stop working at once.")) return;
  try {
    await api("admin/tokens/" + encodeURIComponent(token.id), { method: "DELETE" });
    say("Revoked the token " + token.name + whose + ".");
    await loadTokens();
    el.name.focus();
  } catch (error) {
    if (handled(error)) return;
    sayError("Could not revoke " + token.name + ": " + refusal(error), error);
  }
}

// Signed out: nothing of the list, no secret, an empty form.
export function resetTokens() {
  tokens.generation += 1;
  tokens.list = [];
  el.rows.replaceChildren();
  hideSecret(el.once);
  hideError(el.error);
  el.form.reset();
}

onShow("tokens", loadTokens);
onLeave("tokens", () => hideSecret(el.once));
el.refresh.addEventListener("click", loadTokens);
el.form.addEventListener("submit", create);
