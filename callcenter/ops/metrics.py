"""Prometheus metrics (prometheus_client), off unless METRICS_ENABLED.

Off, nothing is registered: no collector, no request hook, no route; the job hook (`timed`) and the database
events cost one dictionary look-up. On:
- GET /metrics answers callers from METRICS_ALLOW and callers with "Authorization: Bearer METRICS_TOKEN";
  a request that came through a reverse proxy is judged by the client address the proxy reports, so only
  when TRUST_PROXY_HOPS says how many proxies to believe (otherwise only the token opens it).
- Counted as they commit: calls handed to volunteers (the queue's "task.claim" audit rows) and call attempts
  (CallAttempt rows, by outcome). A rolled-back transaction counts nothing.
- Request time by endpoint (the route's name, never the path: no ids in labels) and status class.
- Job runs and passes by job and outcome, with their durations (jobs/runner.py calls `timed`).
- Read from the database at scrape time: the outbox by state, the age of its oldest due message, and the
  scheduler's last sign of life.
No label ever holds a patient, a phone number, a name or a user: only route names, job names and fixed words.

Several gunicorn workers: set PROMETHEUS_MULTIPROC_DIR (an empty directory of the web service's own) in the
environment before gunicorn starts; each worker writes its counts there and /metrics adds them up. The
project's gunicorn.conf.py empties it at start and tells prometheus_client when a worker exits. The scheduler
serves its own (`serve_scheduler`) and must not share that directory. See docs/DEPLOY.md.
"""
import hmac
import ipaddress
import logging
import os
import time

from flask import Response, abort, current_app, g, has_app_context, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import event, func
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ..auth.access import monitoring
from ..clock import utcnow
from ..extensions import db
from ..models import AuditLog, CallAttempt, OutboundMessage, OutboxStatus
from ..services.core import job_runs

log = logging.getLogger(__name__)
KEY = "sampark_metrics"
REQUEST_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
JOB_BUCKETS = (0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600)
OPEN_OUTBOX = (OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.UNKNOWN)
PENDING = "sampark_metrics_pending"  # Session.info: what this transaction will count when it commits


class Metrics:
    """One app's metrics, on a registry of its own (several apps in one process, as in the tests, do not mix)."""

    def __init__(self, app):
        self.registry = CollectorRegistry()
        self.allow = allowed_networks(app.config["METRICS_ALLOW"])
        self.claims = Counter("sampark_claims", "Calls handed to a volunteer from the queue",
                              registry=self.registry)
        self.attempts = Counter("sampark_call_attempts", "Call attempts recorded, by outcome", ["outcome"],
                                registry=self.registry)
        self.requests = Histogram("sampark_request_duration_seconds", "Time to answer a request, by route name "
                                  "and status class", ["endpoint", "status"], buckets=REQUEST_BUCKETS,
                                  registry=self.registry)
        self.jobs = Histogram("sampark_job_duration_seconds", "Scheduled job runs and passes: how long, by job and "
                              "outcome (its _count is the number of runs)", ["job", "status"], buckets=JOB_BUCKETS,
                              registry=self.registry)


def allowed_networks(text):
    """METRICS_ALLOW ("127.0.0.0/8,::1,10.0.0.5") as networks; a wrong entry stops the app at start."""
    try:
        return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise RuntimeError(f"METRICS_ALLOW: {exc}") from None


def current():
    """This app's Metrics, or None when metrics are off (or outside an app)."""
    return current_app.extensions.get(KEY) if has_app_context() else None


def init_app(app):
    if not app.config.get("METRICS_ENABLED"):
        return
    disable_created_metrics()  # no *_created series beside every counter and histogram: half the series, unused
    app.extensions[KEY] = Metrics(app)
    app.before_request_funcs.setdefault(None, []).insert(0, _start_timer)
    app.after_request(_observe_request)
    app.add_url_rule("/metrics", "metrics", metrics_view)
    if not event.contains(Session, "after_flush", _note_flushed):
        event.listen(Session, "after_flush", _note_flushed)
        event.listen(Session, "after_commit", _count_committed)
        event.listen(Session, "after_rollback", _forget)


# --- requests ---------------------------------------------------------------------------------------------

def _start_timer():
    g.metrics_started = time.perf_counter()


def _observe_request(response):
    started = g.pop("metrics_started", None)
    if started is not None:
        current_app.extensions[KEY].requests.labels(request.endpoint or "no route",
                                                    f"{response.status_code // 100}xx").observe(
            time.perf_counter() - started)
    return response


# --- claims and attempts, counted when their transaction commits -------------------------------------------

def _note_flushed(session, flush_context):
    if current() is None:
        return
    noted = [("attempt", o.outcome) for o in session.new if isinstance(o, CallAttempt)]
    noted += [("claim", None) for o in session.new if isinstance(o, AuditLog) and o.action == "task.claim"]
    if noted:
        session.info.setdefault(PENDING, []).extend(noted)


def _count_committed(session):
    noted, metrics = session.info.pop(PENDING, None), current()
    if not noted or metrics is None:
        return
    for kind, outcome in noted:
        if kind == "claim":
            metrics.claims.inc()
        else:
            metrics.attempts.labels(str(getattr(outcome, "value", outcome))).inc()


def _forget(session):
    session.info.pop(PENDING, None)


# --- jobs --------------------------------------------------------------------------------------------------

def timed(job, fn, *args, **kwargs):
    """fn(*args, **kwargs), its time observed under `job` as succeeded, failed (an exception) or stopped
    (Ctrl+C, SIGTERM); the exception goes on to the caller. jobs/runner.py runs every job through this."""
    metrics = current()
    if metrics is None:
        return fn(*args, **kwargs)
    started, status = time.perf_counter(), "stopped"
    try:
        result = fn(*args, **kwargs)
        status = "succeeded"
        return result
    except Exception:
        status = "failed"
        raise
    finally:
        metrics.jobs.labels(job, status).observe(time.perf_counter() - started)


def serve_scheduler(app):
    """`flask scheduler`'s own metrics (its jobs) on METRICS_SCHEDULER_ADDR:METRICS_SCHEDULER_PORT, from a
    thread; returns the server, or None when metrics are off or the port is 0 or taken."""
    metrics = app.extensions.get(KEY)
    port = app.config["METRICS_SCHEDULER_PORT"]
    if metrics is None or not port:
        return None
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        log.warning("PROMETHEUS_MULTIPROC_DIR is set for the scheduler: its counts would also be added to the "
                    "web's /metrics if that directory is the web's; give the scheduler none (docs/DEPLOY.md)")
    from prometheus_client import start_http_server
    addr = app.config["METRICS_SCHEDULER_ADDR"]
    try:
        server, _thread = start_http_server(port, addr=addr, registry=metrics.registry)
    except OSError as exc:  # another scheduler on this machine has the port: run without metrics, say so
        log.warning("scheduler metrics not served on %s:%s: %s", addr, port, exc)
        return None
    log.info("scheduler metrics on http://%s:%s/metrics", addr, server.server_port)
    return server


# --- /metrics ----------------------------------------------------------------------------------------------

@monitoring("Prometheus, only when METRICS_ENABLED: from METRICS_ALLOW addresses or with METRICS_TOKEN")
def metrics_view():
    if not caller_allowed():
        abort(403)
    metrics = current()
    collectors = [DatabaseCollector()]
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        every_worker = CollectorRegistry()
        multiprocess.MultiProcessCollector(every_worker)
        collectors.append(every_worker)
    else:
        collectors.append(metrics.registry)
    return Response(generate_latest(_Together(collectors)), mimetype=CONTENT_TYPE_LATEST)


def caller_allowed():
    token = current_app.config["METRICS_TOKEN"]
    offered = request.headers.get("Authorization", "")
    if token and offered.startswith("Bearer ") and hmac.compare_digest(offered[7:].encode(), token.encode()):
        return True
    if "X-Forwarded-For" in request.headers and not current_app.config["TRUST_PROXY_HOPS"]:
        return False  # through a proxy this app was not told to believe: the address is the proxy's
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    address = getattr(address, "ipv4_mapped", None) or address
    return any(address in network for network in current().allow)


class _Together:
    def __init__(self, collectors):
        self.collectors = collectors

    def collect(self):
        for collector in self.collectors:
            yield from collector.collect()


class DatabaseCollector:
    """Read at scrape time: the outbox by state (index ix_outbound_message_due), the oldest due message's age,
    and the scheduler's heartbeat. Every instance reports the same database: aggregate with max(), not sum()."""

    def collect(self):
        now = utcnow()
        try:
            depth = dict(db.session.execute(
                db.select(OutboundMessage.status, func.count()).where(OutboundMessage.status.in_(OPEN_OUTBOX))
                .group_by(OutboundMessage.status)).all())
            oldest = db.session.scalar(db.select(func.min(OutboundMessage.next_attempt_at)).where(
                OutboundMessage.status == OutboxStatus.QUEUED, OutboundMessage.next_attempt_at <= now))
            seen = job_runs.scheduler_heartbeat()
        except SQLAlchemyError:  # the process's own counts are still worth having
            log.warning("metrics: the database did not answer", exc_info=True)
            yield GaugeMetricFamily("sampark_database_up", "Whether the database answered this scrape", value=0)
            return
        finally:
            db.session.rollback()
        yield GaugeMetricFamily("sampark_database_up", "Whether the database answered this scrape", value=1)
        family = GaugeMetricFamily("sampark_outbox_messages", "Outbox messages not yet settled, by state",
                                   labels=["status"])
        for status in OPEN_OUTBOX:
            family.add_metric([status.value], depth.get(status.value, 0))
        yield family
        yield GaugeMetricFamily("sampark_outbox_oldest_due_seconds", "How long the oldest due, unsent message has "
                                "waited (0: none waiting)", value=(now - oldest).total_seconds() if oldest else 0)
        yield GaugeMetricFamily("sampark_scheduler_heartbeat_age_seconds", "Since a scheduler process last checked "
                                "in (-1: none ever did)", value=(now - seen).total_seconds() if seen else -1)
