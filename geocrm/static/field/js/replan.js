/* "Re-plan from here" on Today (issue 15): the rest of today re-planned from where the
 * phone is. The position goes in the JSON body (never the URL) with the phone's own id for
 * the request (Idempotency-Key), so the server applies it exactly once. Offline — or when
 * the request does not get through — the same write (same id) waits in the outbox and is
 * applied when the phone syncs; Today then shows the result. What changed comes back in
 * the rep's language ("Kahvila Sävy moved after lunch…"), rendered by the server from the
 * structured notes it stores; it is shown as text, never HTML. */
import { csrfToken } from "../../js/config.js";
import { h } from "./dom.js";
import { position } from "./geo.js";
import { t as _ } from "./i18n.js";
import * as Outbox from "./outbox.js";

const URL = "/api/v1/today/replan";

function showLines(out, lines, state) {
  out.dataset.state = state;
  out.replaceChildren(h("ul", { class: "replan-lines" }, lines.map(function (line) {
    return h("li", { text: line });
  })));
}

function showText(out, text, state) {
  out.dataset.state = state;
  out.replaceChildren(h("p", { text: text }));
}

/** Today's latest re-plan (after a sync, or from another device), when online. */
function showLast(out) {
  if (!navigator.onLine) return;
  fetch(URL, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (res) { return res.ok ? res.json() : null; })
    .then(function (body) {
      if (body && body.lines && body.lines.length && !out.dataset.state) showLines(out, body.lines, "done");
    })
    .catch(function () { /* offline after all: nothing to show */ });
}

function send(data, id) {
  return fetch(URL, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json",
      "X-CSRFToken": csrfToken(), "Idempotency-Key": id },
    body: JSON.stringify(data),
  }).then(function (res) {
    return res.json().then(function (body) { return { ok: res.ok, body: body }; });
  });
}

function run(plan, button, out, hooks) {
  const label = button.textContent;
  button.disabled = true;
  button.textContent = _("Locating…");
  return position().then(function (pos) {
    if (pos.error) { showText(out, pos.error, "error"); return null; }
    const id = Outbox.uuid();
    const data = { plan_id: plan.plan_id, lat: pos.lat, lon: pos.lon,
      accuracy_m: pos.accuracy, asked_at: new Date().toISOString() };
    const later = function () {
      return hooks.queue("replan", data, id).then(function () {
        showText(out, _("No connection: the re-plan is saved and runs as soon as the phone is back online."), "queued");
      });
    };
    if (!navigator.onLine) return later();
    button.textContent = _("Re-planning…");
    return send(data, id).then(function (r) {
      if (!r.ok) { showText(out, r.body.detail || r.body.title || "", "error"); return null; }
      return hooks.reload().then(function () {
        const fresh = document.getElementById("replan-result");
        if (fresh) showLines(fresh, r.body.lines || [], "done");
      });
    }, later);
  }).finally(function () {
    if (button.isConnected) { button.disabled = false; button.textContent = label; }
  });
}

/** The Today card: a button, and where the result (or the queued state) is said. */
export function replanCard(plan, hooks) {
  if (!plan || plan.source !== "plan" || !plan.plan_id) return null;
  const out = h("div", { id: "replan-result", role: "status", "aria-live": "polite" });
  const button = h("button", { type: "button", id: "replan-here", class: "button",
    text: _("Re-plan from here") });
  button.addEventListener("click", function () { run(plan, button, out, hooks); });
  showLast(out);
  return h("section", { class: "card replan", "aria-labelledby": "replan-h" },
    h("h2", { id: "replan-h", text: _("Running late or early?") }),
    h("p", { text: _("Re-plan the rest of today from where you are now.") }),
    button, out);
}
