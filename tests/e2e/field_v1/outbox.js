/* GeoCRM field outbox: every write goes to IndexedDB first, with a client-generated id,
 * and is replayed to /api/v1/sync (on reconnect, on Background Sync, at app start).
 * Loaded by the page and by the service worker (importScripts), so both share one queue.
 * One replay at a time: a Web Lock across the page and the worker, plus an in-memory
 * promise; the server applies each id exactly once anyway. */
(function (global) {
  "use strict";
  var DB_NAME = "geocrm-field";
  var CHUNK = 200;
  var dbPromise = null;
  var running = null;

  function openDb() {
    if (dbPromise) return dbPromise;
    dbPromise = new Promise(function (resolve, reject) {
      var req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = function () {
        var db = req.result;
        db.createObjectStore("outbox", { keyPath: "seq", autoIncrement: true });
        db.createObjectStore("meta", { keyPath: "key" });
      };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { dbPromise = null; reject(req.error); };
    });
    return dbPromise;
  }

  function tx(store, mode, fn) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(store, mode);
        var result;
        Promise.resolve(fn(t.objectStore(store))).then(function (r) { result = r; });
        t.oncomplete = function () { resolve(result); };
        t.onerror = function () { reject(t.error); };
        t.onabort = function () { reject(t.error); };
      });
    });
  }

  function reqP(req) {
    return new Promise(function (resolve, reject) {
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }

  function uuid() {
    if (global.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function getMeta(key) {
    return tx("meta", "readonly", function (s) { return reqP(s.get(key)); })
      .then(function (row) { return row ? row.value : null; });
  }

  function setMeta(key, value) {
    return tx("meta", "readwrite", function (s) { s.put({ key: key, value: value }); });
  }

  function all() {
    return tx("outbox", "readonly", function (s) { return reqP(s.getAll()); });
  }

  function notify(msg) {
    try { new BroadcastChannel("geocrm-sync").postMessage(msg); } catch (e) { /* old browser */ }
  }

  function enqueue(op, data, id) {
    var item = { id: id || uuid(), op: op, data: data, created_at: new Date().toISOString(),
      state: "pending", attempts: 0, error: null };
    return tx("outbox", "readwrite", function (s) { s.add(item); }).then(function () {
      notify({ type: "queued" });
      return item;
    });
  }

  function put(item) {
    return tx("outbox", "readwrite", function (s) { s.put(item); });
  }

  function remove(seqs) {
    return tx("outbox", "readwrite", function (s) { seqs.forEach(function (k) { s.delete(k); }); });
  }

  function status() {
    return Promise.all([all(), getMeta("last_sync"), getMeta("last_error")]).then(function (r) {
      var items = r[0];
      return {
        pending: items.filter(function (i) { return i.state === "pending"; }).length,
        rejected: items.filter(function (i) { return i.state === "rejected"; }).length,
        total: items.length,
        lastSync: r[1],
        lastError: r[2]
      };
    });
  }

  function withLock(fn) {
    var locks = global.navigator && navigator.locks;
    if (locks && locks.request) return locks.request("geocrm-outbox", fn);
    return fn();
  }

  function sendChunk(items, csrf) {
    var headers = { "Content-Type": "application/json", "Accept": "application/json" };
    if (csrf) headers["X-CSRFToken"] = csrf;
    return fetch("/api/v1/sync", {
      method: "POST", credentials: "same-origin", headers: headers,
      body: JSON.stringify({ ops: items.map(function (i) { return { id: i.id, op: i.op, data: i.data }; }) })
    }).then(function (res) {
      if (res.status === 401) throw new Error("Signed out: sign in again to send your changes.");
      if (!res.ok) throw new Error("The server answered " + res.status + "; will retry.");
      return res.json();
    });
  }

  function replayOnce() {
    return withLock(function () {
      return Promise.all([all(), getMeta("csrf")]).then(function (r) {
        var pending = r[0].filter(function (i) { return i.state === "pending"; });
        var csrf = r[1];
        var applied = 0;
        if (!pending.length) return { applied: 0, pending: 0 };
        var chain = Promise.resolve();
        for (var start = 0; start < pending.length; start += CHUNK) {
          (function (chunk) {
            chain = chain.then(function () {
              return sendChunk(chunk, csrf).then(function (body) {
                var done = [];
                var updates = [];
                body.results.forEach(function (res, idx) {
                  var item = chunk[idx];
                  if (res.ok) { done.push(item.seq); applied += 1; return; }
                  item.attempts += 1;
                  item.state = res.status >= 500 ? "pending" : "rejected";
                  item.error = (res.problem && res.problem.detail) || ("status " + res.status);
                  updates.push(item);
                });
                return remove(done).then(function () {
                  return Promise.all(updates.map(put));
                });
              });
            });
          })(pending.slice(start, start + CHUNK));
        }
        return chain.then(function () {
          return Promise.all([setMeta("last_sync", new Date().toISOString()), setMeta("last_error", null)]);
        }).then(function () {
          notify({ type: "synced", applied: applied });
          return { applied: applied };
        }, function (err) {
          return setMeta("last_error", { message: String(err && err.message || err), at: new Date().toISOString() })
            .then(function () { notify({ type: "failed", message: String(err && err.message || err) }); throw err; });
        });
      });
    });
  }

  /* Single-flight: callers during a replay share it; the Web Lock covers the other context. */
  function replay() {
    if (running) return running;
    running = replayOnce().finally(function () { running = null; });
    return running;
  }

  function discard(seq) {
    return remove([seq]).then(function () { notify({ type: "queued" }); });
  }

  function clearAll() {
    return Promise.all([
      tx("outbox", "readwrite", function (s) { s.clear(); }),
      tx("meta", "readwrite", function (s) { s.clear(); })
    ]);
  }

  global.GeoOutbox = {
    uuid: uuid, enqueue: enqueue, replay: replay, all: all, status: status, put: put,
    discard: discard, clearAll: clearAll, getMeta: getMeta, setMeta: setMeta
  };
})(self);
