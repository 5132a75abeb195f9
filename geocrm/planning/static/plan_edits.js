// A draft run's per-stop edit controls (move up/down, pin, move to another rep), built from
// the page data (geocrm/planning/page_data.py stop_edit_data) into each row's placeholders
// instead of 120 copies of the same forms in the HTML. The forms are the same plain POST
// forms the page had (CSRF token from the page's meta tag), so nothing else changes.
//
// A stop's lock forms (route locks, templates/planning/_lock_stop.html) are rendered once per
// plan card as a <template> for a stand-in stop; each unlocked stop's slot gets a copy with
// the stand-in's id, number and name replaced by its own (locked stops keep server-rendered
// forms). Runs before locks.js, which then finds every form.move-to in place.
//
// Exports: fillStopEdits(editData) -> number of rows filled;
//          fillLockSlots(editData) -> number of lock slots filled.
import { csrfToken } from "/static/js/config.js";

function fill(template, name) {
  return String(template).split("%(name)s").join(name);
}

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  Object.keys(attrs || {}).forEach(function (k) {
    if (attrs[k] === true) node.setAttribute(k, "");
    else if (attrs[k] !== false && attrs[k] !== null && attrs[k] !== undefined) node.setAttribute(k, String(attrs[k]));
  });
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function form(action, token, className) {
  const f = el("form", { method: "post", action: action, class: className });
  f.appendChild(el("input", { type: "hidden", name: "csrf_token", value: token }));
  return f;
}

/** Build the controls of every row that has placeholders; returns how many stops got them. */
export function fillStopEdits(editData) {
  if (!editData) return 0;
  const token = csrfToken();
  const t = editData.text;
  let filled = 0;
  document.querySelectorAll(".stop-edit[data-stop]").forEach(function (slot) {
    const id = slot.getAttribute("data-stop");
    const stop = editData.stops[id];
    if (!stop) return;
    const url = function (key) { return editData.urls[key].replace("{id}", encodeURIComponent(id)); };
    const move = form(url("move"), token);
    move.appendChild(el("button", { type: "submit", name: "direction", value: "up", disabled: Boolean(stop.first), "aria-label": fill(t.moveUp, stop.name) }, "↑"));
    move.appendChild(el("button", { type: "submit", name: "direction", value: "down", disabled: Boolean(stop.last), "aria-label": fill(t.moveDown, stop.name) }, "↓"));
    const pin = form(url("pin"), token);
    pin.appendChild(el("button", { type: "submit", "aria-label": fill(stop.pinned ? t.unpin : t.pin, stop.name) },
      stop.pinned ? t.unpinButton : t.pinButton));
    slot.replaceWith(move, pin);
    const other = document.querySelector('.stop-reassign[data-stop="' + CSS.escape(id) + '"]');
    if (other) {
      if (stop.others && stop.others.length) {
        const f = form(url("reassign"), token, "reassign");
        f.appendChild(el("label", { class: "visually-hidden", for: "reassign-" + id }, fill(t.moveTo, stop.name)));
        const select = el("select", { id: "reassign-" + id, name: "rep_id" });
        stop.others.forEach(function (o) { select.appendChild(el("option", { value: o[0] }, o[1])); });
        f.appendChild(select);
        f.appendChild(el("button", { type: "submit" }, t.move));
        other.replaceWith(f);
      } else {
        other.remove();
      }
    }
    filled += 1;
  });
  return filled;
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, function (c) {
    return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
  });
}

/** Give every unlocked stop its copy of its plan's lock forms; returns how many. */
export function fillLockSlots(editData) {
  if (!editData || !editData.lockPlaceholder) return 0;
  const stand = editData.lockPlaceholder;
  const token = csrfToken();
  const templates = {};
  document.querySelectorAll("template.lock-stop-template[data-plan]").forEach(function (t) {
    templates[t.getAttribute("data-plan")] = t.innerHTML;
  });
  let filled = 0;
  document.querySelectorAll(".lock-slot[data-stop]").forEach(function (slot) {
    const id = slot.getAttribute("data-stop");
    const card = slot.closest(".plan-card");
    const html = card && templates[card.id.replace(/^plan-/, "")];
    const stop = editData.stops[id];
    if (!html || !stop || !/^\d+$/.test(id)) return;
    const seq = String(parseInt(slot.getAttribute("data-seq"), 10));
    // the number first, then the id, then the name (a real id or name cannot bring back
    // a stand-in value that was already replaced)
    const filledHtml = html
      .split(String(stand.seq)).join(seq)
      .split(String(stand.id)).join(id)
      .split(escapeHtml(stand.name)).join(escapeHtml(stop.name));
    const box = document.createElement("template");
    box.innerHTML = filledHtml;
    // the token is the page's own, whatever digits it happened to contain
    box.content.querySelectorAll("input[name=csrf_token]").forEach(function (input) { input.value = token; });
    slot.replaceWith(box.content);
    filled += 1;
  });
  return filled;
}
