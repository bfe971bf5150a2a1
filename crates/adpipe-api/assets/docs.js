// adpipe's API reference (/docs): renders openapi.json with the vendored
// Swagger UI (assets/vendor/swagger-ui/, see PROVENANCE.md there). A
// module, run after the bundle (a classic deferred script that defines
// window.SwaggerUIBundle; deferred scripts and modules run in the order of
// the page). Everything comes from this origin; the page's
// Content-Security-Policy needs no exception: no inline script or style, no
// eval, no worker.
//
// <html data-docs> says where the page stands: "loading", then "ready"
// once Swagger UI has rendered the document, or "error" (the browser tests
// wait for it).

import { $, errorParts, fetchJson, node } from "./dom.js";

const SOURCE = "openapi.json";
const status = $("docs-status");
const failure = $("docs-error");
const container = $("swagger-ui");

document.documentElement.dataset.docs = "loading";

// Swagger UI's dark theme is the `dark-mode` class on <html>; follow the
// system's scheme, as style.css does.
const dark = window.matchMedia("(prefers-color-scheme: dark)");
const applyScheme = () => document.documentElement.classList.toggle("dark-mode", dark.matches);
applyScheme();
dark.addEventListener("change", applyScheme);

// Swagger UI wraps the operations in a <main> of its own; this page has one
// already, so Swagger UI's becomes a named region inside it (whenever React
// renders it).
new MutationObserver(() => {
  const inner = container.querySelector("main:not([role])");
  if (inner) {
    inner.setAttribute("role", "region");
    inner.setAttribute("aria-label", "Operations");
  }
}).observe(container, { childList: true, subtree: true });

function fail(parts) {
  status.hidden = true;
  failure.replaceChildren(...parts, node("p", null, "Reload the page to try again."));
  failure.hidden = false;
  document.documentElement.dataset.docs = "error";
}

function start(spec) {
  window.ui = window.SwaggerUIBundle({
    spec,
    domNode: container,
    layout: "BaseLayout",
    presets: [window.SwaggerUIBundle.presets.apis],
    // Operations and tags get addresses (#/ads/submit) that can be shared.
    deepLinking: true,
    // The filter box (by tag or path).
    filter: true,
    displayOperationId: true,
    displayRequestDuration: true,
    // Show minLength, maxLength, pattern... of parameters.
    showCommonExtensions: true,
    // Nothing leaves this origin: no badge from the public validator, no
    // configuration taken from the query string, no token kept in
    // localStorage after the tab closes.
    validatorUrl: null,
    queryConfigEnabled: false,
    persistAuthorization: false,
    onComplete: () => {
      status.hidden = true;
      document.documentElement.dataset.docs = "ready";
    },
  });
}

if (typeof window.SwaggerUIBundle !== "function") {
  fail([node("p", null, node("strong", null, "The API reference could not start: "), "its script did not load.")]);
} else {
  fetchJson(SOURCE)
    .then(start)
    .catch((error) => fail(errorParts("The API description could not be loaded: ", error)));
}
