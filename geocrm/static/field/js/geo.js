/* Where the phone is, and how far that is from an account (metres on the WGS84 mean
 * radius, like the server's check-in distance). */

import { t as _ } from "./i18n.js";

/** Great-circle distance in metres. */
export function haversine(lat1, lon1, lat2, lon2) {
  const R = 6371008.8, r = Math.PI / 180;
  const dp = (lat2 - lat1) * r, dl = (lon2 - lon1) * r;
  const a = Math.pow(Math.sin(dp / 2), 2) + Math.cos(lat1 * r) * Math.cos(lat2 * r) * Math.pow(Math.sin(dl / 2), 2);
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(a)));
}

/** The phone's position; resolves with {lat, lon, accuracy} or {error: message}. */
export function position() {
  return new Promise(function (resolve) {
    if (!navigator.geolocation) { resolve({ error: _("This phone has no location service.") }); return; }
    navigator.geolocation.getCurrentPosition(
      function (p) { resolve({ lat: p.coords.latitude, lon: p.coords.longitude, accuracy: p.coords.accuracy }); },
      function (err) {
        resolve({ error: err.code === 1 ? _("Location permission is denied.") : _("No position fix (%(reason)s).", { reason: err.message }) });
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 }
    );
  });
}
