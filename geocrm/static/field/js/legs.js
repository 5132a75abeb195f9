/* Today's drive along the roads, leg by leg, from the cached Today data (works offline).
 *
 * The published plan carries `legs` (geocrm/field/today.py): start -> stop 1 -> ... -> home,
 * each {s: seconds, m: metres, line: [[lat, lon], ...]} while the stops keep the order the
 * legs were drawn for (empty otherwise, or for a straight-line plan: then nothing is drawn).
 * Leg i leads to stop i; the last one leads home. Text goes in with textContent only. */
import { h } from "./dom.js";
import { fmtDist } from "./format.js";
import { t as _ } from "./i18n.js";

/** Whether `legs` fit `stops` (one leg into each stop, and one home). */
export function legsFit(legs, stops) {
  return Array.isArray(legs) && legs.length > 0 && legs.length === stops.length + 1;
}

/** A leg's drive as a rep reads it: "12 min · 3.4 km" ("<1 min" for a very short one). */
export function legText(leg) {
  const s = Math.max(0, Number(leg.s) || 0);
  const time = s < 30 ? _("<1 min") : _("%(min)s min", { min: Math.round(s / 60) });
  const dist = fmtDist(Number(leg.m) || 0);
  return dist ? time + " · " + dist : time;
}

/** The drive leading to stop `index` (0-based), or home for index === stops.length. */
export function legInto(legs, index) {
  return legs && legs[index] ? legs[index] : null;
}

/**
 * Draw every leg on `map` as a line along the roads, each with a tooltip naming where it
 * goes and its drive; `names[i]` names stop i. Adds the OpenStreetMap (ODbL) credit, since
 * the lines are OSM road data. Returns the layer group (null when there is nothing to draw).
 */
export function drawLegs(map, legs, names) {
  if (!window.L || !map || !Array.isArray(legs) || !legs.length) return null;
  const group = L.featureGroup();
  legs.forEach(function (leg, i) {
    const line = (leg.line || []).filter(function (p) { return Array.isArray(p) && p.length === 2; });
    if (line.length < 2) return;
    const to = i < names.length ? names[i] : _("Home");
    const tip = h("span", { class: "leg-tip" }, h("strong", { text: to }), h("br"), legText(leg));
    L.polyline(line, { color: "#1d4ed8", weight: 5, opacity: 0.75, className: "today-leg" })
      .bindTooltip(tip, { sticky: true })
      .addTo(group);
  });
  group.addTo(map);
  const control = map.attributionControl || L.control.attribution({ prefix: false }).addTo(map);
  control.addAttribution(h("span", { text: _("Road data © OpenStreetMap contributors, ODbL.") }).innerHTML);
  return group;
}
