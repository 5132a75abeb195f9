/* Territory map: loads the accounts as compact data and clusters them.
 *
 * folium's (classic) script on the page has drawn the territories; the page data
 * (config.js) names its map and its territory layers (territory id -> layer, plus
 * "unassigned"). Here we wait for the points request (map_points.js: columnar arrays,
 * see geocrm/maps/services.py map_points), build one marker per account with a shared
 * icon per legend entry (the colouring the reader picked: stage, owner, territory, last
 * visit, value or a custom field; map_legend.js), and add them to a Leaflet.markercluster
 * group with chunkedLoading. Territory names are drawn inside each territory (map_labels.js).
 * Popups fetch their details lazily and are built with textContent only: account
 * names are user text and must never be parsed as HTML.
 */
import { foliumObject, pageData } from "./config.js";
import { pointsRequest } from "./map_points.js";
import { lang, t as _ } from "./i18n.js";
import { addTerritoryLabels } from "./map_labels.js";
import { legendIcons, renderLegend } from "./map_legend.js";

/** The map's handle for other modules and browser tests (null without a map on the page). */
export const territoryMap = start();

function start() {
  const config = pageData();
  const handles = config.leaflet || {};
  const container = document.getElementById("territory-map");
  const statusEl = document.getElementById("territory-map-status");
  const map = foliumObject(handles.map);
  if (!container || !map || !window.L) {
    return null;
  }
  const territoryLayers = {};
  Object.keys(handles.layers || {}).forEach(function (key) {
    territoryLayers[key] = foliumObject(handles.layers[key]);
  });
  addTerritoryLabels(map, handles.labels, territoryLayers);
  const ZOOM_OUT_LEVELS = 3;

  // Performance marks for benchmarks/map_load.py (cheap; visible in the browser's profiler).
  function mark(name) {
    if (window.performance && performance.mark) {
      performance.mark(name);
    }
  }

  function setStatus(text, state) {
    if (statusEl) {
      statusEl.textContent = text;
    }
    if (state) {
      container.setAttribute("data-state", state);
    }
  }

  let loadedCount = null; // set once the points have arrived
  let clusteredCount = 0;
  const pendingKeys = []; // territories whose markers still wait to be clustered

  // Allow zooming out a few levels beyond the territories, not to the whole world: every
  // zoom level between minZoom and disableClusteringAtZoom costs markercluster work for
  // each of up to 100,000 markers. Must be set before the cluster group joins the map.
  map.setMinZoom(Math.max(0, map.getZoom() - ZOOM_OUT_LEVELS));

  const cluster = L.markerClusterGroup({
    chunkedLoading: true,
    // Long chunks and short pauses: the page stays responsive while 100,000 markers are
    // clustered, without a 50 ms idle gap after every chunk (the plugin's default).
    chunkInterval: 200,
    chunkDelay: 5,
    // Below street level every marker shows on its own; clustering fewer zoom levels makes
    // adding 100,000 markers several times faster.
    disableClusteringAtZoom: 17,
    showCoverageOnHover: false,
    removeOutsideVisibleBounds: true,
    chunkProgress: function (processed, total) {
      if (loadedCount === null) {
        return; // the empty initial pass when the group joins the map
      }
      if (processed < total) {
        const share = loadedCount ? (clusteredCount + processed) / loadedCount : 1;
        setStatus(_("Loading accounts… %(percent)s%%", { percent: Math.min(99, Math.round(100 * share)) }));
        return;
      }
      clusteredCount += total;
      window.setTimeout(addNextBatch, 0); // not from inside the plugin's own loop
    },
  });
  cluster.addTo(map);

  const markersByKey = {}; // "12" (territory id) or "unassigned" -> [marker]
  const markersById = {};
  const hiddenKeys = {};

  function keyForLayer(layer) {
    for (const key in territoryLayers) {
      if (territoryLayers[key] === layer) {
        return key;
      }
    }
    return null;
  }

  map.on("overlayadd", function (e) {
    const key = keyForLayer(e.layer);
    if (key !== null && hiddenKeys[key]) {
      delete hiddenKeys[key];
      cluster.addLayers(markersByKey[key] || []);
    }
  });
  map.on("overlayremove", function (e) {
    const key = keyForLayer(e.layer);
    if (key !== null && !hiddenKeys[key]) {
      hiddenKeys[key] = true;
      cluster.removeLayers(markersByKey[key] || []);
    }
  });

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    return node;
  }

  function row(label, valueClass) {
    const p = el("p", "popup-row");
    p.appendChild(el("span", "popup-label", label + ": "));
    const value = el("span", valueClass, "…");
    p.appendChild(value);
    return { row: p, value: value };
  }

  function popupContent(accountId) {
    const box = el("div", "account-popup");
    const name = el("strong", "popup-name", _("Loading…"));
    const stage = row(_("Stage"), "popup-stage");
    const visit = row(_("Last visit"), "popup-visit");
    const pin = row(_("Pin"), "popup-pin");
    const link = el("a", "popup-link", _("Open account"));
    link.href = config.accountUrl.replace("{id}", String(accountId));
    box.appendChild(name);
    box.appendChild(stage.row);
    box.appendChild(visit.row);
    box.appendChild(pin.row);
    box.appendChild(link);
    fetch(config.popupUrl.replace("{id}", String(accountId)), {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (r) {
        if (!r.ok) {
          throw new Error("HTTP " + r.status);
        }
        return r.json();
      })
      .then(function (d) {
        name.textContent = d.name;
        stage.value.textContent = _(String(d.stage));
        stage.value.className = "popup-stage stage-" + String(d.stage).replace(/[^a-z]/g, "");
        visit.value.textContent = d.last_visit || _("never");
        pin.value.textContent = (d.location || "—") +
          (d.low_confidence ? " (" + _("low confidence: check it on the next visit") + ")" : "");
        if (d.low_confidence) pin.row.classList.add("popup-pin-low");
      })
      .catch(function () {
        name.textContent = _("Could not load this account.");
      });
    return box;
  }

  function openPopup(marker) {
    L.popup({ maxWidth: 260 })
      .setLatLng(marker.getLatLng())
      .setContent(popupContent(marker.accountId))
      .openOn(map);
  }

  cluster.on("click", function (e) {
    openPopup(e.layer);
  });

  function buildMarkers(data) {
    const icons = legendIcons(data.legend);
    const lowIcons = legendIcons(data.legend, true);
    const low = new Set(data.low || []);
    const codes = data.colour;
    const scale = data.scale;
    let id = 0;
    for (let i = 0; i < data.count; i++) {
      id += data.id[i];
      const t = data.territory[i];
      const key = t === 0 ? "unassigned" : String(t);
      const marker = L.marker([data.lat[i] / scale, data.lon[i] / scale], {
        icon: low.has(i) ? lowIcons[codes[i]] : icons[codes[i]],
        keyboard: false,
      });
      marker.accountId = id;
      markersById[id] = marker;
      if (!markersByKey[key]) {
        markersByKey[key] = [];
        pendingKeys.push(key);
      }
      markersByKey[key].push(marker);
    }
  }

  // Cluster one territory at a time: markercluster draws only when a whole addLayers call
  // is done, so the first territory's clusters show long before the last one is ready.
  function addNextBatch() {
    while (pendingKeys.length) {
      const key = pendingKeys.shift();
      if (!hiddenKeys[key]) {
        cluster.addLayers(markersByKey[key], true); // true: no "layeradd" event per marker
        return;
      }
    }
    if (container.getAttribute("data-state") !== "ready") {
      mark("geocrm:clustered");
      setStatus(_("%(n)s accounts", { n: loadedCount.toLocaleString(lang) }), "ready");
    }
  }

  function fillLegendCounts(data) {
    const byId = {};
    for (let i = 0; i < data.count; i++) {
      const t = data.territory[i];
      byId[t] = (byId[t] || 0) + 1;
    }
    document.querySelectorAll(".legend-count[data-territory]").forEach(function (node) {
      node.textContent = "(" + (byId[node.getAttribute("data-territory")] || 0) + ")";
    });
  }

  setStatus(_("Loading accounts…"), "loading");
  pointsRequest
    .then(function (r) {
      if (!r.ok) {
        throw new Error("HTTP " + r.status);
      }
      return r.json();
    })
    .then(function (data) {
      mark("geocrm:data");
      buildMarkers(data);
      mark("geocrm:markers");
      fillLegendCounts(data);
      renderLegend(document.getElementById("legend-colours"), data.legend, data.colour);
      loadedCount = data.count;
      if (data.count === 0) {
        setStatus(_("No accounts match."), "ready");
      } else {
        addNextBatch(); // chunked; chunkProgress moves on to the next territory
      }
    })
    .catch(function (err) {
      setStatus(_("Could not load accounts (%(reason)s).", { reason: err.message }), "error");
    });

  return {
    map: map,
    cluster: cluster,
    marker: function (id) {
      return markersById[id] || null;
    },
    reveal: function (id, callback) {
      const marker = markersById[id];
      if (!marker) {
        return false;
      }
      cluster.zoomToShowLayer(marker, function () {
        openPopup(marker);
        if (callback) {
          callback();
        }
      });
      return true;
    },
  };
}
