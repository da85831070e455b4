"""/healthz and /readyz as a load balancer sees them: fast, plain, no redirect, no cookie, no rate limit, and
/readyz 503 with the failing check named whenever the instance should not get traffic."""
import ast
import logging
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, text

from callcenter.auth.access import ANYONE, policy_for
from callcenter.clock import utcnow
from callcenter.extensions import db
from callcenter.services.core import job_runs, schema_version

from .conftest import PG

ROOT = Path(__file__).resolve().parents[2]


def _statements(app):
    """A list that fills with every SQL statement the app's engine runs (the real engine, counted)."""
    seen = []
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


def test_healthz_answers_ok_without_the_database(app):
    plain = app.test_client()
    statements = _statements(app)
    response = plain.get("/healthz")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "ok"
    assert response.mimetype == "text/plain"
    assert "Set-Cookie" not in response.headers and "Location" not in response.headers
    assert statements == []


def test_healthz_when_the_database_is_gone(make_app):
    app = make_app(SQLALCHEMY_DATABASE_URI="postgresql://nobody@127.0.0.1:1/nothing")
    assert app.test_client().get("/healthz").status_code == 200


def test_the_probes_are_public_with_a_reason(app):
    for endpoint in ("ops.healthz", "ops.readyz"):
        access = policy_for(endpoint, app)
        assert access.by == ANYONE and len(access.why) > 20


LIMITED = """
from callcenter import create_app
app = create_app("config.TestConfig", SQLALCHEMY_DATABASE_URI="sqlite://", RATELIMIT_DEFAULT="3 per minute")
client = app.test_client()
print([client.get("/healthz").status_code for _ in range(10)])
print([client.get("/readyz").status_code for _ in range(10)])
print([client.get("/login").status_code for _ in range(5)])
"""


def test_the_probes_are_not_rate_limited():
    """A default limit on every route (in a process of its own: the limiter is one object per process) holds
    on an ordinary page and not on the probes."""
    done = subprocess.run([sys.executable, "-c", LIMITED], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    healthz, readyz, login = (ast.literal_eval(line) for line in done.stdout.split("\n")[:3])
    assert healthz == [200] * 10
    assert 429 not in readyz  # (503 here: an empty in-memory database is not migrated)
    assert 429 in login


def test_readyz_on_a_current_database(app, client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"status": "ready", "checks": {
        "database": "ok", "migrations": "current", "scheduler": "not required"}}
    assert "Set-Cookie" not in response.headers and "Location" not in response.headers


def test_readyz_needs_a_scheduler_that_checked_in_lately(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "READY_REQUIRES_SCHEDULER", True)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": "ok", "migrations": "current", "scheduler": "quiet"}

    job_runs.beat_scheduler(utcnow())
    assert client.get("/readyz").status_code == 200

    quiet_for = timedelta(seconds=3 * app.config["CATCH_UP_INTERVAL_SECONDS"] + 1)
    job_runs.beat_scheduler(utcnow() - timedelta(days=1), now=utcnow() - quiet_for)
    response = client.get("/readyz")
    assert response.status_code == 503 and response.get_json()["checks"]["scheduler"] == "quiet"


def test_readyz_logs_a_change_once_not_every_probe(client, caplog):
    with caplog.at_level(logging.DEBUG):
        for _ in range(5):
            assert client.get("/readyz").status_code == 200
    assert len([r for r in caplog.records if r.name.startswith("callcenter")]) <= 1


# --- migrations: upgraded for real, then behind, unknown and never migrated --------------------------------

def _migrate(app, *args):
    with app.app_context():  # (the command runs on the current app: this one, not the suite's)
        result = app.test_cli_runner().invoke(args=["db", *args])
    assert result.exit_code == 0, result.output
    return result


def test_readyz_after_flask_db_upgrade_then_behind(fresh_app):
    client = fresh_app.test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": "ok", "migrations": "missing", "scheduler": "not checked"}

    _migrate(fresh_app, "upgrade")
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()

    older = sorted(schema_version._scripts()[1] - schema_version.heads())[-1]
    _migrate(fresh_app, "stamp", older)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "not ready", "checks": {
        "database": "ok", "migrations": "behind", "scheduler": "not checked"}}

    with fresh_app.app_context(), db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_a_newer_release'"))
    assert client.get("/readyz").get_json()["checks"]["migrations"] == "unknown"


def test_the_head_is_read_from_the_migration_files():
    newest = sorted((schema_version.MIGRATIONS / "versions").glob("[0-9]*.py"))[-1]
    assert schema_version.heads() == {newest.stem.split("_")[0]}


# --- the database not answering ------------------------------------------------------------------------------

def test_readyz_when_the_database_refuses_connections(make_app):
    app = make_app(SQLALCHEMY_DATABASE_URI="postgresql://sampark_user:s3cret@127.0.0.1:1/prod")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": "unreachable", "migrations": "not checked",
                                             "scheduler": "not checked"}
    body = response.get_data(as_text=True)
    for secret in ("127.0.0.1", "sampark_user", "s3cret", "prod", "postgresql", "psycopg"):
        assert secret not in body


@pytest.mark.skipif(not PG, reason="statement_timeout is PostgreSQL's; SQLite has no server to be slow")
def test_readyz_gives_up_on_a_slow_database(app, client, monkeypatch):
    """A transaction holding alembic_version locked stands for a database too busy to answer: the probe
    stops at READY_DB_TIMEOUT_MS and says so, instead of hanging the worker."""
    monkeypatch.setitem(app.config, "READY_DB_TIMEOUT_MS", 300)
    holding, release = threading.Event(), threading.Event()

    def hold_the_lock():
        with app.app_context(), db.engine.begin() as conn:
            conn.execute(text("LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE"))
            holding.set()
            release.wait(10)

    locker = threading.Thread(target=hold_the_lock)
    locker.start()
    try:
        assert holding.wait(5)
        response = client.get("/readyz")
    finally:
        release.set()
        locker.join()
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"] == "ok"
    assert response.get_json()["checks"]["migrations"] == "error"
