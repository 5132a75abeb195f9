"""gunicorn settings for GeoCRM behind nginx (docs/deploy/nginx.conf).

    gunicorn -c docs/deploy/gunicorn.conf.py geocrm.wsgi:app

(``geocrm.wsgi`` trusts nginx's X-Forwarded-For for the client's address: sign-in throttling
and rate limits count clients, not the proxy.)

nginx buffers every request body before it calls us (``proxy_request_buffering on``) and
every answer before the client reads it (``proxy_buffering on``), so a slow phone on a
cell network never holds a gunicorn thread: a thread only ever waits for the database and
Python. That is what the timeouts here are sized for, and why they sit inside nginx's:

* ``timeout`` (60 s) is the longest a request may run before its worker is restarted: the
  slowest synchronous pages (a territory file's preview, a big CSV export) finish well
  inside it, and everything longer runs as a background job. nginx's
  ``proxy_read_timeout`` (75 s) is longer, so nginx never gives up on a request gunicorn
  would still finish (the client would see a 504 for work that then happens anyway).
* ``keepalive`` (75 s) outlives nginx's upstream ``keepalive_timeout`` (60 s), so nginx
  always closes an idle upstream connection first and never sends a request on one that
  gunicorn is closing (a spurious 502).
* ``gthread`` workers: threads share a process's caches (the map's points, the region's
  road graph), and a thread waiting on PostgreSQL does not block the others.

Environment overrides, for one file across machines: ``GEOCRM_BIND``, ``WEB_CONCURRENCY``
(workers), ``GEOCRM_THREADS``. tests/test_deploy_docs.py checks this file against gunicorn's
own settings and against nginx.conf.
"""

import multiprocessing
import os

bind = os.environ.get("GEOCRM_BIND", "127.0.0.1:8000")  # nginx's upstream; never public
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count(), 8)))
threads = int(os.environ.get("GEOCRM_THREADS", "4"))

timeout = 60  # < nginx proxy_read_timeout 75s
graceful_timeout = 30  # a restart lets running requests finish
keepalive = 75  # > nginx upstream keepalive_timeout 60s

# A worker is replaced after this many requests (jittered so they do not all restart
# together): bounds the memory a long-lived process can collect.
max_requests = 5000
max_requests_jitter = 500

# Only nginx on this host may say which scheme the client used (X-Forwarded-Proto):
# url_for(_external=True) then builds https links behind TLS.
forwarded_allow_ips = "127.0.0.1"

accesslog = "-"
errorlog = "-"
