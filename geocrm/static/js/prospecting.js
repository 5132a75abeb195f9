/* Look-alike prospects (templates/prospecting/index.html): search an area, select places on
 * the map or in the list, add them as prospects in one post.
 *
 * The area travels in the POST body (a territory id, a circle around the map's centre, or the
 * polygon drawn with Leaflet.draw as GeoJSON), never in a URL. Place names are user text
 * (OpenStreetMap's): everything is built with textContent, popups and tooltips included.
 */
import { csrfToken, foliumObject, pageData } from "./config.js";

const data = pageData();
const words = data.words || {};
const map = foliumObject(data.map && data.map.map);
const area = foliumObject(data.map && data.map.area);
const markers = L.layerGroup();
const selected = new Set();
let candidates = [];

function fill(text, values) {
  return text.replace(/%\((\w+)\)s/g, (_, key) => String(values[key]));
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([key, value]) => {
    if (key === "text") {
      node.textContent = value;
    } else {
      node.setAttribute(key, value);
    }
  });
  children.filter((c) => c != null).forEach((c) => node.append(c));
  return node;
}

async function post(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json",
      "X-CSRFToken": csrfToken() },
    body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(answer.detail || answer.title || String(response.status));
  }
  return answer;
}

function where() {
  const choice = document.querySelector("input[name=where]:checked").value;
  if (choice === "territory") {
    const value = document.getElementById("prospect-territory").value;
    return value ? { territory: Number(value) } : {};
  }
  if (choice === "radius") {
    const centre = map.getCenter();
    return { lat: centre.lat, lon: centre.lng,
      radius_m: Number(document.getElementById("prospect-radius").value) };
  }
  const layers = area ? area.getLayers() : [];
  if (!layers.length) {
    return null;
  }
  return { polygon: layers[layers.length - 1].toGeoJSON().geometry };
}

function refreshSelection() {
  document.getElementById("prospect-selected").textContent =
    fill(words.selected, { n: selected.size });
  document.getElementById("prospect-add-button").disabled = selected.size === 0;
  document.querySelectorAll("#prospect-list tbody tr").forEach((row) => {
    const on = selected.has(row.dataset.ref);
    row.classList.toggle("selected", on);
    row.querySelector("input").checked = on;
  });
  markers.eachLayer((marker) => {
    const on = selected.has(marker.options.ref);
    marker.setStyle({ fillColor: on ? "#1d4ed8" : "#ffffff" });
  });
}

function toggle(ref, on) {
  if (on === undefined ? !selected.has(ref) : on) {
    selected.add(ref);
  } else {
    selected.delete(ref);
  }
  refreshSelection();
}

function row(c) {
  const box = el("input", { type: "checkbox", "aria-label": c.name });
  box.addEventListener("change", () => toggle(c.ref, box.checked));
  const other = Object.values(c.names || {}).filter((n) => n !== c.name).join(" · ");
  const name = el("td", {}, el("a", { href: `${data.osmUrl}${c.ref}`, rel: "noopener",
    text: c.name }), other ? el("span", { class: "hint", text: ` ${other}` }) : null);
  const distance = c.distance_m == null ? "" : fill(words.metres, { n: c.distance_m });
  return el("tr", { "data-ref": c.ref }, el("td", {}, box), name,
    el("td", { text: c.category }), el("td", { text: c.address }),
    el("td", { text: c.hours }), el("td", { text: distance }),
    el("td", { text: `${Math.round(c.fit * 100)}%` }));
}

function show(answer) {
  candidates = answer.candidates;
  selected.clear();
  markers.clearLayers();
  const body = document.querySelector("#prospect-list tbody");
  body.replaceChildren(...candidates.map(row));
  candidates.forEach((c) => {
    const marker = L.circleMarker([c.lat, c.lon], { radius: 7, color: "#1d4ed8", weight: 2,
      fillColor: "#ffffff", fillOpacity: 0.9, ref: c.ref });
    const tip = el("span", { text: `${c.name} · ${c.category}` });
    marker.bindTooltip(tip);
    marker.on("click", () => toggle(c.ref));
    markers.addLayer(marker);
  });
  document.getElementById("prospect-status").textContent = candidates.length
    ? fill(words.found, { n: candidates.length }) : words.none;
  refreshSelection();
}

async function search(event) {
  event.preventDefault();
  const status = document.getElementById("prospect-status");
  const place = where();
  if (place === null) {
    status.textContent = words.drawFirst;
    return;
  }
  status.textContent = words.searching;
  const segment = document.getElementById("prospect-segment").value;
  try {
    show(await post(data.searchUrl, { area: place, segment: segment ? Number(segment) : null,
      limit: 200 }));
  } catch (err) {
    status.textContent = fill(words.failed, { reason: err.message });
  }
}

async function add(event) {
  event.preventDefault();
  const result = document.getElementById("prospect-result");
  const owner = document.getElementById("prospect-owner");
  const button = document.getElementById("prospect-add-button");
  button.disabled = true;
  try {
    const answer = await post(data.addUrl, { places: [...selected],
      owner: owner && owner.value ? Number(owner.value) : null });
    const parts = [fill(words.added, { n: answer.added })];
    if (answer.skipped.length) {
      parts.push(fill(words.skipped, { n: answer.skipped.length }));
    }
    if (answer.leftOut.length) {
      parts.push(fill(words.leftOut, { fields: [...new Set(answer.leftOut.map((l) => l.field))]
        .join(", ") }));
    }
    result.textContent = parts.join(" ");
    const done = new Set(selected);
    show({ candidates: candidates.filter((c) => !done.has(c.ref)) });
  } catch (err) {
    result.textContent = fill(words.failed, { reason: err.message });
    button.disabled = false;
  }
}

if (map) {
  markers.addTo(map);
  if (area) {
    map.on(L.Draw.Event.CREATED, (e) => {
      area.clearLayers();
      area.addLayer(e.layer);
      document.querySelector("input[name=where][value=drawn]").checked = true;
    });
  }
}
document.getElementById("prospect-form").addEventListener("submit", search);
document.getElementById("prospect-add").addEventListener("submit", add);
document.getElementById("prospect-all").addEventListener("click", () => {
  candidates.forEach((c) => selected.add(c.ref));
  refreshSelection();
});
document.getElementById("prospect-none").addEventListener("click", () => {
  selected.clear();
  refreshSelection();
});
