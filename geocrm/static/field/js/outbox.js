/* GeoCRM field outbox: every write goes to IndexedDB first, with a client-generated id,
 * and is replayed to /api/v1/sync (on reconnect, on Background Sync, at app start).
 * An ES module imported by the page (app.js) and by the module service worker (sw.js),
 * so both share one queue. One replay at a time: a Web Lock across the page and the
 * worker, plus an in-memory promise; the server applies each id exactly once anyway. */

const DB_NAME = "geocrm-field";
const CHUNK = 200;
let dbPromise = null;
let running = null;

function openDb() {
  if (dbPromise) return dbPromise;
  dbPromise = new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => {
      const db = req.result;
      db.createObjectStore("outbox", { keyPath: "seq", autoIncrement: true });
      db.createObjectStore("meta", { keyPath: "key" });
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => { dbPromise = null; reject(req.error); };
  });
  return dbPromise;
}

function tx(store, mode, fn) {
  return openDb().then((db) => new Promise((resolve, reject) => {
    const t = db.transaction(store, mode);
    let result;
    Promise.resolve(fn(t.objectStore(store))).then((r) => { result = r; });
    t.oncomplete = () => resolve(result);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error);
  }));
}

function reqP(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** A client-generated id: the server applies each one exactly once. */
export function uuid() {
  if (globalThis.crypto && crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
  const h = Array.prototype.map.call(b, (x) => (x + 256).toString(16).slice(1)).join("");
  return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
}

export function getMeta(key) {
  return tx("meta", "readonly", (s) => reqP(s.get(key))).then((row) => (row ? row.value : null));
}

export function setMeta(key, value) {
  return tx("meta", "readwrite", (s) => { s.put({ key: key, value: value }); });
}

export function all() {
  return tx("outbox", "readonly", (s) => reqP(s.getAll()));
}

function notify(msg) {
  try { new BroadcastChannel("geocrm-sync").postMessage(msg); } catch { /* old browser */ }
}

export function enqueue(op, data, id) {
  const item = { id: id || uuid(), op: op, data: data, created_at: new Date().toISOString(),
    state: "pending", attempts: 0, error: null };
  return tx("outbox", "readwrite", (s) => { s.add(item); }).then(() => {
    notify({ type: "queued" });
    return item;
  });
}

export function put(item) {
  return tx("outbox", "readwrite", (s) => { s.put(item); });
}

function remove(seqs) {
  return tx("outbox", "readwrite", (s) => { seqs.forEach((k) => s.delete(k)); });
}

export function status() {
  return Promise.all([all(), getMeta("last_sync"), getMeta("last_error")]).then(([items, lastSync, lastError]) => ({
    pending: items.filter((i) => i.state === "pending").length,
    rejected: items.filter((i) => i.state === "rejected").length,
    total: items.length,
    lastSync: lastSync,
    lastError: lastError,
  }));
}

function withLock(fn) {
  const locks = globalThis.navigator && navigator.locks;
  if (locks && locks.request) return locks.request("geocrm-outbox", fn);
  return fn();
}

function sendChunk(items, csrf) {
  const headers = { "Content-Type": "application/json", "Accept": "application/json" };
  if (csrf) headers["X-CSRFToken"] = csrf;
  return fetch("/api/v1/sync", {
    method: "POST", credentials: "same-origin", headers: headers,
    body: JSON.stringify({ ops: items.map((i) => ({ id: i.id, op: i.op, data: i.data })) }),
  }).then((res) => {
    if (res.status === 401) throw new Error("Signed out: sign in again to send your changes.");
    if (!res.ok) throw new Error("The server answered " + res.status + "; will retry.");
    return res.json();
  });
}

function sendAll(pending, csrf) {
  let applied = 0;
  let chain = Promise.resolve();
  for (let start = 0; start < pending.length; start += CHUNK) {
    const chunk = pending.slice(start, start + CHUNK);
    chain = chain.then(() => sendChunk(chunk, csrf)).then((body) => {
      const done = [];
      const updates = [];
      body.results.forEach((res, idx) => {
        const item = chunk[idx];
        if (res.ok) { done.push(item.seq); applied += 1; return; }
        item.attempts += 1;
        item.state = res.status >= 500 ? "pending" : "rejected";
        item.error = (res.problem && res.problem.detail) || ("status " + res.status);
        updates.push(item);
      });
      return remove(done).then(() => Promise.all(updates.map(put)));
    });
  }
  return chain.then(() => applied);
}

function replayOnce() {
  return withLock(() => Promise.all([all(), getMeta("csrf")]).then(([items, csrf]) => {
    const pending = items.filter((i) => i.state === "pending");
    if (!pending.length) return { applied: 0, pending: 0 };
    let applied = 0;
    return sendAll(pending, csrf).then((n) => {
      applied = n;
      return Promise.all([setMeta("last_sync", new Date().toISOString()), setMeta("last_error", null)]);
    }).then(() => {
      notify({ type: "synced", applied: applied });
      return { applied: applied };
    }, (err) => {
      const message = String((err && err.message) || err);
      return setMeta("last_error", { message: message, at: new Date().toISOString() })
        .then(() => { notify({ type: "failed", message: message }); throw err; });
    });
  }));
}

/** Send what is pending. Single-flight: callers during a replay share it; the Web Lock
 * covers the other context (page or worker). */
export function replay() {
  if (running) return running;
  running = replayOnce().finally(() => { running = null; });
  return running;
}

export function discard(seq) {
  return remove([seq]).then(() => notify({ type: "queued" }));
}

/** Forget everything on this phone (sign-out). */
export function clearAll() {
  return Promise.all([
    tx("outbox", "readwrite", (s) => { s.clear(); }),
    tx("meta", "readwrite", (s) => { s.clear(); }),
  ]);
}
