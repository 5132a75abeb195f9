// The plan page's map, drawn from data (geocrm/planning/page_data.py) onto the page's base
// map (folium builds only the map and its base layer; the routes are ours).
//
// Each rep's day is one layer: the drive along the roads leg by leg (a tooltip per leg with
// its drive time and distance) or straight lines between stops when the plan was not made
// on roads, numbered stops with a popup, the home base; the visits left out are grey dots.
// Every text from the data (account and rep names, reasons) goes in with textContent.
// A draft run's per-stop edit controls are built from the data too (plan_edits.js). When the
// page is usable it marks `geocrm:plan-ready` (benchmarks/plan_page.py); #route-map gets
// data-state="ready" once the routes are drawn.
//
// Exports (for other plan-page modules, e.g. route locks, and for browser tests):
//   planMap: { map, data, layers: {"plan-<id>": L.FeatureGroup, unassigned},
//              stopMarkers: {stopId: L.Marker}, legLines: {"plan-<id>": [L.Polyline]},
//              focusStop(stopId) } | null when the page has no route map
//   decodeLine(encodedPolyline, scale) -> [[lat, lon], ...]
//   onPlanMap(callback): calls callback(planMap) when the page has a drawn route map
import { foliumObject, pageData } from "/static/js/config.js";
import { fillLockSlots, fillStopEdits } from "./plan_edits.js";

const HEX = /^#[0-9a-fA-F]{6}$/;
const UNASSIGNED = "#6b7280";

/** An encoded polyline (steps of 1/scale degrees, geocrm/planning/page_data.py) as points. */
export function decodeLine(text, scale) {
  const values = [];
  let shift = 0;
  let result = 0;
  for (let i = 0; i < text.length; i++) {
    const byte = text.charCodeAt(i) - 63;
    result |= (byte & 0x1f) << shift;
    shift += 5;
    if (byte < 0x20) {
      values.push(result & 1 ? ~(result >> 1) : result >> 1);
      shift = 0;
      result = 0;
    }
  }
  const out = [];
  let lat = 0;
  let lon = 0;
  for (let i = 0; i + 1 < values.length; i += 2) {
    lat += values[i];
    lon += values[i + 1];
    out.push([lat / scale, lon / scale]);
  }
  return out;
}

function colour(value) {
  return HEX.test(String(value)) ? String(value) : UNASSIGNED;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function stopIcon(stop, routeColour) {
  const span = el("span", "route-stop", stop.seq);
  if (stop.pinned) span.classList.add("route-stop-pinned");
  if (stop.status === "visited" || stop.status === "skipped") {
    span.classList.add("route-stop-" + stop.status);
  }
  span.setAttribute("style", "background:" + routeColour); // checked #rrggbb
  return L.divIcon({ html: span, className: "route-stop-icon", iconSize: [26, 26], iconAnchor: [13, 13] });
}

function homeIcon(routeColour) {
  const span = el("span", "route-home", "⌂");
  span.setAttribute("style", "border-color:" + routeColour);
  return L.divIcon({ html: span, className: "route-home-icon", iconSize: [22, 22], iconAnchor: [11, 11] });
}

function stopPopup(stop, text) {
  const box = el("div", "route-popup");
  box.appendChild(el("strong", "", stop.seq + ". " + stop.name));
  box.appendChild(el("br"));
  let line = stop.times;
  if (stop.pinned) line += " · " + text.pinned;
  if (stop.statusText) line += " · " + stop.statusText;
  box.appendChild(document.createTextNode(line));
  if (stop.drive) {
    box.appendChild(el("br"));
    box.appendChild(el("small", "route-popup-drive", stop.drive));
  }
  return box;
}

function drawPlan(map, plan, data, out) {
  const c = colour(plan.colour);
  const group = L.featureGroup();
  const start = plan.start || plan.home;
  const points = [start].concat(plan.stops.map((s) => [s.lat, s.lon]), [plan.home]);
  const lines = [];
  if (plan.stops.length) {
    if (plan.legs) {
      plan.legs.forEach(function (leg, i) {
        const line = L.polyline(decodeLine(leg.line, data.scale), {
          color: c, weight: 4, opacity: 0.8, className: "route-leg",
        });
        const to = i < plan.stops.length ? plan.stops[i].seq + ". " + plan.stops[i].name : plan.homeText;
        const tip = el("span", "route-leg-tip");
        tip.appendChild(el("strong", "", to));
        tip.appendChild(el("br"));
        tip.appendChild(document.createTextNode(leg.text));
        line.bindTooltip(tip, { sticky: true });
        line.addTo(group);
        lines.push(line);
      });
    } else {
      lines.push(L.polyline(points, { color: c, weight: 4, opacity: 0.8, dashArray: "6 6", className: "route-straight" })
        .bindTooltip(el("span", "", data.text.straight), { sticky: true })
        .addTo(group));
    }
  }
  L.marker(plan.home, { icon: homeIcon(c), keyboard: false })
    .bindPopup(el("div", "route-popup", plan.homeText))
    .bindTooltip(el("span", "", plan.homeText))
    .addTo(group);
  plan.stops.forEach(function (stop) {
    const marker = L.marker([stop.lat, stop.lon], { icon: stopIcon(stop, c), title: stop.seq + ". " + stop.name })
      .bindPopup(stopPopup(stop, data.text), { maxWidth: 280 })
      .bindTooltip(el("span", "", stop.seq + ". " + stop.name))
      .addTo(group);
    out.stopMarkers[stop.id] = marker;
  });
  group.addTo(map);
  out.layers[plan.key] = group;
  out.legLines[plan.key] = lines;
  return points;
}

function swatchLabel(text, swatchColour) {
  // The layer control inserts names as HTML: build it from escaped text.
  const wrap = el("span");
  const swatch = el("span", "route-swatch");
  swatch.style.background = colour(swatchColour);
  wrap.appendChild(swatch);
  wrap.appendChild(document.createTextNode(" " + text));
  return wrap.innerHTML;
}

function start() {
  const data = pageData();
  const mapData = data.planMap;
  const map = foliumObject(data.leaflet && data.leaflet.map);
  const box = document.getElementById("route-map");
  if (!mapData || !map || !window.L) {
    return null;
  }
  const out = { map: map, data: mapData, layers: {}, stopMarkers: {}, legLines: {} };
  let all = [];
  mapData.plans.forEach(function (plan) {
    all = all.concat(drawPlan(map, plan, mapData, out));
  });
  if (mapData.leftOut.length) {
    const group = L.featureGroup();
    mapData.leftOut.forEach(function (u) {
      const tip = el("div", "route-popup");
      tip.appendChild(el("strong", "", u.name));
      tip.appendChild(el("br"));
      tip.appendChild(document.createTextNode(u.reason));
      L.circleMarker([u.lat, u.lon], { radius: 7, color: UNASSIGNED, fill: true, fillOpacity: 0.6, className: "route-unassigned" })
        .bindPopup(tip)
        .bindTooltip(el("span", "", u.name))
        .addTo(group);
      all.push([u.lat, u.lon]);
    });
    group.addTo(map);
    out.layers.unassigned = group;
  }
  const overlays = {};
  mapData.plans.forEach(function (plan) {
    overlays[swatchLabel(plan.label, plan.colour)] = out.layers[plan.key];
  });
  if (out.layers.unassigned) {
    overlays[swatchLabel(mapData.text.notPlanned, UNASSIGNED)] = out.layers.unassigned;
  }
  if (Object.keys(overlays).length > 1) {
    L.control.layers(null, overlays, { collapsed: false, position: "topright" }).addTo(map);
  }
  if (mapData.attribution && map.attributionControl) {
    map.attributionControl.addAttribution(el("span", "", mapData.attribution).innerHTML);
  }
  if (all.length) {
    map.fitBounds(L.latLngBounds(all), { padding: [20, 20] });
  }
  out.focusStop = function (stopId) {
    const marker = out.stopMarkers[stopId];
    if (marker) {
      map.setView(marker.getLatLng(), Math.max(map.getZoom(), 15));
      marker.openPopup();
    }
    return Boolean(marker);
  };
  if (box) box.setAttribute("data-state", "ready");
  return out;
}

// the stop rows' edit controls first (a draft run), then the map; then the page is usable
fillStopEdits(pageData().planEdit);
fillLockSlots(pageData().planEdit);
export const planMap = start();
if (window.performance && performance.mark) performance.mark("geocrm:plan-ready");

/** Run `callback(planMap)` now that the map is drawn (other plan-page modules hook in here). */
export function onPlanMap(callback) {
  if (planMap) callback(planMap);
}
