/* Drop-ins on Today (issue 16, ついで訪問): what fits into the slack of today's route from
 * where the phone is — overdue accounts and look-alike places nearby, each checked by the
 * server with the routing model (windows, lunch, the shift end) — and "Add to route" puts
 * one into the route where it fits. Online only: the check needs the server. The position
 * travels in the JSON body, never the URL; names are shown as text, never HTML. */
import { csrfToken } from "../../js/config.js";
import { h } from "./dom.js";
import { position } from "./geo.js";
import { t as _ } from "./i18n.js";

const FIND = "/prospecting/dropins.json";
const ADD = "/prospecting/dropins/add";

function post(url, data) {
  return fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json",
      "X-CSRFToken": csrfToken() },
    body: JSON.stringify(data),
  }).then(function (res) {
    return res.json().catch(function () { return {}; }).then(function (body) {
      return { ok: res.ok, body: body };
    });
  });
}

function say(out, text) {
  out.replaceChildren(h("p", { text: text }));
}

function item(d, where, out, hooks) {
  const add = h("button", { type: "button", class: "button", text: _("Add to route") });
  add.addEventListener("click", function () {
    add.disabled = true;
    post(ADD, { kind: d.kind, key: d.key, lat: where.lat, lon: where.lon }).then(function (r) {
      if (!r.ok) { add.disabled = false; say(out, r.body.detail || r.body.title || ""); return null; }
      return hooks.reload();
    }, function () { add.disabled = false; say(out, _("No connection: try again when you are online.")); });
  });
  return h("li", { class: "dropin", "data-key": d.key },
    h("span", { class: "name", text: d.name }),
    h("span", { class: "meta", text: [d.why, _("+%(n)s min", { n: d.extraMinutes }),
      _("at %(time)s", { time: d.arrival })].join(" · ") }),
    add);
}

function find(button, out, hooks) {
  if (!navigator.onLine) { say(out, _("No connection: try again when you are online.")); return; }
  button.disabled = true;
  position().then(function (pos) {
    const where = pos.error ? {} : { lat: pos.lat, lon: pos.lon };
    return post(FIND, where).then(function (r) {
      if (!r.ok) { say(out, r.body.detail || r.body.title || ""); return; }
      const found = r.body.dropins || [];
      if (!found.length) { say(out, _("Nothing more fits into today's route.")); return; }
      out.replaceChildren(h("ul", { class: "dropins" }, found.map(function (d) {
        return item(d, where, out, hooks);
      })), h("p", { class: "meta", text: r.body.attribution || "" }));
    });
  }).catch(function () {
    say(out, _("No connection: try again when you are online."));
  }).finally(function () { button.disabled = false; });
}

/** The Today card: find drop-ins that fit, and add one to the route. */
export function dropinCard(plan, hooks) {
  if (!plan || plan.source !== "plan" || !plan.plan_id) return null;
  const out = h("div", { id: "dropin-result", role: "status", "aria-live": "polite" });
  const button = h("button", { type: "button", id: "dropins-find", class: "button",
    text: _("Find drop-ins") });
  button.addEventListener("click", function () { find(button, out, hooks); });
  return h("section", { class: "card dropins-card", "aria-labelledby": "dropin-h" },
    h("h2", { id: "dropin-h", text: _("Time to spare?") }),
    h("p", { text: _("Overdue accounts and look-alike prospects near your route that fit the rest of today.") }),
    button, out);
}
