"""Prometheus metrics: nothing at all when off; when on, only for allowed callers, counting what committed,
with bounded labels and no patient's details."""
import re
import socket
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from callcenter.auth.access import MONITOR, policy_for
from callcenter.clock import utcnow
from callcenter.extensions import db
from callcenter.ops import metrics
from callcenter.services.calls import calls, queue
from callcenter.services.core import audit, job_runs
from callcenter.services.outbox import enqueue
from jobs import runner

from .. import factories

TOKEN = "a-long-random-scrape-token-for-tests"


def samples(text):
    """{(name, frozenset(labels.items())): value} from an exposition."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(text, name, **labels):
    return samples(text).get((name, frozenset(labels.items())), 0)


@pytest.fixture
def enabled(app, make_app):
    """An app with metrics on, on the suite's database."""
    return make_app(SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"], METRICS_ENABLED=True,
                    METRICS_TOKEN=TOKEN)


def scrape(app, **kwargs):
    response = app.test_client().get("/metrics", **kwargs)
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/plain"
    return response.get_data(as_text=True)


# --- off -----------------------------------------------------------------------------------------------------

def test_off_means_nothing_registered(app, client):
    assert metrics.KEY not in app.extensions
    assert "metrics" not in app.view_functions
    assert client.get("/metrics").status_code == 404
    hooks = [f for funcs in app.before_request_funcs.values() for f in funcs]
    hooks += [f for funcs in app.after_request_funcs.values() for f in funcs]
    assert not [f for f in hooks if f.__module__ == metrics.__name__]
    # the job hook is a flag check: the job runs and is recorded as before
    assert runner.run("daily_figures", trigger="manual").status == "succeeded"


# --- who may scrape ------------------------------------------------------------------------------------------

def test_declared_for_monitoring(enabled):
    access = policy_for("metrics", enabled)
    assert access.by == MONITOR and "METRICS_ALLOW" in access.why


def test_only_allowed_addresses_or_the_token(enabled, make_app):
    client = enabled.test_client()
    assert client.get("/metrics").status_code == 200  # the test client asks from 127.0.0.1
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    outsider = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/metrics", environ_base=outsider).status_code == 403
    assert client.get("/metrics", environ_base=outsider,
                      headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.get("/metrics", environ_base=outsider,
                      headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    # through a proxy the app was not told about, the address seen is the proxy's: refused without the token
    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    assert client.get("/metrics", headers=forwarded).status_code == 403
    assert client.get("/metrics", headers={**forwarded, "Authorization": f"Bearer {TOKEN}"}).status_code == 200

    behind_proxy = make_app(SQLALCHEMY_DATABASE_URI=enabled.config["SQLALCHEMY_DATABASE_URI"], METRICS_ENABLED=True,
                            TRUST_PROXY_HOPS=1, METRICS_ALLOW="10.0.0.0/8")
    proxied = behind_proxy.test_client()
    assert proxied.get("/metrics", headers=forwarded).status_code == 403
    assert proxied.get("/metrics", headers={"X-Forwarded-For": "10.1.2.3"}).status_code == 200
    assert proxied.get("/metrics").status_code == 403  # 127.0.0.1 is not in this METRICS_ALLOW


def test_a_wrong_allow_list_stops_the_app(make_app):
    with pytest.raises(RuntimeError, match="METRICS_ALLOW"):
        make_app(SQLALCHEMY_DATABASE_URI="sqlite://", METRICS_ENABLED=True, METRICS_ALLOW="127.0.0.1/8,localhost")


# --- what is counted ------------------------------------------------------------------------------------------

def test_claims_and_attempts_counted_when_committed(enabled):
    with enabled.app_context():
        district = factories.make_district()
        volunteer = factories.make_user("volunteer", district)
        patients = [factories.make_patient(district, name=f"Kamla Devi {i}") for i in range(3)]
        for patient in patients:
            factories.make_task(patient)
        first = queue.claim_next_task(volunteer)
        calls.log_attempt(first.id, volunteer, {"outcome": "no_answer"}, "metrics-1")
        second = queue.claim_next_task(volunteer)
        calls.log_attempt(second.id, volunteer, {"outcome": "connected", "spo2": 97}, "metrics-2")
        calls.log_attempt(second.id, volunteer, {"outcome": "connected", "spo2": 97}, "metrics-2")  # sent twice
        # a claim written and rolled back is not a claim
        audit.record(volunteer, "task.claim", "call_task", first.id, district.id)
        db.session.flush()
        db.session.rollback()
        phones, username = [p.phone for p in patients], volunteer.username
    text = scrape(enabled)
    assert value(text, "sampark_claims_total") == 2
    assert value(text, "sampark_call_attempts_total", outcome="no_answer") == 1
    assert value(text, "sampark_call_attempts_total", outcome="connected") == 1
    for secret in [*phones, *(p[-10:] for p in phones), "Kamla", username]:
        assert secret not in text


def test_request_time_by_route_name_not_path(enabled):
    client = enabled.test_client()
    for _ in range(3):
        client.get("/healthz")
    client.get("/patients/987654")      # a real route with an id: labelled by its name
    client.get("/no/such/page/424242")  # no route at all
    text = scrape(enabled)
    assert value(text, "sampark_request_duration_seconds_count", endpoint="ops.healthz", status="2xx") == 3
    assert value(text, "sampark_request_duration_seconds_count", endpoint="records.record", status="3xx") == 1
    assert value(text, "sampark_request_duration_seconds_count", endpoint="no route", status="4xx") == 1
    assert "987654" not in text and "424242" not in text
    endpoints = {dict(labels).get("endpoint") for (name, labels) in samples(text) if "request_duration" in name}
    assert endpoints <= set(enabled.view_functions) | {"no route"}


def test_job_runs_and_passes_by_job_and_outcome(enabled):
    with enabled.app_context():
        assert runner.run("daily_figures", trigger="manual").status == "succeeded"
        assert runner.tick("escalation_deadlines") is not None

        def broken(now):
            raise RuntimeError("the provider is down")

        with pytest.raises(RuntimeError):
            metrics.timed("outbox_sender", broken, utcnow())

        def interrupted():
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            metrics.timed("daily_call_list", interrupted)
    text = scrape(enabled)
    count = "sampark_job_duration_seconds_count"
    assert value(text, count, job="daily_figures", status="succeeded") == 1
    assert value(text, count, job="escalation_deadlines", status="succeeded") == 1
    assert value(text, count, job="outbox_sender", status="failed") == 1
    assert value(text, count, job="daily_call_list", status="stopped") == 1
    assert value(text, "sampark_job_duration_seconds_sum", job="daily_figures", status="succeeded") > 0


def test_outbox_and_scheduler_read_at_scrape_time(enabled):
    text = scrape(enabled)
    assert value(text, "sampark_database_up") == 1
    assert value(text, "sampark_outbox_messages", status="queued") == 0
    assert value(text, "sampark_outbox_oldest_due_seconds") == 0
    assert value(text, "sampark_scheduler_heartbeat_age_seconds") == -1
    now = utcnow()
    with enabled.app_context():
        for i in range(4):
            enqueue.enqueue_sms(f"metrics-{i}", "+919826000001", "checkin_link", "en", now=now - timedelta(minutes=10),
                                token="x")
        enqueue.enqueue_sms("metrics-later", "+919826000001", "checkin_link", "en", now=now,
                            send_at=now + timedelta(hours=1), token="x")
        db.session.commit()
        job_runs.beat_scheduler(now, now=now - timedelta(seconds=30))
    text = scrape(enabled)
    assert value(text, "sampark_outbox_messages", status="queued") == 5
    assert 600 <= value(text, "sampark_outbox_oldest_due_seconds") < 700
    assert 30 <= value(text, "sampark_scheduler_heartbeat_age_seconds") < 90
    assert "9826000001" not in text


def test_a_database_that_does_not_answer_still_gives_the_process_counts(make_app):
    down = make_app(SQLALCHEMY_DATABASE_URI="postgresql://nobody@127.0.0.1:1/nothing", METRICS_ENABLED=True)
    down.test_client().get("/healthz")
    text = scrape(down)
    assert value(text, "sampark_database_up") == 0
    assert value(text, "sampark_request_duration_seconds_count", endpoint="ops.healthz", status="2xx") == 1


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_scheduler_serves_its_jobs_metrics(enabled, make_app):
    scheduler_app = make_app(SQLALCHEMY_DATABASE_URI=enabled.config["SQLALCHEMY_DATABASE_URI"], METRICS_ENABLED=True,
                             METRICS_SCHEDULER_PORT=_free_port())
    server = metrics.serve_scheduler(scheduler_app)
    try:
        with scheduler_app.app_context():
            runner.tick("escalation_deadlines")
        port = server.server_port
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            text = answer.read().decode()
        assert value(text, "sampark_job_duration_seconds_count", job="escalation_deadlines", status="succeeded") == 1
        # a second scheduler on the same machine cannot have the port: it runs on, without metrics
        assert metrics.serve_scheduler(scheduler_app) is None
    finally:
        server.shutdown()
        server.server_close()
    assert metrics.serve_scheduler(make_app(SQLALCHEMY_DATABASE_URI="sqlite://")) is None  # metrics off


def test_metric_names_are_the_documented_ones(enabled):
    text = scrape(enabled)
    names = set(re.findall(r"^# TYPE (sampark_\w+)", text, re.M))
    assert len(names) == 8
    deploy = (Path(__file__).resolve().parents[2] / "docs" / "DEPLOY.md").read_text(encoding="utf-8")
    assert [name for name in sorted(names) if name not in deploy] == []
