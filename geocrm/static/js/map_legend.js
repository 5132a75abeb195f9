/* Marker colours and their legend, from the points payload's `legend` ([{label, colour}])
 * and `colour` (one legend index per point), as geocrm/maps/colouring.py builds them.
 *
 * Colours are checked to be #rrggbb before they reach a style; labels (owner names, field
 * values) are put into the page with textContent only.
 */

const HEX = /^#[0-9a-fA-F]{6}$/;
const FALLBACK = "#9ca3af";

/** A colour safe to put into a style: #rrggbb or the "no value" grey. */
export function safeColour(colour) {
  return HEX.test(String(colour)) ? String(colour) : FALLBACK;
}

/** One Leaflet divIcon per legend entry (markers share them: 100,000 markers, a few icons);
 * `low` gives the hollow variant for low-confidence pins. */
export function legendIcons(legend, low) {
  return (legend || []).map(function (entry) {
    const dot = document.createElement("span");
    // A low-confidence pin (the geocoder found only the street, postcode or town): a hollow
    // ring in the legend colour, so "somewhere near here" never looks like "this door".
    dot.className = low ? "account-dot account-dot-low" : "account-dot";
    if (low) {
      dot.style.borderColor = safeColour(entry.colour);
    } else {
      dot.style.background = safeColour(entry.colour);
    }
    return L.divIcon({ className: low ? "account-marker account-marker-low" : "account-marker",
                       html: dot.outerHTML, iconSize: [14, 14] });
  });
}

/** Fill the list element `list` with the legend: a swatch, the label and a count. */
export function renderLegend(list, legend, codes) {
  if (!list) {
    return;
  }
  const counts = new Array((legend || []).length).fill(0);
  (codes || []).forEach(function (c) {
    if (c >= 0 && c < counts.length) {
      counts[c] += 1;
    }
  });
  list.replaceChildren();
  (legend || []).forEach(function (entry, i) {
    const li = document.createElement("li");
    li.className = "legend-colour";
    const swatch = document.createElement("span");
    swatch.className = "stage-dot";
    swatch.style.background = safeColour(entry.colour);
    li.appendChild(swatch);
    li.appendChild(document.createTextNode(" " + String(entry.label) + " "));
    const count = document.createElement("small");
    count.textContent = "(" + counts[i].toLocaleString() + ")";
    li.appendChild(count);
    list.appendChild(li);
  });
}
