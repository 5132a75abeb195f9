/* Hand-off to a navigation app: Google Maps, Apple Maps, Waze, Naver Map, Kakao Map.
 *
 * Korean reps navigate with Naver or Kakao (Google has no driving directions in Korea), so
 * every page that offers navigation offers all five, the rep's default first. The default is
 * the rep's own choice, saved in their profile (users.nav_app, so every device knows it; the
 * server passes it as `navDefault`, geocrm.maps.web.nav_app_for) and kept on this device too
 * for offline use; with no choice it is Naver in Korean and Google elsewhere.
 *
 * Naver and Kakao open their app by a custom scheme (nmap://, kakaomap://). A link carries
 * the web address in its href (it works without JavaScript and on a desktop) and the app
 * address in data-app-url; a click tries the app and, when the page is still in front after
 * a moment (no app took it), goes to the web address.
 */

export const NAV_APPS = ["google", "apple", "waze", "naver", "kakao"];
export const NAV_APP_NAMES = {
  google: "Google Maps", apple: "Apple Maps", waze: "Waze", naver: "Naver Map", kakao: "Kakao Map",
};
const FALLBACK_MS = 1500;

function storageKey(user) { return "geocrm.navApp." + String(user || "anon"); }

/** The rep's default app on this device, else `fallback` (the locale's default). */
export function preferredApp(user, fallback) {
  let chosen;
  try { chosen = window.localStorage.getItem(storageKey(user)); } catch (e) { chosen = null; }
  return NAV_APPS.indexOf(chosen) >= 0 ? chosen : (NAV_APPS.indexOf(fallback) >= 0 ? fallback : "google");
}

/** Remember the rep's default app (an unknown name is refused, not stored): on this device,
 * and in the profile when online (a failed save keeps the device's choice). */
export function setPreferredApp(user, app) {
  if (NAV_APPS.indexOf(app) < 0) return false;
  try { window.localStorage.setItem(storageKey(user), app); } catch (e) { return false; }
  const meta = document.querySelector('meta[name="csrf-token"]');
  fetch("/people/me/nav-app", {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": meta ? meta.getAttribute("content") : "" },
    body: JSON.stringify({ nav_app: app }),
  }).catch(function () { /* offline: the device remembers it */ });
  return true;
}

/** Open `appUrl`; if no app takes it within a moment (the page stays visible), `webUrl`. */
export function openWithFallback(appUrl, webUrl) {
  let left = false;
  const gone = function () { if (document.visibilityState === "hidden") left = true; };
  document.addEventListener("visibilitychange", gone);
  window.addEventListener("pagehide", gone);
  window.setTimeout(function () {
    document.removeEventListener("visibilitychange", gone);
    window.removeEventListener("pagehide", gone);
    if (!left) window.location.href = webUrl;
  }, FALLBACK_MS);
  window.location.href = appUrl;
}

/** Clicks on a[data-app-url] inside `root` try the app first (see the module comment). */
export function wireFallbacks(root) {
  root.addEventListener("click", function (ev) {
    const a = ev.target.closest ? ev.target.closest("a[data-app-url]") : null;
    if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey) return;
    ev.preventDefault();
    openWithFallback(a.getAttribute("data-app-url"), a.href);
  });
}

function ll(lat, lon) { return Number(lat).toFixed(6) + "," + Number(lon).toFixed(6); }
function place(name) { return String(name || "-").replace(/[,/]/g, " ").replace(/\s+/g, " ").trim().slice(0, 60) || "-"; }

/**
 * Links to one destination from wherever the phone is, one per app:
 * [{app: "naver", name: "Naver Map", href: web or universal link, appUrl: scheme or null}].
 * `naverAppname` is the identifier Naver requires (GEOCRM_NAVER_APPNAME).
 */
export function destinationLinks(lat, lon, name, naverAppname) {
  const dest = ll(lat, lon);
  const label = place(name);
  const q = function (o) { return new URLSearchParams(o).toString(); };
  return [
    { app: "google", href: "https://www.google.com/maps/dir/?" + q({ api: "1", destination: dest }), appUrl: null },
    { app: "apple", href: "https://maps.apple.com/?" + q({ daddr: dest, dirflg: "d" }), appUrl: null },
    { app: "waze", href: "https://waze.com/ul?" + q({ ll: dest, navigate: "yes" }), appUrl: null },
    { app: "naver",
      href: "https://map.naver.com/index.nhn?" + q({ menu: "route", pathType: "0", elat: Number(lat).toFixed(6), elng: Number(lon).toFixed(6), etext: label }),
      appUrl: "nmap://route/car?" + q({ dlat: Number(lat).toFixed(6), dlng: Number(lon).toFixed(6), dname: label, appname: naverAppname || location.origin }) },
    { app: "kakao",
      href: "https://map.kakao.com/link/to/" + encodeURIComponent(label) + "," + dest,
      appUrl: "kakaomap://route?ep=" + dest + "&by=CAR" },
  ].map(function (l) { l.name = NAV_APP_NAMES[l.app]; return l; });
}

/** `items` (each with .app) with the preferred app first, the others in their usual order. */
export function preferredFirst(items, app) {
  return items.filter(function (i) { return i.app === app; })
    .concat(items.filter(function (i) { return i.app !== app; }));
}
