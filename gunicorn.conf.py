"""gunicorn settings the app relies on, whatever the command line sets (gunicorn reads ./gunicorn.conf.py by
itself; elsewhere pass `-c /path/to/gunicorn.conf.py`). Workers, threads and the bind stay on the command line.

- The access log leaves out the load balancer's /healthz and /readyz (every few seconds, from every balancer).
- Prometheus' multiprocess mode, when PROMETHEUS_MULTIPROC_DIR is set (callcenter/ops/metrics.py): the
  directory is emptied when gunicorn starts (counts left by the last run would be added to this one's) and a
  worker that exits is marked dead.
"""
import os
from pathlib import Path

from gunicorn.glogging import Logger

PROBES = frozenset({"/healthz", "/readyz"})


class ProbesNotLogged(Logger):
    def access(self, resp, req, environ, request_time):
        if environ.get("PATH_INFO") not in PROBES:
            super().access(resp, req, environ, request_time)


logger_class = ProbesNotLogged


def on_starting(server):
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        for stale in Path(directory).glob("*.db"):
            stale.unlink()


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid)
