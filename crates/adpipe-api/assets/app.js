// adpipe's submission page (/): send an ad, then watch its status until it
// is decided, or look an ad up by id. Plain JavaScript in ES modules, no
// dependencies, nothing fetched from elsewhere; every URL is relative (the
// requests' to the page, the imports' to this file: they load from
// /assets/), so the page also works behind a path prefix.
//
// This file is the entry point: the page's address and the wiring. The
// parts:
//   dom.js         elements, requests and the API's errors (all pages share it)
//   app-submit.js  the form: checks, the photo's preview, sending
//   app-status.js  the ad being followed: its status until decided, the decision
//   app-lookup.js  looking an ad up by id
//   app-appeal.js  a rejected ad's one appeal, from the rejection email's link
//
// A module runs once the page is parsed (like a deferred script), so the
// elements are all there when these files look them up.

import { UUID } from "./dom.js";
import { holdSecret, setUpAppeal } from "./app-appeal.js";
import { setUpLookup } from "./app-lookup.js";
import { refresh, setUpStatus, stopShowing, watch } from "./app-status.js";
import { setUpSubmitForm } from "./app-submit.js";

// The ad the address names: /?id=…, or a link with the id after the #.
function idFromLocation() {
  const query = new URLSearchParams(window.location.search).get("id");
  if (query && query.trim()) return query.trim();
  const hash = decodeURIComponent(window.location.hash.slice(1)).trim();
  const match = hash.match(UUID);
  return match ? match[0] : null;
}

function fromLocation() {
  const id = idFromLocation();
  // The rejection email's appeal link: /?id=…&appeal=SECRET. Held in
  // memory; following the ad takes it out of the address.
  const secret = new URLSearchParams(window.location.search).get("appeal");
  if (id && secret !== null) holdSecret(id, secret.trim());
  if (id) watch(id, { push: false });
  else stopShowing();
}

setUpSubmitForm();
setUpLookup();
setUpStatus();
setUpAppeal(refresh);
window.addEventListener("popstate", fromLocation);

// A reload, or a link to an ad (/?id=… or /#…), resumes watching it.
fromLocation();
