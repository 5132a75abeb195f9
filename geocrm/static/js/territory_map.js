/* Territory map: loads the accounts as compact data and clusters them.
 *
 * The folium part of the page has drawn the territories and published
 * window.geocrmMap and window.geocrmTerritoryLayers (territory id -> layer, plus
 * "unassigned"). Here we fetch the points endpoint (columnar arrays, see
 * geocrm/maps/services.py map_points), build one marker per account with a shared
 * icon per stage, and add them to a Leaflet.markercluster group with chunkedLoading.
 * Popups fetch their details lazily and are built with textContent only: account
 * names are user text and must never be parsed as HTML.
 */
(function () {
  "use strict";

  var configEl = document.getElementById("territory-map-config");
  var container = document.getElementById("territory-map");
  var statusEl = document.getElementById("territory-map-status");
  if (!configEl || !container || !window.geocrmMap || !window.L) {
    return;
  }
  var config = JSON.parse(configEl.textContent);
  var map = window.geocrmMap;
  var territoryLayers = window.geocrmTerritoryLayers || {};

  function setStatus(text, state) {
    if (statusEl) {
      statusEl.textContent = text;
    }
    if (state) {
      container.setAttribute("data-state", state);
    }
  }

  var loadedCount = null; // set once the points have arrived

  var cluster = L.markerClusterGroup({
    chunkedLoading: true,
    chunkInterval: 150,
    showCoverageOnHover: false,
    removeOutsideVisibleBounds: true,
    chunkProgress: function (processed, total) {
      if (loadedCount === null) {
        return; // the empty initial pass when the group joins the map
      }
      if (processed < total) {
        setStatus("Loading accounts… " + Math.round((100 * processed) / total) + "%");
      } else {
        setStatus(loadedCount.toLocaleString() + " accounts", "ready");
      }
    },
  });
  cluster.addTo(map);

  var markersByKey = {}; // "12" (territory id) or "unassigned" -> [marker]
  var markersById = {};
  var hiddenKeys = {};

  function keyForLayer(layer) {
    for (var key in territoryLayers) {
      if (territoryLayers[key] === layer) {
        return key;
      }
    }
    return null;
  }

  map.on("overlayadd", function (e) {
    var key = keyForLayer(e.layer);
    if (key !== null && hiddenKeys[key]) {
      delete hiddenKeys[key];
      cluster.addLayers(markersByKey[key] || []);
    }
  });
  map.on("overlayremove", function (e) {
    var key = keyForLayer(e.layer);
    if (key !== null && !hiddenKeys[key]) {
      hiddenKeys[key] = true;
      cluster.removeLayers(markersByKey[key] || []);
    }
  });

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    return node;
  }

  function row(label, valueClass) {
    var p = el("p", "popup-row");
    p.appendChild(el("span", "popup-label", label + ": "));
    var value = el("span", valueClass, "…");
    p.appendChild(value);
    return { row: p, value: value };
  }

  function popupContent(accountId) {
    var box = el("div", "account-popup");
    var name = el("strong", "popup-name", "Loading…");
    var stage = row("Stage", "popup-stage");
    var visit = row("Last visit", "popup-visit");
    var link = el("a", "popup-link", "Open account");
    link.href = config.accountUrl.replace("{id}", String(accountId));
    box.appendChild(name);
    box.appendChild(stage.row);
    box.appendChild(visit.row);
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
        stage.value.textContent = d.stage;
        stage.value.className = "popup-stage stage-" + String(d.stage).replace(/[^a-z]/g, "");
        visit.value.textContent = d.last_visit || "never";
      })
      .catch(function () {
        name.textContent = "Could not load this account.";
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
    var icons = data.stages.map(function (stage) {
      return L.divIcon({
        className: "account-marker stage-dot-" + stage.replace(/[^a-z]/g, ""),
        iconSize: [14, 14],
      });
    });
    var scale = data.scale;
    var visible = [];
    var id = 0;
    for (var i = 0; i < data.count; i++) {
      id += data.id[i];
      var t = data.territory[i];
      var key = t < 0 ? "unassigned" : String(data.territories[t]);
      var marker = L.marker([data.lat[i] / scale, data.lon[i] / scale], {
        icon: icons[data.stage[i]],
        keyboard: false,
      });
      marker.accountId = id;
      markersById[id] = marker;
      (markersByKey[key] = markersByKey[key] || []).push(marker);
      if (!hiddenKeys[key]) {
        visible.push(marker);
      }
    }
    return visible;
  }

  setStatus("Loading accounts…", "loading");
  fetch(config.pointsUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
    .then(function (r) {
      if (!r.ok) {
        throw new Error("HTTP " + r.status);
      }
      return r.json();
    })
    .then(function (data) {
      var markers = buildMarkers(data);
      loadedCount = data.count;
      if (markers.length === 0) {
        setStatus("No accounts match.", "ready");
      } else {
        // Finishes asynchronously in chunks; chunkProgress marks the map ready at the end.
        cluster.addLayers(markers);
      }
    })
    .catch(function (err) {
      setStatus("Could not load accounts (" + err.message + ").", "error");
    });

  // A small handle for tests and for other pages' scripts.
  window.geocrmTerritoryMap = {
    map: map,
    cluster: cluster,
    marker: function (id) {
      return markersById[id] || null;
    },
    reveal: function (id, callback) {
      var marker = markersById[id];
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
})();
