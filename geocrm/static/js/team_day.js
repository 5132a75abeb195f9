/* The manager's day (templates/teamday/day.html): stops and visits on the map, the two
 * tables, and a refresh every `refreshSeconds` (60 by default) from the JSON endpoint.
 *
 * The server formats every word and time (geocrm/teamday/present.py), so the first render
 * (Jinja) and each refresh (here) show the same thing. Everything is built with textContent:
 * rep and account names are user text, never HTML. The JSON URL carries only the day; the
 * positions travel in its body.
 */
import { foliumObject, pageData } from "./config.js";

const COLOURS = {
  visited: "#2e7d32", late: "#ef6c00", missed: "#c62828", planned: "#455a64",
  skipped: "#9e9e9e", unplanned: "#6a1b9a",
};

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

function link(href, text) {
  return href ? el("a", { href: href, text: text }) : document.createTextNode(text);
}

function repRow(r, words) {
  const swatch = el("span", { class: "teamday-swatch", style: `background:${r.colour}` });
  const cells = [
    el("td", {}, swatch, ` ${r.name}`),
    el("td", {}, link(r.planUrl, r.planText)),
    ...["done", "late", "missed", "unplanned", "toDo"].map(
      (key) => el("td", { "data-col": key, text: String(r[key]) })),
    el("td", { text: r.lastSeen }),
    el("td", { text: r.now }),
    el("td", {}, link(r.reportUrl, words.report)),
  ];
  return el("tr", { "data-rep": String(r.id) }, ...cells);
}

function stopRow(s, names) {
  const status = el("td", {}, el("span", { class: `badge st-${s.status}`, text: s.statusText }));
  if (s.lateText) {
    status.append(` ${s.lateText}`);
  }
  const check = el("td", {});
  if (s.check) {
    check.append(el("span", { class: `badge check-${s.check}`, text: s.checkText }));
  }
  return el("tr", { class: `st-${s.status}`, "data-status": s.status },
    el("td", { text: names.get(s.rep) || "" }), el("td", { text: s.seq ? String(s.seq) : "" }),
    el("td", {}, link(s.accountUrl, s.account)), el("td", { text: s.planned }),
    el("td", { text: s.arrived || "" }), el("td", { text: s.left || "" }), status, check);
}

function fill(tbody, rows, empty, columns) {
  tbody.replaceChildren(...(rows.length ? rows
    : [el("tr", {}, el("td", { colspan: String(columns), text: empty }))]));
}

function popup(s, names) {
  const box = el("div", {});
  box.append(el("strong", { text: names.get(s.rep) || "" }), el("br"),
    link(s.accountUrl, s.account), el("br"),
    `${s.statusText}${s.lateText ? ` ${s.lateText}` : ""}${s.arrived ? ` · ${s.arrived}` : ""}`);
  return box;
}

function drawMap(layer, data, names) {
  if (!layer) {
    return;
  }
  layer.clearLayers();
  const colours = new Map(data.reps.map((r) => [r.id, r.colour]));
  const routes = new Map();
  data.stops.forEach((s) => {
    if (s.lat == null || s.lon == null) {
      return;
    }
    if (s.seq) {
      if (!routes.has(s.rep)) {
        routes.set(s.rep, []);
      }
      routes.get(s.rep).push([s.lat, s.lon]);
    }
    const colour = COLOURS[s.status] || COLOURS.planned;
    L.circleMarker([s.lat, s.lon], {
      radius: 8, color: colours.get(s.rep) || "#333", weight: 3, fillColor: colour,
      fillOpacity: 0.9, className: `teamday-marker st-${s.status}`,
    }).bindPopup(popup(s, names)).addTo(layer);
  });
  routes.forEach((points, rep) => {
    L.polyline(points, { color: colours.get(rep) || "#333", weight: 2, opacity: 0.6,
      dashArray: "4 6" }).addTo(layer);
  });
}

function render(state, data) {
  const { words } = state;
  const names = new Map(data.reps.map((r) => [r.id, r.name]));
  document.getElementById("day-text").textContent = data.dayText;
  document.getElementById("teamday-updated").textContent =
    words.updated.replace("%(time)s", data.updated);
  document.querySelectorAll("#teamday-totals [data-total]").forEach((node) => {
    node.textContent = String(data.totals[node.getAttribute("data-total")]);
  });
  fill(document.querySelector("#teamday-reps tbody"), data.reps.map((r) => repRow(r, words)),
    words.noReps, 10);
  fill(document.querySelector("#teamday-stops tbody"), data.stops.map((s) => stopRow(s, names)),
    words.noStops, 8);
  drawMap(state.layer, data, names);
  state.rendered += 1;
  document.documentElement.setAttribute("data-teamday-rendered", String(state.rendered));
}

async function refresh(state) {
  try {
    const response = await fetch(state.url, {
      credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store",
    });
    if (!response.ok) {
      throw new Error(`HTTP ${response.status}`);
    }
    render(state, await response.json());
  } catch (err) {
    document.getElementById("teamday-updated").textContent = state.words.failed;
  }
}

/** The page's handle (browser tests): {map, layer, refresh()}; null on other pages. */
export const teamDay = start();

function start() {
  const data = pageData();
  if (!data.day || !data.dataUrl) {
    return null;
  }
  const map = foliumObject((data.map || {}).map);
  const state = {
    url: data.dataUrl, words: data.words || {}, rendered: 0,
    layer: map && window.L ? L.featureGroup().addTo(map) : null,
  };
  render(state, data.day);
  const every = Math.max(1, Number(data.refreshSeconds) || 60) * 1000;
  // Only while someone looks: a hidden tab asks again as soon as it is shown.
  setInterval(() => {
    if (!document.hidden) {
      refresh(state);
    }
  }, every);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) {
      refresh(state);
    }
  });
  return { map: map, layer: state.layer, refresh: () => refresh(state) };
}
