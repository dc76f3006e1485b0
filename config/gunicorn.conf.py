"""gunicorn settings for production: `gunicorn -c config/gunicorn.conf.py` (see docs/operations.md).

Workers are processes, so each has its own memory; they share the catalog cache (the file
cache on one machine, Redis across machines) and its single-flight locks. Every value
can be set from the environment.
"""

from __future__ import annotations

import os

wsgi_app = "config.wsgi:application"
bind = os.environ.get("GUNICORN_BIND") or f"127.0.0.1:{os.environ.get('PORT', '8000')}"
# WEB_CONCURRENCY is the conventional name (Heroku, Render, and gunicorn itself).
workers = int(os.environ.get("WEB_CONCURRENCY") or (os.cpu_count() or 1) * 2 + 1)
threads = int(os.environ.get("GUNICORN_THREADS") or 1)
worker_class = "gthread" if threads > 1 else "sync"
# A cold fetch of a very large catalog can take a while; the API client has its own timeouts.
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 60)
graceful_timeout = 10
keepalive = 5
# Workers are not recycled by default: a new worker starts with an empty in-process memo.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS") or 0)
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
logger_class = "config.access_log.RedactingLogger"  # no feed token in the access log
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Behind a TLS-terminating proxy on the same machine (DJANGO_PRODUCTION trusts its header).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_worker_init(worker) -> None:
    """Each worker loads the catalog index before it takes its first request, then moves
    it out of the garbage collector's sight: a full collection would walk every object of
    a large index (a pause of most of a second at 100,000 models) and find nothing."""
    import gc

    from django.db import DatabaseError, connections

    from catalog.index import warm_up

    try:
        warm_up()
    except DatabaseError as error:  # not migrated yet: pages will say what is wrong
        worker.log.warning("catalog index not loaded at start: %s", type(error).__name__)
    finally:
        connections.close_all()  # requests open their own (in their threads with gthread)
    gc.collect()
    gc.freeze()
