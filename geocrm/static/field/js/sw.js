/* GeoCRM field service worker, a module worker. The entry the browser registers is /sw.js
 * (templates/field/sw.js, scope "/"), which imports this module and calls start() with its
 * settings (docs/frontend.md):
 * - precaches the app shell (page, manifest, its ES modules, styles, icons, local Leaflet);
 * - keeps the rep's data (bundle, today, tasks, accounts) network-first with a cached fallback;
 * - caches map tiles already seen, bounded, least recently used evicted; never prefetches;
 * - keeps the rep's part of the vector basemap whole and answers its range requests;
 * - replays the IndexedDB outbox on Background Sync. */
import { replay } from "./outbox.js";

const DATA_CACHE = "geocrm-data-v1";
const TILE_CACHE = "geocrm-tiles-v1";
const DATA_PATHS = [/^\/api\/v1\/(bundle|today|tasks|interactions)$/, /^\/api\/v1\/accounts\/\d+$/];

function tileHost(tileUrl) {
  return tileUrl ? new URL(tileUrl.replace("{s}", "a")).hostname.split(".").slice(-2).join(".") : null;
}

async function networkFirst(request, cacheName, key) {
  const cache = await caches.open(cacheName);
  try {
    const response = await fetch(request);
    // Only a real answer replaces the cached copy (never a login page after a redirect).
    if (response.ok && !response.redirected) await cache.put(key || request, response.clone());
    return response;
  } catch (err) {
    const cached = await cache.match(key || request, { ignoreSearch: !!key });
    if (cached) return cached;
    throw err;
  }
}

async function cacheFirst(request) {
  const cached = await caches.match(request, { ignoreSearch: true });
  return cached || fetch(request);
}

/* The vector basemap: the rep's part of the PMTiles archive (bounded by the server, see
 * geocrm.region.basemap.offline_basemap) is fetched whole once per version and kept; the
 * map's range requests are then answered from it, online or not, as 206 slices of the
 * stored file. One version is kept; an older one still answers when the newer cannot be
 * fetched (offline after a region reload). */
const BASEMAP_CACHE = "geocrm-basemap-v1";
let basemapBlob = { key: null, blob: null, etag: "" };

async function basemapWhole(key) {
  if (basemapBlob.key === key) return basemapBlob;
  const cache = await caches.open(BASEMAP_CACHE);
  let whole = await cache.match(key);
  if (!whole) {
    try {
      const response = await fetch(key, { credentials: "same-origin" });
      if (!response.ok || response.redirected) return { response: response };
      await cache.put(key, response.clone());
      for (const old of await cache.keys()) if (old.url !== key) await cache.delete(old);
      whole = response;
    } catch (err) {
      const keys = await cache.keys();
      if (!keys.length) throw err;
      whole = await cache.match(keys[keys.length - 1]);
      key = keys[keys.length - 1].url;
    }
  }
  basemapBlob = { key: key, blob: await whole.blob(), etag: whole.headers.get("ETag") || "" };
  return basemapBlob;
}

async function basemap(request) {
  const whole = await basemapWhole(request.url);
  if (whole.response) return whole.response;
  const size = whole.blob.size;
  const headers = { "Content-Type": "application/vnd.pmtiles", ETag: whole.etag, "Accept-Ranges": "bytes" };
  const m = /^bytes=(\d+)-(\d*)$/.exec(request.headers.get("Range") || "");
  if (!m) return new Response(whole.blob, { status: 200, headers: headers });
  const start = Number(m[1]);
  const end = Math.min(m[2] ? Number(m[2]) : size - 1, size - 1);
  if (start >= size || end < start) {
    return new Response(null, { status: 416, headers: { "Content-Range": "bytes */" + size } });
  }
  headers["Content-Range"] = "bytes " + start + "-" + end + "/" + size;
  headers["Content-Length"] = String(end - start + 1);
  return new Response(whole.blob.slice(start, end + 1), { status: 206, headers: headers });
}

/* LRU over the Cache API: keys() lists in insertion order, so a hit is re-inserted
 * at the end and eviction deletes from the front. */
async function tile(request, max) {
  const cache = await caches.open(TILE_CACHE);
  const hit = await cache.match(request);
  if (hit) {
    await cache.delete(request);
    await cache.put(request, hit.clone());
    return hit;
  }
  const response = await fetch(request);
  if (response.ok || response.type === "opaque") {
    await cache.put(request, response.clone());
    const keys = await cache.keys();
    for (let i = 0; i < keys.length - max; i++) await cache.delete(keys[i]);
  }
  return response;
}

/**
 * Install the worker's handlers. Must run while the worker script is first evaluated.
 * @param {{version: string, shell: string[], tileUrl: string, tileCacheMax: number, basemapPath: string}} config
 *   shell[0] is the app page; the rest are the static files it needs offline.
 */
export function start(config) {
  const shellCache = "geocrm-shell-" + config.version;
  const shell = config.shell;
  const appUrl = shell[0];
  const host = tileHost(config.tileUrl);

  function isTile(url) {
    return host && url.hostname.endsWith(host) && /\/\d+\/\d+\/\d+(@2x)?\.(png|jpg|jpeg|webp)/.test(url.pathname);
  }

  self.addEventListener("install", (event) => {
    event.waitUntil((async () => {
      const cache = await caches.open(shellCache);
      await cache.addAll(shell.slice(1));
      // The shell needs the session: never keep a login page (a redirect) as the app.
      const page = await fetch(appUrl, { credentials: "same-origin" });
      if (page.ok && !page.redirected) await cache.put(appUrl, page);
      await self.skipWaiting();
    })());
  });

  self.addEventListener("activate", (event) => {
    event.waitUntil(
      caches.keys()
        .then((keys) => Promise.all(keys
          .filter((k) => k.startsWith("geocrm-shell-") && k !== shellCache)
          .map((k) => caches.delete(k))))
        .then(() => self.clients.claim()),
    );
  });

  self.addEventListener("fetch", (event) => {
    const request = event.request;
    if (request.method !== "GET") return;
    const url = new URL(request.url);
    if (url.origin === self.location.origin) {
      if (request.mode === "navigate" && url.pathname.startsWith(appUrl)) {
        event.respondWith(networkFirst(request, shellCache, appUrl));
        return;
      }
      if (DATA_PATHS.some((re) => re.test(url.pathname))) {
        event.respondWith(networkFirst(request, DATA_CACHE));
        return;
      }
      if (config.basemapPath && url.pathname === config.basemapPath) {
        event.respondWith(basemap(request));
        return;
      }
      if (shell.includes(url.pathname)) {
        event.respondWith(cacheFirst(request));
      }
      return;
    }
    if (isTile(url)) event.respondWith(tile(request, config.tileCacheMax));
  });

  self.addEventListener("sync", (event) => {
    if (event.tag === "geocrm-outbox") event.waitUntil(replay());
  });

  // Web Push (geocrm.notify.push): show the message; a tap opens the page it names.
  self.addEventListener("push", (event) => {
    let data;
    try { data = event.data ? event.data.json() : {}; } catch (e) { data = { body: event.data.text() }; }
    event.waitUntil(self.registration.showNotification(data.title || "GeoCRM", {
      body: data.body || "", tag: data.id ? "geocrm-" + data.id : undefined,
      data: { url: data.url || "/app/" }, icon: "/static/field/icons/icon-192.png",
    }));
  });

  self.addEventListener("notificationclick", (event) => {
    event.notification.close();
    const url = new URL((event.notification.data || {}).url || "/app/", self.location.origin);
    if (url.origin !== self.location.origin) return;  // only our own pages
    event.waitUntil(self.clients.matchAll({ type: "window" }).then((windows) => {
      for (const w of windows) if (w.url === url.href && "focus" in w) return w.focus();
      return self.clients.openWindow(url.href);
    }));
  });

  self.addEventListener("message", (event) => {
    const data = event.data || {};
    if (data.type === "replay") event.waitUntil(replay().catch(() => null));
    if (data.type === "forget") {
      event.waitUntil(caches.delete(DATA_CACHE));
    }
  });
}
