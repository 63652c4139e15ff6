"""gunicorn configuration for lawtracker app servers, read from the environment.

Run from the repository root (``gunicorn -c deploy/gunicorn.conf.py``); the WSGI application is
``lawtracker.wsgi:application``. Each app server is stateless — sessions, history, axes lockouts
all live in PostgreSQL, the optional cache in Redis — so any number of them can sit behind one
load balancer.

Variables (all optional):

- ``GUNICORN_BIND``: address to listen on, ``host:port`` or ``unix:/path``; default
  ``127.0.0.1:${PORT:-8000}`` (loopback: the load balancer or a local nginx proxies to it).
- ``WEB_CONCURRENCY``: worker processes; default ``2 * CPU cores + 1`` (gunicorn's advice for
  sync workers), at most 12 so that a large machine does not exhaust PostgreSQL's
  ``max_connections`` (each worker thread holds at most one connection).
- ``GUNICORN_THREADS``: threads per worker; default 1 (sync workers). Above 1 gunicorn uses its
  ``gthread`` worker: more requests in flight per process, one database connection per thread.
- ``GUNICORN_TIMEOUT``: seconds a worker may spend on one request before it is killed and
  replaced; default 30. Keep it above the slowest CSV export of the whole table.
- ``GUNICORN_GRACEFUL_TIMEOUT``: seconds a worker gets to finish its requests on reload/stop;
  default 30.
- ``GUNICORN_KEEPALIVE``: seconds an idle keep-alive connection from the balancer stays open;
  default 5 (longer than nginx's default ``keepalive_timeout`` towards upstreams is not needed).
- ``GUNICORN_MAX_REQUESTS``: recycle a worker after this many requests (guards against slow
  leaks); default 2000, with a random jitter of up to 10 % so workers do not recycle together;
  0 turns it off.
- ``GUNICORN_ACCESS_LOG``: ``-`` (stdout, the default: journald or the container collects it),
  a file path, or ``off``. ``GUNICORN_ERROR_LOG``: ``-`` (stderr) or a path.
  ``GUNICORN_LOG_LEVEL``: default ``info``.
- ``FORWARDED_ALLOW_IPS``: addresses whose ``X-Forwarded-*`` headers gunicorn trusts (the load
  balancer's); default ``127.0.0.1``. Django itself trusts ``X-Forwarded-Proto`` only with
  ``SECURE_PROXY_SSL_HEADER=1`` (see deploy/README.md).
"""

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


wsgi_app = "lawtracker.wsgi:application"
# The repository root: deploy/ lives one level below it.
chdir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

bind = [os.environ.get("GUNICORN_BIND") or f"127.0.0.1:{os.environ.get('PORT', '8000')}"]
workers = _int("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 12))
threads = _int("GUNICORN_THREADS", 1)
worker_class = "gthread" if threads > 1 else "sync"
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = max_requests // 10

# The heartbeat file on a RAM disk where there is one: a worker blocked on a slow disk
# otherwise looks dead to the arbiter and is killed.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"

_access = os.environ.get("GUNICORN_ACCESS_LOG", "-")
accesslog = None if _access.lower() in {"", "off", "none"} else _access
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Request time in microseconds (%(D)s) last, so that slow requests can be found in the log.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s "%(a)s" %(D)s'

forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
proc_name = "lawtracker"

# A request line longer than this is refused by gunicorn itself with a 400 before Django sees
# it. 8190 (gunicorn's maximum short of "unlimited") leaves room for a comparison permalink
# naming a few hundred jurisdictions; the default 4094 would not.
limit_request_line = _int("GUNICORN_LIMIT_REQUEST_LINE", 8190)
