/* Territory names on a map, at a point well inside each territory (territories/labels.py).
 *
 * Each label is a non-interactive marker whose icon is a <span> filled with textContent:
 * territory names are user text and never parsed as HTML. A label joins its territory's
 * layer when the page has one, so hiding the territory hides its name too.
 */

/**
 * Add `labels` ([{key, name, lat, lon}]) to `map`; `layers` maps a key to the layer group
 * the label should live in (optional). Returns the created markers by key.
 */
export function addTerritoryLabels(map, labels, layers) {
  const made = {};
  (labels || []).forEach(function (item) {
    if (!Number.isFinite(item.lat) || !Number.isFinite(item.lon)) {
      return;
    }
    const text = document.createElement("span");
    text.className = "territory-label-text";
    text.textContent = String(item.name);
    const marker = L.marker([item.lat, item.lon], {
      icon: L.divIcon({ className: "territory-label", html: text, iconSize: null }),
      interactive: false,
      keyboard: false,
      pane: "tooltipPane",
    });
    const group = layers && layers[item.key];
    marker.addTo(group || map);
    made[item.key] = marker;
  });
  return made;
}
