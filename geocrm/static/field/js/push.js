// Web Push on this phone: ask the browser for a subscription with the server's VAPID key and
// register it, so a task assigned or a plan published reaches the rep with the app closed.
import { csrfToken } from "../../js/config.js";
import { h } from "./dom.js";
import { t as _ } from "./i18n.js";

function keyBytes(base64url) {
  const pad = "=".repeat((4 - (base64url.length % 4)) % 4);
  const raw = atob((base64url + pad).replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(raw, function (c) { return c.charCodeAt(0); });
}

function api(method, url, body) {
  return fetch(url, {
    method: method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).then(function (r) {
    if (!r.ok) throw new Error(String(r.status));
    return r.json();
  });
}

export function pushSupported() {
  return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
}

export function subscribe() {
  return Notification.requestPermission().then(function (permission) {
    if (permission !== "granted") throw new Error(_("Notifications are blocked for this site."));
    return Promise.all([navigator.serviceWorker.ready, api("GET", "/api/v1/push/key")]);
  }).then(function (r) {
    return r[0].pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(r[1].public_key) });
  }).then(function (sub) {
    return api("POST", "/api/v1/push/subscriptions", sub.toJSON());
  });
}

export function unsubscribe() {
  return navigator.serviceWorker.ready.then(function (reg) {
    return reg.pushManager.getSubscription();
  }).then(function (sub) {
    if (!sub) return null;
    return api("DELETE", "/api/v1/push/subscriptions", { endpoint: sub.endpoint }).then(function () {
      return sub.unsubscribe();
    });
  });
}

// The card on the Sync screen: whether this phone gets notifications, and the switch.
export function pushCard() {
  const status = h("p", { role: "status", id: "push-status" });
  // Named and disabled until the browser says whether this phone is subscribed: a button
  // without words is unusable with a screen reader, however briefly.
  const button = h("button", { type: "button", id: "push-toggle", disabled: true }, _("Checking notifications…"));
  const card = h("section", { class: "card", id: "push-card" }, h("h2", {}, _("Notifications on this phone")), status, button);
  if (!pushSupported()) {
    status.textContent = _("This browser cannot receive notifications.");
    button.hidden = true;
    return card;
  }
  function draw() {
    navigator.serviceWorker.ready.then(function (reg) { return reg.pushManager.getSubscription(); }).then(function (sub) {
      status.textContent = sub ? _("On: this phone gets your notifications.") : _("Off.");
      button.textContent = sub ? _("Turn off") : _("Turn on");
      button.disabled = false;
      button.onclick = function () {
        status.textContent = _("Sending…");
        (sub ? unsubscribe() : subscribe()).then(draw, function (err) { status.textContent = err.message; });
      };
    });
  }
  draw();
  return card;
}
