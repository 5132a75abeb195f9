/* GeoCRM field app: screens drawn from the offline bundle (cached by the service worker)
 * and the IndexedDB outbox. All user text goes through textContent, never innerHTML. */
import { csrfToken, pageData } from "../../js/config.js";
import { h } from "./dom.js";
import { fmtDist, fmtTime, label } from "./format.js";
import { haversine, position } from "./geo.js";
import { t as _ } from "./i18n.js";
import * as Outbox from "./outbox.js";
import { replanCard } from "./replan.js";
import { dropinCard } from "./dropins.js";
import { pushCard } from "./push.js";
import { drawLegs, legInto, legText, legsFit } from "./legs.js";
import { NAV_APPS, NAV_APP_NAMES, destinationLinks, preferredApp, preferredFirst, setPreferredApp, wireFallbacks } from "../../js/navapps.js";

const CFG = pageData();
const screen = document.getElementById("screen");
const state = { bundle: null, byId: {}, map: null, fromCache: false };
const VISITS_KEY = "geocrm.visits";

/* ---------- the screen ---------- */
// Set while a background refresh redraws the screen: focus stays where the rep left it.
let refreshing = false;
// Whether the rep has changed a field on this screen since it was drawn.
let screenEdited = false;
screen.addEventListener("input", function () { screenEdited = true; });
screen.addEventListener("change", function () { screenEdited = true; });
function show() {
  const parts = Array.prototype.filter.call(arguments, function (x) { return x !== null && x !== undefined && x !== false; });
  screen.replaceChildren.apply(screen, parts);
  screenEdited = false;
  if (!refreshing) screen.focus({ preventScroll: true });
}
/* A sync that applied something (here or in the worker) brings new data, and the screen is
 * drawn again from it - but never under the rep's fingers: a screen with a field the rep has
 * changed stays as it is (a sync can finish while the log form is half filled in; its save
 * needs nothing from the redraw), and the messages already on the screen stay on it. */
function refreshScreen() {
  if (screenEdited) return;
  const hash = location.hash;
  const flashes = Array.prototype.slice.call(screen.querySelectorAll(":scope > [data-said]"));
  refreshing = true;
  try { route(); } finally { refreshing = false; }
  if (location.hash !== hash || !screen.firstChild) return;
  flashes.reverse().forEach(function (p) { screen.insertBefore(p, screen.firstChild.nextSibling); });
}
function say(msg, kind) {
  const p = h("p", { class: "flash " + (kind || "info"), role: kind === "error" ? "alert" : "status", "data-said": "1", text: msg });
  screen.insertBefore(p, screen.firstChild.nextSibling);
  return p;
}
/* ---------- data ---------- */
function loadBundle() {
  return fetch(CFG.api + "/bundle", { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (res) {
      if (res.status === 401) { location.href = "/login?next=/app/"; throw new Error("signed out"); }
      if (!res.ok) throw new Error("status " + res.status);
      return res.json();
    })
    .then(function (b) {
      state.bundle = b;
      state.byId = {};
      b.accounts.forEach(function (a) { state.byId[a.id] = a; });
      b.today.stops.forEach(function (s) { if (!state.byId[s.account.id]) state.byId[s.account.id] = s.account; });
      document.body.setAttribute("data-ready", "1");
      return b;
    });
}
function visits() {
  try { return JSON.parse(localStorage.getItem(VISITS_KEY) || "{}"); } catch (e) { return {}; }
}
function saveVisits(v) { localStorage.setItem(VISITS_KEY, JSON.stringify(v)); }

function queue(op, data, id) {
  return Outbox.enqueue(op, data, id).then(function (item) {
    refreshBadge();
    requestSync();
    return item;
  });
}
/* The outbox is the phone's storage: when it refuses a write (storage full, private mode),
 * the form stays as the rep filled it in and says why, rather than waiting for ever. */
function keepFailed(button) {
  return function (err) {
    if (button) button.disabled = false;
    say(_("This phone could not keep it (%(reason)s). What you typed is still here: try again.",
      { reason: (err && err.message) || String(err) }), "error");
  };
}
function requestSync() {
  if (navigator.serviceWorker && navigator.serviceWorker.ready && "SyncManager" in window) {
    navigator.serviceWorker.ready.then(function (reg) { return reg.sync.register("geocrm-outbox"); }).catch(function () {});
  }
  if (navigator.onLine) syncNow();
}
function syncNow() {
  return Outbox.replay().then(function (r) {
    refreshBadge();
    if (r && r.applied) return loadBundle().then(refreshScreen, function () {});
  }, function () { refreshBadge(); });
}

/* ---------- sync badge ---------- */
const badge = document.getElementById("sync-badge");
function refreshBadge() {
  return Outbox.status().then(function (s) {
    let text, cls = "badge";
    if (s.lastError && s.pending) { text = _("%(n)s pending · failed, retry", { n: s.pending }); cls += " bad"; }
    else if (s.pending) { text = _("%(n)s pending", { n: s.pending }); cls += " warn"; }
    else if (s.rejected) { text = _("%(n)s rejected", { n: s.rejected }); cls += " bad"; }
    else text = s.lastSync ? _("Synced %(time)s", { time: fmtTime(s.lastSync) }) : _("Nothing to sync");
    badge.textContent = text;
    badge.className = cls;
    badge.setAttribute("data-pending", String(s.pending));
    return s;
  });
}
badge.addEventListener("click", function () { location.hash = "#/sync"; });
try {
  new BroadcastChannel("geocrm-sync").onmessage = function (ev) {
    refreshBadge();
    if (ev.data && ev.data.type === "synced" && ev.data.applied) loadBundle().then(refreshScreen, function () {});
  };
} catch (e) { /* no BroadcastChannel */ }

/* ---------- navigation links ---------- */
// Every app a rep may navigate with (Naver/Kakao for Korea), the rep's default first: chosen
// on the Sync screen, kept per user on this phone; Naver by default in Korean.
function navApp() { return preferredApp(CFG.userId, CFG.navDefault); }
function navLinks(a) {
  if (a.lat === null || a.lat === undefined) return null;
  const links = preferredFirst(destinationLinks(a.lat, a.lon, a.name, CFG.naverAppname), navApp());
  return h("p", { class: "nav-links" }, _("Navigate:") + " ", links.map(function (l) {
    const attrs = { href: l.href, rel: "noopener", "data-nav-app": l.app };
    if (l.appUrl) attrs["data-app-url"] = l.appUrl; else attrs.target = "_blank";
    return h("a", attrs, l.name);
  }));
}
function navAppForm() {
  const sel = h("select", { id: "nav-app", on: { change: function () { setPreferredApp(CFG.userId, sel.value); } } },
    NAV_APPS.map(function (k) { return h("option", { value: k, selected: k === navApp() }, CFG.navNames[k] || NAV_APP_NAMES[k]); }));
  return h("p", {}, h("label", { for: "nav-app" }, _("My navigation app")), " ", sel);
}
wireFallbacks(document.getElementById("screen"));

function drawMap(el, points) {
  if (!window.L || !points.length) return;
  if (state.map) { state.map.remove(); state.map = null; }
  const map = L.map(el, { zoomControl: true, attributionControl: !!(CFG.tileUrl || CFG.basemap) });
  // The vector basemap (the worker keeps the rep's part offline), else raster tiles.
  if (CFG.basemap && window.protomapsL) protomapsL.leafletLayer(CFG.basemap).addTo(map);
  else if (CFG.tileUrl) L.tileLayer(CFG.tileUrl, { attribution: CFG.tileAttribution, crossOrigin: true, maxZoom: 19 }).addTo(map);
  const bounds = points.map(function (p) { return [p.lat, p.lon]; });
  map.fitBounds(bounds, { padding: [24, 24], maxZoom: 15 });
  points.forEach(function (p) {
    const icon = L.divIcon({ className: "pin" + (p.done ? " done" : ""), html: "", iconSize: [28, 28] });
    const m = L.marker([p.lat, p.lon], { icon: icon, title: p.title, keyboard: false }).addTo(map);
    const el = m.getElement();
    if (el) el.textContent = String(p.label);
    m.on("click", function () { location.hash = "#/account/" + p.id; });
  });
  state.map = map;
}

/* ---------- screens ---------- */
function viewToday() {
  const plan = state.bundle.today;
  const v = visits();
  const stops = plan.stops;
  const next = stops.filter(function (s) { return s.status !== "visited" && !v[s.account.id]; })[0];
  const mapEl = h("div", { id: "map", class: "map", role: "region", "aria-label": _("Map of today's stops") });
  const roads = legsFit(plan.legs, stops); // the drive along the roads, leg by leg (legs.js)
  const list = h("ol", { class: "stops" }, stops.map(function (s, i) {
    const a = s.account;
    const done = s.status === "visited";
    return h("li", { class: done ? "done" : "" },
      roads ? h("span", { class: "leg", text: _("Drive %(drive)s", { drive: legText(legInto(plan.legs, i)) }) }) : null,
      h("a", { href: "#/account/" + a.id, class: "stop" },
        h("span", { class: "name", text: a.name }),
        h("span", { class: "meta", text: [a.address || "", s.arrival ? _("at %(time)s", { time: fmtTime(s.arrival) }) : "",
          s.overdue_days !== null && s.overdue_days !== undefined ? _("due") : "", done ? _("visited") : ""]
          .filter(Boolean).join(" · ") })));
  }));
  show(
    h("h1", {}, _("Today") + " ", h("small", { text: plan.date + " · " + (plan.source === "plan" ? _("planned route") : _("suggested")) })),
    state.fromCache ? h("p", { class: "flash info", role: "status", text: _("Showing saved data from %(time)s", { time: fmtTime(state.bundle.generated_at) }) }) : null,
    next ? h("section", { class: "card next", "aria-labelledby": "next-h" },
      h("h2", { id: "next-h" }, _("Next:") + " ", h("span", { text: next.account.name })),
      next.account.address ? h("p", { text: next.account.address }) : null,
      navLinks(next.account),
      h("p", {}, h("a", { class: "button primary", href: "#/account/" + next.account.id }, _("Open account")))) :
      h("p", { class: "card", text: stops.length ? _("All stops visited.") : _("No stops for today.") }),
    replanCard(plan, { queue: queue, reload: function () { return loadBundle().then(route); } }),
    dropinCard(plan, { reload: function () { return loadBundle().then(route); } }),
    mapEl,
    h("h2", {}, _("Stops (%(n)s)", { n: stops.length })),
    list,
    roads ? h("p", { class: "leg leg-home", text: _("Drive home %(drive)s", { drive: legText(legInto(plan.legs, stops.length)) }) }) : null,
    // The server works out which day "today" is when the link is followed (the saved
    // shell may be older than today): the rep's own daily report, on the full site.
    h("p", {}, h("a", { id: "to-daily-report", class: "button", href: CFG.reportUrl }, _("Daily report")))
  );
  drawMap(mapEl, stops.filter(function (s) { return s.account.lat !== null; }).map(function (s) {
    return { id: s.account.id, lat: s.account.lat, lon: s.account.lon, label: s.seq, title: s.account.name, done: s.status === "visited" };
  }));
  if (roads) drawLegs(state.map, plan.legs, stops.map(function (s) { return s.seq + ". " + s.account.name; }));
}

const PAGE = 100;  // Near me answers a page at a time and says when there is more

function viewNear() {
  const out = h("div", { id: "near-results", "aria-live": "polite" });
  const radius = h("select", { id: "near-radius", name: "radius" },
    [500, 1000, 2000, 5000, 20000].map(function (r) { return h("option", { value: r, selected: r === 2000 }, fmtDist(r)); }));
  const stage = h("select", { id: "near-stage", name: "stage" }, h("option", { value: "" }, _("All stages")),
    ["lead", "prospect", "customer", "lost"].map(function (s) { return h("option", { value: s }, label(s)); }));
  function run() {
    out.replaceChildren(h("p", { role: "status", text: _("Finding your position…") }));
    position().then(function (pos) {
      if (pos.error) {
        out.replaceChildren(h("p", { class: "flash error", role: "alert", text: pos.error + " " + _("Near me needs your position; Today and accounts still work.") }));
        return;
      }
      // The position goes in the body: URLs end up in access logs.
      const ask = { lat: pos.lat, lon: pos.lon, radius: Number(radius.value), limit: PAGE };
      if (stage.value) ask.stage = stage.value;
      let shown = [];
      function page(offset) {
        return fetch(CFG.api + "/accounts/near", {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
          body: JSON.stringify(Object.assign({ offset: offset }, ask)),
        }).then(function (r) { if (!r.ok) throw new Error(); return r.json(); });
      }
      function offline() {
        // Offline: the same question over the accounts kept on the phone.
        const all = state.bundle.accounts.filter(function (a) {
          return a.lat !== null && (!stage.value || a.stage === stage.value);
        }).map(function (a) {
          return Object.assign({}, a, { distance_m: haversine(pos.lat, pos.lon, a.lat, a.lon) });
        }).filter(function (a) { return a.distance_m <= Number(radius.value); })
          .sort(function (x, y) { return x.distance_m - y.distance_m; });
        return { items: all.slice(0, PAGE), more: all.length > PAGE, next_offset: null, offline: true, total: all.length };
      }
      function draw(b) {
        shown = shown.concat(b.items);
        const within = fmtDist(Number(radius.value));
        const summary = b.more ? _("The nearest %(n)s within %(distance)s; more are further out.", { n: shown.length, distance: within }) :
          _("%(n)s within %(distance)s", { n: shown.length, distance: within });
        const notes = [h("p", { id: "near-summary", text: summary })];
        if (b.offline) {
          notes.push(h("p", { class: "flash warn", text: _("Offline: searched the %(kept)s accounts kept on this phone.", { kept: state.bundle.accounts.length }) }));
        }
        const mapEl = shown.length ? h("div", { id: "near-map", class: "map", role: "region", "aria-label": _("Near me") }) : null;
        const more = b.more && b.next_offset !== null ? h("button", { type: "button", id: "near-more", on: { click: function () {
          more.disabled = true;
          page(b.next_offset).then(draw, function () { more.disabled = false; });
        } } }, _("Show more")) : null;
        out.replaceChildren.apply(out, notes.concat([
          mapEl || "",
          h("ul", { class: "stops" }, shown.map(function (a) {
            if (!state.byId[a.id]) state.byId[a.id] = a;
            return h("li", {}, h("a", { href: "#/account/" + a.id, class: "stop" },
              h("span", { class: "name", text: a.name }),
              h("span", { class: "meta", text: fmtDist(a.distance_m) + " · " + label(a.stage) })));
          })),
          more || ""]));
        if (mapEl) {
          drawMap(mapEl, shown.filter(function (a) { return a.lat !== null; }).map(function (a, i) {
            return { id: a.id, lat: a.lat, lon: a.lon, label: i + 1, title: a.name };
          }));
        }
      }
      page(0).then(draw, function () { draw(offline()); });
    });
  }
  show(h("h1", {}, _("Near me")),
    h("form", { class: "filters", on: { submit: function (e) { e.preventDefault(); run(); } } },
      h("label", { for: "near-radius" }, _("Within")), radius,
      h("label", { for: "near-stage" }, _("Stage")), stage,
      h("button", { type: "submit", class: "primary" }, _("Search"))),
    out);
  run();
}

function pendingFor(accountId) {
  return Outbox.all().then(function (items) {
    return items.filter(function (i) { return i.data && i.data.account_id === accountId; });
  });
}

function viewAccount(id) {
  const a = state.byId[id];
  if (!a) {
    show(h("h1", {}, _("Account")), h("p", { text: _("This account is not on this phone. Connect and open it again.") }));
    return;
  }
  const visit = visits()[id];
  const timeline = h("ul", { class: "timeline" });
  pendingFor(id).then(function (items) {
    const rows = items.filter(function (i) { return i.op === "interaction" || i.op === "checkin"; }).map(function (i) {
      return h("li", { class: "pending" }, h("strong", { text: i.op === "checkin" ? _("check-in") : label(i.data.outcome) }),
        " · " + _("not sent yet"), i.data.notes ? h("p", { text: i.data.notes }) : null);
    });
    (a.interactions || []).forEach(function (i) {
      rows.push(h("li", {}, h("strong", { text: label(i.outcome || i.kind) }), " · " + fmtTime(i.occurred_at),
        i.location_flag ? h("span", { class: "flag", text: " " + label(i.location_flag) }) : null,
        i.notes ? h("p", { text: i.notes }) : null));
    });
    timeline.replaceChildren.apply(timeline, rows.length ? rows : [h("li", { text: _("No interactions yet.") })]);
  });
  const tasks = (state.bundle.tasks || []).filter(function (t) { return t.account_id === id; });
  show(
    h("h1", { text: a.name }),
    h("p", { class: "meta", text: [label(a.stage), ...(a.address_lines || [a.address, a.city])].filter(Boolean).join(" · ") }),
    h("div", { class: "row actions" },
      visit ? h("button", { type: "button", class: "primary", id: "checkout", on: { click: function () { checkOut(a); } } }, _("Check out")) :
        h("button", { type: "button", class: "primary", id: "checkin", on: { click: function () { checkIn(a); } } }, _("Check in")),
      h("a", { class: "button", href: "#/log/" + a.id, id: "log-link" }, _("Log interaction")),
      h("a", { class: "button", href: "#/edit/" + a.id, id: "edit-link" }, _("Edit"))),
    visit ? h("p", { class: "flash " + (visit.flag ? "warn" : "info"), role: "status", text: visitText(a, visit) }) : null,
    h("p", { class: "row" },
      a.phone ? h("a", { class: "button", href: "tel:" + a.phone }, _("Call")) : null,
      a.email ? h("a", { class: "button", href: "mailto:" + a.email }, _("Email")) : null),
    navLinks(a),
    h("h2", {}, _("Contacts")),
    h("ul", { class: "plain" }, (a.contacts || []).length ? a.contacts.map(function (c) {
      return h("li", {}, h("span", { text: c.name + (c.title ? " (" + c.title + ")" : "") }), " ",
        c.phone ? h("a", { href: "tel:" + c.phone, text: c.phone }) : null, " ",
        c.email ? h("a", { href: "mailto:" + c.email, text: c.email }) : null);
    }) : h("li", { text: _("No contacts.") })),
    h("h2", {}, _("Open tasks")),
    h("ul", { class: "plain" }, tasks.length ? tasks.map(function (t) {
      return h("li", {}, h("span", { text: t.title + (t.due_date ? " · " + _("due %(date)s", { date: t.due_date }) : "") }), " ",
        h("button", { type: "button", class: "small", on: { click: function (e) {
          e.target.disabled = true;
          queue("task_done", { task_id: t.id, at: new Date().toISOString() }).then(function () {
            state.bundle.tasks = state.bundle.tasks.filter(function (x) { return x.id !== t.id; });
            route();
          });
        } } }, _("Done")));
    }) : h("li", { text: _("No open tasks.") })),
    h("h2", {}, _("Timeline")),
    timeline
  );
  if (navigator.onLine) offerPinFix(a);
}

// A verified check-in far from the pin (or at an account without one) offers to move the pin.
// Online only: the server checks the check-in and re-places the account in its territory.
function offerPinFix(a) {
  fetch(CFG.api + "/accounts/" + a.id, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (body) {
      const s = body && body.pin_suggestion;
      if (!s || location.hash !== "#/account/" + a.id || document.getElementById("pin-fix")) return;
      const acc = Math.round(s.accuracy_m);
      const text = s.offset_m === null ? _("This account has no pin yet; your check-in (GPS ±%(accuracy)s m) can set it.", { accuracy: acc }) :
        _("Your check-in was %(offset)s m from the pin (GPS ±%(accuracy)s m). Move the pin there?", { offset: Math.round(s.offset_m), accuracy: acc });
      const msg = h("p", { text: text });
      const button = h("button", { type: "button", class: "small", id: "pin-fix-button", on: { click: function () {
        button.disabled = true;
        fetch(CFG.api + "/accounts/" + a.id + "/pin", {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", Accept: "application/json",
                     "X-CSRFToken": csrfToken() },
          body: JSON.stringify({ interaction_id: s.interaction_id })
        }).then(function (r) {
          return r.json().then(function (b) { return { ok: r.ok, body: b }; });
        }).then(function (res) {
          if (!res.ok) throw new Error(res.body.detail || res.body.title || _("Not moved"));
          a.lat = res.body.lat; a.lon = res.body.lon;
          msg.textContent = _("Pin moved to your check-in position.");
          button.remove();
        }).catch(function (err) {
          msg.textContent = _("The pin was not moved: %(reason)s", { reason: err.message });
          button.disabled = false;
        });
      } } }, _("Move pin"));
      const box = h("div", { class: "flash info", id: "pin-fix", role: "status" }, msg, button);
      screen.insertBefore(box, screen.firstChild.nextSibling);
    })
    .catch(function () { /* offline after all: nothing to offer */ });
}

function visitText(a, visit) {
  const at = fmtTime(visit.at);
  if (visit.flag === "no_location") return _("Checked in %(time)s without a position (flagged: no location).", { time: at });
  if (visit.flag === "poor_accuracy") return _("Checked in %(time)s; the GPS fix was too imprecise to verify the visit (flagged).", { time: at });
  if (visit.distance === null || visit.distance === undefined) return _("Checked in %(time)s.", { time: at });
  const where = { time: at, distance: fmtDist(visit.distance), geofence: fmtDist(CFG.geofenceM) };
  return visit.flag ? _("Checked in %(time)s, %(distance)s from the account (flagged: outside the %(geofence)s geofence).", where) :
    _("Checked in %(time)s, %(distance)s from the account.", where);
}

function checkIn(a) {
  const btn = document.getElementById("checkin");
  btn.disabled = true;
  btn.textContent = _("Locating…");
  position().then(function (pos) {
    const id = Outbox.uuid();
    const at = new Date().toISOString();
    const data = { uuid: id, account_id: a.id, at: at };
    let flag = null, distance = null;
    if (pos.error) flag = "no_location";
    else {
      data.lat = pos.lat; data.lon = pos.lon; data.accuracy = pos.accuracy;
      if (a.lat !== null && a.lat !== undefined) {
        // the server decides on sync (geocrm.field.visits.locate); this is what the rep sees now
        distance = haversine(pos.lat, pos.lon, a.lat, a.lon);
        const poor = pos.accuracy !== undefined && pos.accuracy !== null && pos.accuracy > CFG.maxAccuracyM;
        if (poor) flag = distance - pos.accuracy > CFG.geofenceM ? "outside_geofence" : "poor_accuracy";
        else if (distance > CFG.geofenceM) flag = "outside_geofence";
      } else flag = "no_pin";
    }
    const stop = state.bundle.today.stops.filter(function (s) { return s.account.id === a.id && s.route_stop_id; })[0];
    if (stop) data.route_stop_id = stop.route_stop_id;
    return queue("checkin", data).then(function () {
      const v = visits();
      v[a.id] = { uuid: id, at: at, flag: flag, distance: distance, logged: false };
      saveVisits(v);
      route();
      if (pos.error) say(pos.error + " The visit is kept and flagged; you can still log it.", "warn");
    });
  });
}

function checkOut(a) {
  const v = visits();
  const visit = v[a.id];
  position().then(function (pos) {
    const data = { uuid: visit.uuid, at: new Date().toISOString() };
    if (!pos.error) { data.lat = pos.lat; data.lon = pos.lon; data.accuracy = pos.accuracy; }
    return queue("checkout", data).then(function () {
      delete v[a.id];
      saveVisits(v);
      route();
      say(_("Checked out."), "info");
    });
  });
}

function shrinkPhoto(file) {
  return new Promise(function (resolve, reject) {
    const img = new Image();
    const url = URL.createObjectURL(file);
    img.onload = function () {
      const scale = Math.min(1, 1280 / Math.max(img.width, img.height));
      const c = document.createElement("canvas");
      c.width = Math.round(img.width * scale);
      c.height = Math.round(img.height * scale);
      c.getContext("2d").drawImage(img, 0, 0, c.width, c.height);
      URL.revokeObjectURL(url);
      resolve({ data: c.toDataURL("image/jpeg", 0.7).split(",")[1], width: c.width, height: c.height });
    };
    img.onerror = function () { URL.revokeObjectURL(url); reject(new Error(_("Not an image"))); };
    img.src = url;
  });
}

function field(id, text, control, hint) {
  return h("div", { class: "field" }, h("label", { for: id, text: text }), control,
    hint ? h("small", { id: id + "-hint", text: hint }) : null);
}

function viewLog(id) {
  const a = state.byId[id];
  if (!a) { show(h("h1", {}, _("Log interaction")), h("p", { text: _("Unknown account.") })); return; }
  const visit = visits()[id];
  const kind = h("select", { id: "kind", name: "kind" }, ["visit", "call", "email", "note"].map(function (k) {
    return h("option", { value: k, selected: k === (visit ? "visit" : "call") }, label(k));
  }));
  const outcome = h("select", { id: "outcome", name: "outcome", required: true },
    h("option", { value: "" }, _("Choose…")), CFG.outcomes.map(function (o) { return h("option", { value: o }, label(o)); }));
  const notes = h("textarea", { id: "notes", name: "notes", rows: 4, maxlength: 4000 });
  const next = h("input", { id: "next_step", name: "next_step", type: "text", maxlength: 1000 });
  const wantTask = h("input", { id: "want_task", name: "want_task", type: "checkbox" });
  const taskTitle = h("input", { id: "task_title", name: "task_title", type: "text", maxlength: 200 });
  const due = h("input", { id: "task_due", name: "task_due", type: "date" });
  const photo = h("input", { id: "photo", name: "photo", type: "file", accept: "image/*", capture: "environment" });
  const form = h("form", { id: "log-form", novalidate: true, on: { submit: function (e) {
    e.preventDefault();
    if (!outcome.value) { outcome.setAttribute("aria-invalid", "true"); say(_("Choose an outcome."), "error"); outcome.focus(); return; }
    const v = visits();
    const cur = v[id];
    const useVisit = cur && !cur.logged && kind.value === "visit";
    const data = { uuid: useVisit ? cur.uuid : Outbox.uuid(), account_id: id, kind: kind.value,
      outcome: outcome.value, notes: notes.value, next_step: next.value, at: new Date().toISOString() };
    if (wantTask.checked) data.task = { uuid: Outbox.uuid(), title: taskTitle.value || next.value || _("Follow up"), due_date: due.value || null };
    const work = photo.files && photo.files[0] ? shrinkPhoto(photo.files[0]).then(function (p) { data.photo = p; }, function () {}) : Promise.resolve();
    form.querySelector("button[type=submit]").disabled = true;
    work.then(function () { return queue("interaction", data); }).then(function () {
      if (useVisit) { cur.logged = true; saveVisits(v); }
      location.hash = "#/account/" + id;
      setTimeout(function () { say(_("Saved. It is sent when you are online."), "info"); }, 0);
    }, keepFailed(form.querySelector("button[type=submit]")));
  } } },
    field("kind", _("Kind"), kind),
    field("outcome", _("Outcome (required)"), outcome),
    field("notes", _("Notes"), notes),
    field("next_step", _("Next step"), next),
    h("div", { class: "field check" }, wantTask, h("label", { for: "want_task", text: _("Create a follow-up task") })),
    field("task_title", _("Task title"), taskTitle),
    field("task_due", _("Task due date"), due),
    field("photo", _("Photo (optional, shrunk on the phone)"), photo),
    h("button", { type: "submit", class: "primary" }, _("Save interaction")));
  show(h("h1", {}, _("Log interaction")), h("p", { class: "meta", text: a.name + (visit ? " · " + _("during your visit") : "") }), form);
}

const EDITABLE = [["phone", _("Phone"), "tel"], ["email", _("Email"), "email"], ["address", _("Address"), "text"],
  ["city", _("City"), "text"], ["opening_hours", _("Opening hours"), "text"]];

function viewEdit(id) {
  const a = state.byId[id];
  if (!a) { show(h("h1", {}, _("Edit account")), h("p", { text: _("Unknown account.") })); return; }
  const inputs = {};
  const stage = h("select", { id: "edit_stage", name: "stage" }, ["lead", "prospect", "customer", "lost"].map(function (s) {
    return h("option", { value: s, selected: s === a.stage }, label(s));
  }));
  const form = h("form", { id: "edit-form", novalidate: true, on: { submit: function (e) {
    e.preventDefault();
    // Only the fields the rep changed travel; the server merges them one by one
    // (last writer wins per field) against what a manager changed meanwhile.
    const changes = {};
    EDITABLE.forEach(function (f) {
      const v = inputs[f[0]].value.trim();
      if (v !== (a[f[0]] || "")) changes[f[0]] = v || null;
    });
    if (stage.value !== a.stage) changes.stage = stage.value;
    if (!Object.keys(changes).length) { location.hash = "#/account/" + id; return; }
    queue("account_edit", { account_id: id, changes: changes, edited_at: new Date().toISOString(),
      seen_at: state.bundle.generated_at }).then(function () {
      Object.assign(a, changes);
      location.hash = "#/account/" + id;
    }, keepFailed(null));
  } } },
    EDITABLE.map(function (f) {
      inputs[f[0]] = h("input", { id: "edit_" + f[0], name: f[0], type: f[2], value: a[f[0]] || "" });
      return field("edit_" + f[0], f[1], inputs[f[0]]);
    }),
    field("edit_stage", _("Stage"), stage),
    h("button", { type: "submit", class: "primary" }, _("Save changes")));
  show(h("h1", {}, _("Edit account")), h("p", { class: "meta", text: a.name }), form);
}

// "Add account here": the address where the rep stands, from the company's geocoder. The
// position travels in the POST body, never in the URL. Offline or nothing near: the field stays
// as it is (the server fills an empty address in from the position when the account syncs).
function fillAddressHere(input, asked) {
  position().then(function (pos) {
    if (pos.error) { if (asked) say(pos.error, "error"); return null; }
    return fetch(CFG.api + "/geocode/reverse", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify({ lat: pos.lat, lon: pos.lon })
    }).then(function (r) { return r.ok ? r.json() : null; });
  }).then(function (found) {
    if (found === undefined) return;
    if (!found || !found.found) { if (asked) say(_("No address found where you stand."), "info"); return; }
    if (asked || !input.value.trim()) {
      input.value = found.address;
      say(_("Address from your position: %(label)s", { label: found.label }), "info");
    }
  }).catch(function () { if (asked) say(_("Finding the address needs a connection."), "error"); });
}

function viewAdd() {
  const inputs = {
    name: h("input", { id: "acc_name", name: "name", type: "text", required: true, maxlength: 200, autocomplete: "organization" }),
    address: h("input", { id: "acc_address", name: "address", type: "text", maxlength: 300, autocomplete: "street-address" }),
    phone: h("input", { id: "acc_phone", name: "phone", type: "tel", maxlength: 40, autocomplete: "tel" }),
    contact_name: h("input", { id: "acc_contact", name: "contact_name", type: "text", maxlength: 120 })
  };
  const form = h("form", { id: "add-form", novalidate: true, on: { submit: function (e) {
    e.preventDefault();
    if (!inputs.name.value.trim()) { inputs.name.setAttribute("aria-invalid", "true"); say(_("Give the account a name."), "error"); return; }
    position().then(function (pos) {
      if (pos.error) { say(pos.error + " " + _("An account added here needs the phone's position."), "error"); return; }
      const data = { uuid: Outbox.uuid(), lat: pos.lat, lon: pos.lon, accuracy: pos.accuracy };
      Object.keys(inputs).forEach(function (k) { data[k] = inputs[k].value; });
      queue("account_create", data).then(function () {
        form.reset();
        say(_("Added. It appears in your accounts after the next sync."), "info");
      }, keepFailed(null));
    });
  } } },
    field("acc_name", _("Name (required)"), inputs.name),
    field("acc_address", _("Address"), inputs.address),
    h("button", { type: "button", class: "small", id: "acc_address_here", on: { click: function () { fillAddressHere(inputs.address, true); } } }, _("Use the address where I stand")),
    field("acc_phone", _("Phone"), inputs.phone),
    field("acc_contact", _("Contact person"), inputs.contact_name),
    h("button", { type: "submit", class: "primary" }, _("Add account at my position")));
  show(h("h1", {}, _("Add account here")), form);
  if (navigator.onLine) fillAddressHere(inputs.address, false);
}

/** The language switcher the shell carries in a <template> (a POST with the CSRF token). */
function languageForm() {
  const tpl = document.getElementById("lang-form");
  return tpl ? tpl.content.cloneNode(true) : null;
}

function viewSync() {
  const list = h("ul", { class: "plain", id: "outbox-list" });
  const info = h("p", { role: "status" });
  function draw() {
    Promise.all([Outbox.all(), Outbox.status()]).then(function (r) {
      const s = r[1];
      info.textContent = _("%(pending)s pending, %(rejected)s rejected. Last successful sync: %(time)s.",
        { pending: s.pending, rejected: s.rejected, time: s.lastSync ? fmtTime(s.lastSync) : _("never") }) +
        (s.lastError ? " " + _("Last failure: %(reason)s", { reason: s.lastError.message }) : "");
      list.replaceChildren.apply(list, r[0].length ? r[0].map(function (i) {
        return h("li", { class: i.state }, h("span", { text: label(i.op) + " · " + fmtTime(i.created_at) + " · " + label(i.state) + (i.error ? " (" + i.error + ")" : "") }),
          i.state === "rejected" ? h("button", { type: "button", class: "small", on: { click: function () { Outbox.discard(i.seq).then(draw); } } }, _("Discard")) : null);
      }) : [h("li", { text: _("Everything is sent.") })]);
    });
  }
  const b = state.bundle || {};
  const kept = (b.accounts || []).length;
  const counts = { kept: kept, total: b.accounts_visible, left: b.accounts_left_out };
  const keptNote = h("p", { id: "offline-kept", text: !b.accounts_left_out ?
    _("Kept on this phone for offline use: all %(kept)s of your accounts.", counts) :
    b.accounts_kept_rule === "nearest_home" ?
      _("Kept on this phone for offline use: %(kept)s of your %(total)s accounts; the %(left)s farthest from your home base are left out (Near me finds them online).", counts) :
      _("Kept on this phone for offline use: %(kept)s of your %(total)s accounts; the %(left)s newest are left out (Near me finds them online).", counts) });
  show(h("h1", {}, _("Sync")), info, keptNote,
    h("button", { type: "button", class: "primary", id: "retry", on: { click: function () {
      info.textContent = _("Sending…");
      syncNow().then(draw);
    } } }, _("Retry now")),
    list,
    navAppForm(),
    pushCard(),
    languageForm());
  draw();
}

/* ---------- router ---------- */
function route() {
  if (!state.bundle) return;
  const hash = location.hash || "#/today";
  let m;
  document.querySelectorAll(".tabs a").forEach(function (a) {
    if (hash.indexOf("#/" + a.getAttribute("data-tab")) === 0) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  });
  if ((m = hash.match(/^#\/account\/(\d+)/))) viewAccount(Number(m[1]));
  else if ((m = hash.match(/^#\/log\/(\d+)/))) viewLog(Number(m[1]));
  else if ((m = hash.match(/^#\/edit\/(\d+)/))) viewEdit(Number(m[1]));
  else if (hash.indexOf("#/near") === 0) viewNear();
  else if (hash.indexOf("#/add") === 0) viewAdd();
  else if (hash.indexOf("#/sync") === 0) viewSync();
  else viewToday();
}
window.addEventListener("hashchange", route);

/* ---------- online / offline ---------- */
const net = document.getElementById("net");
function netState() { net.hidden = navigator.onLine; }
window.addEventListener("online", function () { netState(); syncNow(); });
window.addEventListener("offline", netState);
netState();

/* ---------- sign out warns about unsent writes ---------- */
const logoutForm = document.getElementById("logout-form");
const dialog = document.getElementById("dialog");
function forgetAndSubmit() {
  const work = [Outbox.clearAll()];
  if (window.caches) work.push(caches.delete("geocrm-data-v1"));
  localStorage.removeItem(VISITS_KEY);
  Promise.all(work).finally(function () { logoutForm.submit(); });
}
logoutForm.addEventListener("submit", function (e) {
  e.preventDefault();
  Outbox.status().then(function (s) {
    if (!s.total) { forgetAndSubmit(); return; }
    document.getElementById("dialog-text").textContent = _("%(n)s change(s) are not on the server yet. If you sign out now they are lost. Stay, go online and sync first?", { n: s.total });
    dialog.hidden = false;
    document.getElementById("dialog-cancel").focus();
  });
});
document.getElementById("dialog-cancel").addEventListener("click", function () { dialog.hidden = true; location.hash = "#/sync"; });
document.getElementById("dialog-ok").addEventListener("click", function () { dialog.hidden = true; forgetAndSubmit(); });

/* ---------- start ---------- */
const csrf = csrfToken();
Outbox.setMeta("csrf", csrf).then(refreshBadge);
if ("serviceWorker" in navigator) {
  // A module worker; updateViaCache "none": the modules it imports are checked on every
  // update like the worker itself, never taken from the HTTP cache.
  navigator.serviceWorker.register(CFG.swUrl, { scope: "/", type: "module", updateViaCache: "none" }).catch(function () {});
  // The first visit loads data before the worker controls the page: fetch it again
  // through the worker so it is in the offline cache.
  navigator.serviceWorker.addEventListener("controllerchange", function () {
    loadBundle().then(function () { document.body.setAttribute("data-cached", "1"); }, function () {});
    keepBasemap();
  });
  if (navigator.serviceWorker.controller) {
    document.body.setAttribute("data-cached", "1");
    keepBasemap();
  }
}
// Ask for the basemap's header through the worker: it then keeps the rep's whole part, so
// Today and Near me show streets without a network even before a map was opened online.
function keepBasemap() {
  if (!CFG.basemap) return;
  fetch(CFG.basemap.url, { credentials: "same-origin", headers: { Range: "bytes=0-126" } })
    .then(function (r) { if (r.status === 206) document.body.setAttribute("data-basemap-cached", "1"); }, function () {});
}
loadBundle().then(function () {
  state.fromCache = !navigator.onLine;
  route();
  if (navigator.onLine) syncNow();
}, function () {
  show(h("h1", {}, "GeoCRM"), h("p", { class: "flash error", role: "alert", text: _("No saved data on this phone yet: connect once to load your day.") }));
});
