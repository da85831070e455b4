"""Is this instance ready for traffic? What /readyz answers a load balancer.

Three checks, in order, each reported by a word (never an error's text: it may name hosts or users):
- database: it answers a SELECT 1 within READY_DB_TIMEOUT_MS;
- migrations: its alembic_version is this code's head (schema_version);
- scheduler: some scheduler process checked in within 3 × CATCH_UP_INTERVAL_SECONDS (job_runs), unless
  READY_REQUIRES_SCHEDULER is off (a deployment that watches its schedulers another way).
A check that cannot run because an earlier one failed says "not checked".
"""
import logging

from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ...extensions import db
from . import job_runs, schema_version
from .tx import is_postgres

log = logging.getLogger(__name__)
OK, NOT_CHECKED = "ok", "not checked"
_last = {"results": None}  # this process's last answer: a change is logged once, not every probe


def checks(now=None):
    """{"database": …, "migrations": …, "scheduler": …} and whether all passed."""
    results = {"database": NOT_CHECKED, "migrations": NOT_CHECKED, "scheduler": NOT_CHECKED}
    required = current_app.config["READY_REQUIRES_SCHEDULER"]
    error = None
    try:
        _limit_time()
        db.session.execute(text("SELECT 1"))
        results["database"] = OK
        results["migrations"] = schema_version.state(schema_version.database_revisions(db.session.connection()))
        if results["migrations"] == schema_version.CURRENT:
            results["scheduler"] = ("quiet" if job_runs.scheduler_quiet(now) else OK) if required else "not required"
    except SQLAlchemyError as exc:
        error = exc
        results[_first(results)] = "unreachable" if results["database"] == NOT_CHECKED else "error"
    finally:
        db.session.rollback()
    ready = (results["database"] == OK and results["migrations"] == schema_version.CURRENT
             and results["scheduler"] in (OK, "not required"))
    if results != _last["results"]:
        _last["results"] = results
        if ready:
            log.info("ready: %s", results)
        else:
            log.warning("not ready: %s", results, exc_info=error)
    return results, ready


def _first(results):
    return next((name for name, value in results.items() if value == NOT_CHECKED), "scheduler")


def _limit_time():
    """A slow database fails the check instead of holding the probe (the connection's own timeout is
    DB_CONNECT_TIMEOUT); SET LOCAL ends with this transaction."""
    if is_postgres():
        db.session.execute(text(f"SET LOCAL statement_timeout = {int(current_app.config['READY_DB_TIMEOUT_MS'])}"))
