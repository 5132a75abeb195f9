/* The CRM's point maps (Account 360, a segment on the map): markers from the page data.
 *
 * folium's (classic) script on the page made the map; the page data's `map` entry
 * (geocrm/crm/maps.py, via render_parts(...).handles) names it and carries the points as
 * compact rows [lat, lon, label, kind, account id] plus the account URL pattern.
 * Popups are built with textContent: labels are account names, user text, never HTML.
 */
import { foliumObject, pageData } from "./config.js";

const STYLES = {
  account: { radius: 8, color: "#0b5cad", fillColor: "#0b5cad", fillOpacity: 0.8 },
  checkin: { radius: 5, color: "#a61b1b", fillColor: "#fff", fillOpacity: 1 },
};

function popup(row, accountUrl) {
  const [, , label, , accountId] = row;
  const box = document.createElement("div");
  if (accountId !== null && accountUrl) {
    const link = document.createElement("a");
    link.href = accountUrl.replace("{id}", String(accountId));
    link.textContent = label;
    box.appendChild(link);
  } else {
    box.textContent = label;
  }
  return box;
}

/** The map's handle for browser tests: {map, points, count}; null without a map. */
export const pointsMap = start();

function start() {
  const data = pageData().map || {};
  const map = foliumObject(data.map);
  if (!map || !window.L) {
    return null;
  }
  const rows = data.points || [];
  // Big sets are clustered when the page loaded leaflet.markercluster (segment maps).
  const group = rows.length > 50 && L.markerClusterGroup
    ? L.markerClusterGroup({ chunkedLoading: true }) : L.featureGroup();
  rows.forEach((row) => {
    const marker = L.circleMarker([row[0], row[1]], STYLES[row[3]] || STYLES.account);
    marker.bindPopup(popup(row, data.accountUrl));
    group.addLayer(marker);
  });
  group.addTo(map);
  document.documentElement.setAttribute("data-crm-map", "ready");
  return { map: map, points: group, count: rows.length };
}
