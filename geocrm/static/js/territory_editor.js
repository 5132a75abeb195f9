/* Territory editor: territories in Leaflet.draw's editable group, stats, overlaps, gaps.
 *
 * folium's (classic) script on the page made the map, the Draw toolbar and the editable
 * group; the page data (config.js) names them. Here we load the territories from the data
 * endpoint, and turn the toolbar's events into JSON posts:
 *   draw:created  -> a pending shape: save as a new territory, or split the selected one;
 *   draw:edited   -> new outlines; draw:deleted -> deletions.
 * Every post carries the CSRF token in X-CSRFToken and asks for JSON, so a refusal comes
 * back as a problem document whose detail names the problem; it is shown as text.
 * User text (territory, rep and account names) only ever goes through textContent.
 */
import { csrfToken, foliumObject, pageData } from "./config.js";
import { t as _ } from "./i18n.js";
import { addTerritoryLabels } from "./map_labels.js";

/** The editor's handle for browser tests (null on a page without the editor map). */
export const territoryEditor = start();

function start() {
  const config = pageData();
  const handles = config.leaflet || {};
  const container = document.getElementById("editor-map");
  const map = foliumObject(handles.map);
  const editable = foliumObject(handles.editable);
  if (!container || !map || !editable || !window.L) {
    return null;
  }
  const csrf = csrfToken();
  const statusEl = document.getElementById("editor-status");

  const overlapsLayer = L.featureGroup().addTo(map);
  const labelsLayer = L.layerGroup().addTo(map);
  const gapsLayer = L.featureGroup().addTo(map);
  const unassignedLayer = L.featureGroup().addTo(map);
  L.control
    .layers(null, { [_("Overlaps")]: overlapsLayer, [_("Gaps")]: gapsLayer, [_("Unassigned accounts")]: unassignedLayer },
      { collapsed: false, position: "topright" })
    .addTo(map);

  let byId = {}; // territory id -> {layer, props}
  let selectedId = null;
  let pending = null; // the last drawn shape, not yet saved
  let busy = false;
  // A Draw toolbar mode is on (drawing, editing vertices, deleting): its clicks on the map
  // are vertices and picks, not selections. Without this, drawing a line deselected the
  // territory it was meant to split.
  let toolbarMode = false;

  function $(id) {
    return document.getElementById(id);
  }
  function text(node, value) {
    node.textContent = value === null || value === undefined ? "" : String(value);
    return node;
  }
  function el(tag, value) {
    return text(document.createElement(tag), value);
  }
  function setStatus(message, state) {
    text(statusEl, message);
    if (state) {
      container.setAttribute("data-state", state);
    }
  }
  function fmt(value, digits) {
    if (value === null || value === undefined) {
      return "—";
    }
    return Number(value).toLocaleString(undefined, { maximumFractionDigits: digits });
  }

  function request(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body || {}),
    }).then(function (r) {
      return r.json().then(
        function (data) {
          if (!r.ok) {
            throw new Error(data.detail || data.title || "HTTP " + r.status);
          }
          return data;
        },
        function () {
          throw new Error("HTTP " + r.status);
        }
      );
    });
  }
  function territoryUrl(id, action) {
    return config.territoryUrl.replace("{id}", String(id)) + action;
  }

  // --- results and undo -------------------------------------------------------------
  function showResult(message, notes, undoUrl, isError) {
    const panel = $("result-panel");
    panel.hidden = false;
    panel.setAttribute("data-kind", isError ? "error" : "ok");
    text($("result-text"), message);
    const list = $("result-notes");
    list.textContent = "";
    (notes || []).forEach(function (n) {
      list.appendChild(el("li", n));
    });
    const undo = $("result-undo");
    undo.hidden = !undoUrl;
    undo.onclick = function () {
      run(request(undoUrl), function (d) {
        return d.summary;
      }, false);
    };
  }

  function run(promise, describe, keepPending) {
    busy = true;
    setStatus(_("Saving…"), "saving");
    return promise
      .then(function (d) {
        if (!keepPending) {
          clearPending();
        }
        showResult(describe(d), d.notes, d.undo_url, false);
        if (d.territory) {
          selectedId = d.territory;
        }
        return reload();
      })
      .catch(function (err) {
        showResult(_("Not saved: %(reason)s", { reason: err.message }), [], null, true);
        setStatus(_("Not saved."), "ready");
        return reload();
      })
      .then(function () {
        busy = false;
      });
  }

  function changed(d) {
    return _("%(summary)s — %(count)s account(s) re-assigned.", { summary: d.summary, count: d.moved });
  }

  // --- territories ----------------------------------------------------------------------
  function styleFor(props, selected) {
    return {
      color: props.color,
      weight: selected ? 5 : 2,
      fillColor: props.color,
      fillOpacity: selected ? 0.3 : 0.15,
    };
  }

  function addTerritory(feature) {
    const props = feature.properties;
    L.geoJSON(feature, { style: styleFor(props, props.id === selectedId) }).eachLayer(function (layer) {
      layer.territoryId = props.id;
      layer.on("click", function (e) {
        if (pending || busy || toolbarMode) {
          return;
        }
        L.DomEvent.stopPropagation(e);
        select(props.id);
      });
      editable.addLayer(layer);
      byId[props.id] = { layer: layer, props: props };
    });
  }

  function select(id) {
    selectedId = id;
    Object.keys(byId).forEach(function (key) {
      const item = byId[key];
      item.layer.setStyle(styleFor(item.props, Number(key) === id));
    });
    const item = byId[id];
    const panel = $("selected-panel");
    if (!item) {
      panel.hidden = true;
      return;
    }
    const p = item.props;
    panel.hidden = false;
    panel.setAttribute("data-territory", String(id));
    text($("selected-name"), p.name);
    const stats = $("selected-stats");
    stats.textContent = "";
    [
      [_("Accounts"), fmt(p.accounts, 0)],
      [_("Value"), fmt(p.value, 0)],
      [_("Workload"), _("%(hours)s h / 4 weeks", { hours: fmt(p.workload_hours, 1) })],
      [_("Visiting"), fmt(p.visit_hours, 1) + " h"],
      [_("Travel"), fmt(p.travel_hours, 1) + " h"],
      [_("Compactness"), fmt(p.compactness, 2)],
      [_("Parts"), fmt(p.parts, 0)],
      [_("Area"), fmt(p.area_km2, 2) + " km²"],
      [_("Reps"), p.reps.map(function (r) { return r.name; }).join(", ") || _("nobody")],
      [_("Manager"), p.manager || "—"],
    ].forEach(function (pair) {
      const dt = el("dt", pair[0]);
      const dd = el("dd", pair[1]);
      dd.setAttribute("data-stat", pair[0].toLowerCase());
      stats.appendChild(dt);
      stats.appendChild(dd);
    });
    $("selected-edit").hidden = !config.editable;
    if (config.editable) {
      $("selected-rename").value = p.name;
      $("selected-color").value = p.color;
      $("selected-priority").value = p.priority;
      const box = $("selected-reps");
      box.querySelectorAll("label").forEach(function (n) {
        n.remove();
      });
      const mine = {};
      p.reps.forEach(function (r) {
        mine[r.id] = true;
      });
      config.reps.forEach(function (r) {
        const label = document.createElement("label");
        label.className = "check";
        const input = document.createElement("input");
        input.type = "checkbox";
        input.value = String(r.id);
        input.checked = !!mine[r.id];
        label.appendChild(input);
        label.appendChild(document.createTextNode(" " + r.name));
        box.appendChild(label);
      });
    }
    updatePendingButtons();
  }

  function fillTable(data) {
    const body = document.querySelector("#stats-table tbody");
    body.textContent = "";
    data.territories.features.forEach(function (f) {
      const p = f.properties;
      const tr = document.createElement("tr");
      tr.setAttribute("data-territory", String(p.id));
      [p.name, p.reps.map(function (r) { return r.name; }).join(", ") || "—", fmt(p.accounts, 0),
        fmt(p.value, 0), fmt(p.workload_hours, 1), fmt(p.compactness, 2), fmt(p.parts, 0)]
        .forEach(function (v, i) {
          const td = el("td", v);
          td.setAttribute("data-col", ["name", "reps", "accounts", "value", "workload", "compactness", "parts"][i]);
          tr.appendChild(td);
        });
      body.appendChild(tr);
    });
    text($("unassigned-line"), config.editable ? _("%(count)s account(s) in no territory (grey dots).", { count: data.unassigned }) : "");
    const ol = $("overlap-list");
    ol.textContent = "";
    data.overlaps.forEach(function (o) {
      ol.appendChild(el("li", _("%(a)s and %(b)s: %(area)s km², %(count)s account(s)",
        { a: o.a_name, b: o.b_name, area: fmt(o.area_m2 / 1e6, 3), count: o.accounts })));
    });
    if (!data.overlaps.length) {
      ol.appendChild(el("li", _("None.")));
    }
    const gl = $("gap-list");
    gl.textContent = "";
    data.gaps.forEach(function (g) {
      gl.appendChild(el("li", _("%(area)s km² enclosed by territories but in none", { area: fmt(g.area_m2 / 1e6, 3) })));
    });
    if (!data.gaps.length) {
      gl.appendChild(el("li", _("None.")));
    }
  }

  function drawDiagnostics(data) {
    overlapsLayer.clearLayers();
    gapsLayer.clearLayers();
    data.overlaps.forEach(function (o) {
      L.geoJSON(o.geometry, {
        style: { color: "#dc2626", weight: 2, dashArray: "4 3", fillColor: "#dc2626", fillOpacity: 0.45 },
        interactive: false,
      }).addTo(overlapsLayer);
    });
    data.gaps.forEach(function (g) {
      L.geoJSON(g.geometry, {
        style: { color: "#111827", weight: 2, dashArray: "2 4", fillColor: "#fbbf24", fillOpacity: 0.5 },
        interactive: false,
      }).addTo(gapsLayer);
    });
  }

  function loadUnassigned() {
    if (!config.editable) {
      return Promise.resolve();
    }
    return fetch(config.unassignedUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        return r.json();
      })
      .then(function (d) {
        unassignedLayer.clearLayers();
        for (let i = 0; i < d.count; i++) {
          const dot = L.circleMarker([d.lat[i], d.lon[i]], {
            radius: 5, color: "#fff", weight: 1, fillColor: "#6b7280", fillOpacity: 0.9,
            className: "unassigned-dot",
          });
          dot.bindTooltip(document.createTextNode(d.name[i]));
          dot.addTo(unassignedLayer);
        }
      });
  }

  function reload() {
    setStatus(_("Loading territories…"), "loading");
    return fetch(config.dataUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) {
          throw new Error("HTTP " + r.status);
        }
        return r.json();
      })
      .then(function (data) {
        editable.clearLayers();
        byId = {};
        data.territories.features.forEach(addTerritory);
        // the names, inside each territory (not in the editable group: they are not shapes)
        labelsLayer.clearLayers();
        addTerritoryLabels(labelsLayer, data.territories.features
          .filter(function (f) { return f.properties.label; })
          .map(function (f) {
            return { key: String(f.properties.id), name: f.properties.name,
              lat: f.properties.label[0], lon: f.properties.label[1] };
          }));
        fillTable(data);
        drawDiagnostics(data);
        overlapsLayer.bringToFront();
        select(selectedId);
        return loadUnassigned().then(function () {
          setStatus(_("%(count)s territories", { count: data.territories.features.length }), "ready");
        });
      })
      .catch(function (err) {
        setStatus(_("Could not load territories (%(reason)s).", { reason: err.message }), "error");
      });
  }

  // --- drawing ------------------------------------------------------------------------------
  function clearPending() {
    if (pending) {
      map.removeLayer(pending.layer);
      editable.removeLayer(pending.layer);
    }
    pending = null;
    $("pending-panel").hidden = true;
  }

  function updatePendingButtons() {
    if (!pending) {
      return;
    }
    const line = pending.type === "polyline";
    $("pending-create").hidden = line;
    const split = $("pending-split");
    split.hidden = !(selectedId && byId[selectedId]);
    if (!split.hidden) {
      text(split, _("Split %(name)s with it", { name: byId[selectedId].props.name }));
    }
  }

  if (config.editable && L.Draw) {
    [L.Draw.Event.DRAWSTART, L.Draw.Event.EDITSTART, L.Draw.Event.DELETESTART].forEach(function (name) {
      map.on(name, function () {
        toolbarMode = true;
      });
    });
    [L.Draw.Event.DRAWSTOP, L.Draw.Event.EDITSTOP, L.Draw.Event.DELETESTOP].forEach(function (name) {
      map.on(name, function () {
        toolbarMode = false;
      });
    });
    map.on(L.Draw.Event.CREATED, function (e) {
      // folium's handler already put the layer into the editable group: keep it apart.
      editable.removeLayer(e.layer);
      clearPending();
      pending = { layer: e.layer, type: e.layerType, geometry: e.layer.toGeoJSON().geometry };
      e.layer.addTo(map);
      $("pending-panel").hidden = false;
      $("pending-name").value = "";
      const countEl = $("pending-count");
      if (e.layerType === "polyline") {
        text(countEl, _("A line: select a territory it crosses, then split it."));
      } else {
        text(countEl, _("Counting accounts…"));
        request(config.countUrl, { geometry: pending.geometry })
          .then(function (d) {
            text(countEl, _("%(count)s account(s) inside.", { count: d.accounts }));
            countEl.setAttribute("data-accounts", String(d.accounts));
          })
          .catch(function (err) {
            text(countEl, err.message);
          });
      }
      updatePendingButtons();
      $("pending-name").focus();
    });

    map.on(L.Draw.Event.EDITED, function (e) {
      const posts = [];
      e.layers.eachLayer(function (layer) {
        if (layer.territoryId) {
          posts.push(request(territoryUrl(layer.territoryId, "geometry"), { geometry: layer.toGeoJSON().geometry }));
        }
      });
      if (posts.length) {
        run(Promise.all(posts).then(function (all) {
          const last = all[all.length - 1];
          return {
            summary: all.map(function (d) { return d.summary; }).join("; "),
            moved: all.reduce(function (n, d) { return n + d.moved; }, 0),
            notes: [].concat.apply([], all.map(function (d) { return d.notes; })),
            undo_url: all.length === 1 ? last.undo_url : null,
          };
        }), changed, true);
      }
    });

    map.on(L.Draw.Event.DELETED, function (e) {
      const posts = [];
      e.layers.eachLayer(function (layer) {
        if (layer.territoryId) {
          posts.push(request(territoryUrl(layer.territoryId, "delete")));
        }
      });
      if (posts.length) {
        selectedId = null;
        run(Promise.all(posts).then(function (all) {
          return {
            summary: all.map(function (d) { return d.summary; }).join("; "),
            moved: all.reduce(function (n, d) { return n + d.moved; }, 0),
            notes: [],
            undo_url: all.length === 1 ? all[0].undo_url : null,
          };
        }), changed, true);
      }
    });

    $("pending-save").addEventListener("click", function () {
      if (!pending) {
        return;
      }
      run(request(config.createUrl, {
        name: $("pending-name").value,
        geometry: pending.geometry,
        carve: $("pending-carve").checked,
      }), changed, false);
    });
    $("pending-split").addEventListener("click", function () {
      if (!pending || !selectedId) {
        return;
      }
      run(request(territoryUrl(selectedId, "split"), { cutter: pending.geometry, name: $("pending-name").value || null }),
        changed, false);
    });
    $("pending-discard").addEventListener("click", clearPending);

    $("selected-save").addEventListener("click", function () {
      run(request(territoryUrl(selectedId, "properties"), {
        name: $("selected-rename").value,
        color: $("selected-color").value,
        priority: $("selected-priority").value,
      }), changed, true);
    });
    $("selected-reps-save").addEventListener("click", function () {
      const ids = [];
      $("selected-reps").querySelectorAll("input:checked").forEach(function (n) {
        ids.push(Number(n.value));
      });
      run(request(territoryUrl(selectedId, "reps"), { rep_ids: ids }), changed, true);
    });
    $("selected-delete").addEventListener("click", function () {
      const id = selectedId;
      selectedId = null;
      run(request(territoryUrl(id, "delete")), changed, true);
    });
  }

  map.on("click", function () {
    if (!pending && !busy && !toolbarMode && selectedId !== null) {
      select(null);
    }
  });

  reload();
  return { map: map, reload: reload, select: select };
}
