// The planning profile's home base: a click on the map or a drag of the pin sets the hidden
// home_lat/home_lon fields of the form (positions travel in the form body, never the URL).
import { foliumObject, pageData } from "./config.js";

const data = pageData();
const map = foliumObject((data.leaflet || {}).map);
const lat = document.querySelector("input[name=home_lat]");
const lon = document.querySelector("input[name=home_lon]");
const status = document.getElementById("home-status");
let marker = null;

function place(latlng) {
  if (!marker) {
    marker = L.marker(latlng, { draggable: true, keyboard: true, title: "home" }).addTo(map);
    marker.on("dragend", function () { place(marker.getLatLng()); });
  } else {
    marker.setLatLng(latlng);
  }
  lat.value = latlng.lat.toFixed(6);
  lon.value = latlng.lng.toFixed(6);
  status.textContent = lat.value + ", " + lon.value;
}

if (map) {
  if (data.home) place(L.latLng(data.home[0], data.home[1]));
  map.on("click", function (e) { place(e.latlng); });
  document.getElementById("home-map").dataset.state = "ready";
}
document.getElementById("home-clear").addEventListener("click", function () {
  if (marker) { map.removeLayer(marker); marker = null; }
  lat.value = "";
  lon.value = "";
  status.textContent = "—";
});
