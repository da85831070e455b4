"""A background import whose worker died: seen within IMPORT_WORKER_DEAD_SECONDS (its heartbeat stops), said on
its page and in the list, restarted by an officer (or taken over by the queue), never answered "already waiting".

The worker here is real: a child process claims the batch (queue.claim_next) and imports it (queue.run_queued)
on the test's database, and is killed with SIGKILL mid-way. (Its chunks are slowed down, standing for a file
large enough to take minutes.)
"""
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from callcenter.clock import utcnow
from callcenter.extensions import db
from callcenter.models import AuditLog, CallTask, ImportBatch, Patient
from callcenter.services.intake import batches, heartbeat, queue

from ..conftest import csrf_token
from ..factories import make_district, make_user, village
from .conftest import dmy
from .test_import_views import batch_id, csv_bytes, upload

ROOT = Path(__file__).resolve().parents[2]
DEAD_SECONDS = 2
WORKER = """
import time
from callcenter import create_app
from callcenter.services.intake import queue, reading, writing
reading.CHUNK_ROWS = 2
real = writing.ChunkWriter.write
def slow(writer, checked):
    real(writer, checked)
    print("chunk", flush=True)
    time.sleep(1)
writing.ChunkWriter.write = slow
app = create_app("config.TestConfig")
with app.app_context():
    claim = queue.claim_next()
    print("claimed", claim, flush=True)
    print(queue.run_queued(claim), flush=True)
"""


@pytest.fixture
def in_background(app, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_INLINE_MAX_BYTES", 0)
    monkeypatch.setitem(app.config, "IMPORT_WORKER_DEAD_SECONDS", DEAD_SECONDS)


def ten_rows(district):
    v = village(district).name
    return csv_bytes(["Name", "Age", "Sex", "Mobile", "SRF ID", "Date of Sample", "Village"], [
        [f"Person {i}", "40", "F", f"98260123{i:02d}", f"CG-{i}", dmy(), v] for i in range(10)])


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def fresh(batch_id_):
    return db.session.get(ImportBatch, batch_id_, populate_existing=True)


def start_worker(app):
    env = dict(os.environ, PYTHONPATH=str(ROOT), SAMPARK_TEST_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               IMPORT_UPLOAD_DIR=app.config["IMPORT_UPLOAD_DIR"], IMPORT_WORKER_DEAD_SECONDS=str(DEAD_SECONDS))
    worker = subprocess.Popen([sys.executable, "-c", WORKER], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    claimed = worker.stdout.readline()
    assert claimed.startswith("claimed ("), worker.stderr.read()
    assert worker.stdout.readline().strip() == "chunk", worker.stderr.read()  # mid-way: one chunk written
    return worker


def restart(client, batch_id_):
    return client.post(f"/intake/imports/{batch_id_}/restart",
                       data={"csrf_token": csrf_token(client, f"/intake/imports/{batch_id_}")}, follow_redirects=True)


def restarts():
    return count(AuditLog, AuditLog.action == "import.restarted")


def test_a_killed_worker_is_seen_said_restarted_and_nothing_is_doubled(app, client, login, district,
                                                                        in_background):
    login(make_user("nodal_officer", district))
    content = ten_rows(district)
    batch = batch_id(upload(client, content, dry_run=False))
    worker = start_worker(app)
    try:
        # Alive for longer than the deadline: its heartbeat says so, whatever it is doing.
        time.sleep(DEAD_SECONDS + 1)
        assert worker.poll() is None
        assert not heartbeat.stopped(fresh(batch))
        state = client.get(f"/intake/imports/{batch}/progress.json").get_json()
        assert (state["status"], state["stopped"]) == ("running", False)
        html = restart(client, batch).get_data(as_text=True)
        assert "This import is still running" in html and restarts() == 0
        assert queue.claim_next() is None  # nobody takes a living run over
        assert "already waiting to be imported" in client.get(
            upload(client, content, dry_run=False).headers["Location"]).get_data(as_text=True)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.communicate(timeout=30)
    assert worker.returncode == -signal.SIGKILL
    time.sleep(DEAD_SECONDS + 0.5)

    assert fresh(batch).status == "running" and count(Patient) == 0  # its transaction died with it
    state = client.get(f"/intake/imports/{batch}/progress.json").get_json()
    assert state["stopped"] and state["can_restart"] and state["waiting"]
    assert state["summary"].startswith("The import stopped: the worker importing it is no longer running")
    html = client.get(f"/intake/imports/{batch}").get_data(as_text=True)
    assert "Nothing from this file was saved" in html and "Restart the import" in html
    listed = client.get("/intake/imports/").get_data(as_text=True)
    assert "Stopped" in listed and "no longer running" in listed
    # The same file uploaded again points to the stopped import, not "already waiting".
    again = upload(client, content, dry_run=False)
    assert batch_id(again) == batch and count(ImportBatch) == 1
    html = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "already waiting" not in html and "import stopped before it ended" in html and "Restart the import" in html

    html = restart(client, batch).get_data(as_text=True)
    assert "The import waits to be started again" in html
    assert (fresh(batch).status, fresh(batch).claimed_at, restarts()) == ("queued", None, 1)
    html = restart(client, batch).get_data(as_text=True)  # the form sent twice
    assert "already restarted" in html and restarts() == 1 and fresh(batch).status == "queued"

    assert queue.run_queue() == {"completed": 1}
    done = fresh(batch)
    assert (done.status, done.attempts, done.rows_added) == ("completed", 2, 10)
    assert count(Patient) == 10 and count(CallTask) == 10
    assert not list(Path(app.config["IMPORT_UPLOAD_DIR"]).glob("*.beat"))


def test_the_queue_takes_a_dead_run_over_within_a_minute(app, client, login, district, in_background):
    """Without an officer: the worker claimed the batch (the real claim) and stopped beating."""
    app.config["IMPORT_WORKER_DEAD_SECONDS"] = 60
    login(make_user("nodal_officer", district))
    batch = batch_id(upload(client, ten_rows(district), dry_run=False))
    claimed_at = utcnow()
    assert queue.claim_next(now=claimed_at) == (batch, 1)  # …and its worker died
    assert queue.run_queue(now=claimed_at + timedelta(seconds=50)) == {}
    assert not batches.progress(fresh(batch), now=claimed_at + timedelta(seconds=50))["stopped"]
    assert batches.progress(fresh(batch), now=claimed_at + timedelta(seconds=61))["stopped"]
    assert queue.run_queue(now=claimed_at + timedelta(seconds=61)) == {"completed": 1}
    assert (fresh(batch).status, fresh(batch).attempts, count(Patient)) == ("completed", 2, 10)


def test_a_file_that_kills_its_worker_every_time_stops_being_tried(app, client, login, district, in_background):
    login(make_user("nodal_officer", district))
    batch = batch_id(upload(client, ten_rows(district), dry_run=False))
    now = utcnow()
    for attempt in (1, 2, 3):  # claimed, then its worker died, each time
        now += timedelta(seconds=DEAD_SECONDS + 1)
        assert queue.claim_next(now=now) == (batch, attempt)
    later = now + timedelta(seconds=DEAD_SECONDS + 1)
    state = batches.progress(fresh(batch), now=later)
    assert state["stopped"] and not state["can_restart"]
    with pytest.raises(Exception, match="stopped its worker 3 times"):
        queue.restart(make_user("nodal_officer", district), batch, now=later)
    assert queue.run_queue(now=later) == {"failed": 1}
    assert "stopped on an error 3 times" in fresh(batch).message and count(Patient) == 0


def test_restarting_is_for_importers_of_the_district_with_a_token(app, client, login, district, in_background):
    login(make_user("nodal_officer", district))
    batch = batch_id(upload(client, ten_rows(district), dry_run=False))
    assert queue.claim_next(now=utcnow() - timedelta(seconds=DEAD_SECONDS + 1)) == (batch, 1)
    assert heartbeat.stopped(fresh(batch))
    assert client.post(f"/intake/imports/{batch}/restart").status_code == 400  # no CSRF token
    client.post("/logout", data={"csrf_token": csrf_token(client, "/intake/import")})
    login(make_user("nodal_officer", make_district()))
    assert client.post(f"/intake/imports/{batch}/restart",
                       data={"csrf_token": csrf_token(client, "/intake/import")}).status_code == 404
    client.post("/logout", data={"csrf_token": csrf_token(client, "/intake/import")})
    login(make_user("volunteer", district))
    assert client.post(f"/intake/imports/{batch}/restart",
                       data={"csrf_token": csrf_token(client, "/queue/")}).status_code == 403
    assert (fresh(batch).status, restarts()) == ("running", 0)
