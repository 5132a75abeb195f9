/* GeoCRM field service worker (served from /sw.js, scope "/").
 * - precaches the app shell and the local Leaflet assets;
 * - keeps the rep's data (bundle, today, tasks, accounts) network-first with a cached fallback;
 * - caches map tiles already seen, bounded, least recently used evicted; never prefetches;
 * - replays the IndexedDB outbox on Background Sync. */
"use strict";
importScripts({{ outbox_js | tojson }});

const VERSION = {{ version | tojson }};
const SHELL_CACHE = "geocrm-shell-" + VERSION;
const DATA_CACHE = "geocrm-data-v1";
const TILE_CACHE = "geocrm-tiles-v1";
const TILE_MAX = {{ tile_cache_max | tojson }};  // tiles kept, least recently used evicted
const SHELL = {{ assets | tojson }};
const APP_URL = SHELL[0];
const TILE_URL = {{ tile_url | tojson }};
const TILE_HOST = TILE_URL ? new URL(TILE_URL.replace("{s}", "a")).hostname.split(".").slice(-2).join(".") : null;
const DATA_PATHS = [/^\/api\/v1\/(bundle|today|tasks|interactions)$/, /^\/api\/v1\/accounts\/\d+$/];

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL_CACHE);
    await cache.addAll(SHELL.slice(1));
    // The shell needs the session: never keep a login page (a redirect) as the app.
    const shell = await fetch(APP_URL, { credentials: "same-origin" });
    if (shell.ok && !shell.redirected) await cache.put(APP_URL, shell);
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys
        .filter((k) => k.startsWith("geocrm-shell-") && k !== SHELL_CACHE)
        .map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

function isTile(url) {
  return TILE_HOST && url.hostname.endsWith(TILE_HOST) && /\/\d+\/\d+\/\d+(@2x)?\.(png|jpg|jpeg|webp)/.test(url.pathname);
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

/* LRU over the Cache API: keys() lists in insertion order, so a hit is re-inserted
 * at the end and eviction deletes from the front. */
async function tile(request) {
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
    for (let i = 0; i < keys.length - TILE_MAX; i++) await cache.delete(keys[i]);
  }
  return response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin === self.location.origin) {
    if (request.mode === "navigate" && url.pathname.startsWith(APP_URL)) {
      event.respondWith(networkFirst(request, SHELL_CACHE, APP_URL));
      return;
    }
    if (DATA_PATHS.some((re) => re.test(url.pathname))) {
      event.respondWith(networkFirst(request, DATA_CACHE));
      return;
    }
    if (SHELL.includes(url.pathname)) {
      event.respondWith(cacheFirst(request));
    }
    return;
  }
  if (isTile(url)) event.respondWith(tile(request));
});

self.addEventListener("sync", (event) => {
  if (event.tag === "geocrm-outbox") event.waitUntil(self.GeoOutbox.replay());
});

self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type === "replay") event.waitUntil(self.GeoOutbox.replay().catch(() => null));
  if (data.type === "forget") {
    event.waitUntil(caches.delete(DATA_CACHE));
  }
});
