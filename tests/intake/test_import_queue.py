"""Large line lists are imported in the background: queued by the page, run by the import_queue job, with
progress on the batch page; the same file twice is one batch; a crashed run is taken again without
duplicating anyone; an upload over the size limit gets a 413 page that names the limit."""
import io
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, select

from callcenter.clock import utcnow
from callcenter.extensions import db
from callcenter.models import AuditLog, CallTask, ImportBatch, Patient
from callcenter.services.intake import batches, imports, queue, reading, storage, writing
from jobs import runner

from ..conftest import csrf_token
from ..factories import make_district, make_user, village
from .conftest import dmy, write_csv
from .test_import_views import batch_id, csv_bytes, good_file, upload


@pytest.fixture
def in_background(app, monkeypatch):
    """Every web upload goes to the queue (the threshold is a size: these test files are small)."""
    monkeypatch.setitem(app.config, "IMPORT_INLINE_MAX_BYTES", 0)


def count(model):
    return db.session.scalar(select(db.func.count()).select_from(model))


def five_rows(district):
    v = village(district).name
    return csv_bytes(["Name", "Age", "Sex", "Mobile", "SRF ID", "Date of Sample", "Village"], [
        [f"Person {i}", "40", "F", f"98260123{i:02d}", f"CG-{i}", dmy(), v] for i in range(5)])


def fresh(batch_or_id):
    return db.session.get(ImportBatch, getattr(batch_or_id, "id", batch_or_id), populate_existing=True)


def test_a_large_upload_is_queued_then_imported_by_the_job(client, login, district, in_background):
    login(make_user("nodal_officer", district))
    response = upload(client, good_file(district), dry_run=False)
    batch = fresh(batch_id(response))
    assert (batch.status, batch.dry_run, batch.attempts, batch.rows_expected) == ("queued", False, 0, 2)
    assert count(Patient) == 0
    page = client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "imported in the background" in html
    assert "Waiting to be imported" in html and "import-progress.js" in html and 'id="import-progress"' in html
    state = client.get(f"/intake/imports/{batch.id}/progress.json").get_json()
    assert state["status"] == "queued" and state["waiting"] and not state["stalled"]
    # Nobody picked it up for a while: the page says the scheduler may not be running.
    assert batches.progress(batch, now=batch.started_at + timedelta(minutes=10))["stalled"]

    ran, counts = runner.tick("import_queue")
    assert (ran, counts) == (1, {"completed": 1})
    batch = fresh(batch)
    assert (batch.status, batch.rows_total, batch.rows_added, batch.rows_rejected, batch.rows_done) == (
        "completed", 2, 1, 1, 2)
    assert batch.tasks_created == 1 == count(CallTask) and count(Patient) == 1
    state = client.get(f"/intake/imports/{batch.id}/progress.json").get_json()
    assert not state["waiting"] and state["summary"].startswith("Imported 2 rows: 1 added")
    html = client.get(f"/intake/imports/{batch.id}").get_data(as_text=True)
    assert "Imported 2 rows: 1 added" in html and "import-progress.js" not in html
    assert "Download the error report (1 rows)" in html
    assert not list(storage.upload_dir().iterdir())  # the upload is deleted once imported
    assert runner.tick("import_queue") == (0, {})  # nothing left


def test_a_background_import_finishes_after_it_was_last_seen_working(client, login, district, in_background):
    """finished_at is the end of the run, after every progress note (claimed_at), not the time it began."""
    login(make_user("nodal_officer", district))
    batch = fresh(batch_id(upload(client, five_rows(district), dry_run=False)))
    assert runner.tick("import_queue") == (1, {"completed": 1})
    batch = fresh(batch)
    assert batch.started_at <= batch.claimed_at <= batch.finished_at


def test_the_same_file_twice_is_recognised(client, login, district, in_background):
    login(make_user("nodal_officer", district))
    content = five_rows(district)
    first = upload(client, content, dry_run=False)
    again = upload(client, content, filename="copy of list.csv", dry_run=False)
    assert batch_id(first) == batch_id(again)
    assert "already waiting to be imported" in client.get(again.headers["Location"]).get_data(as_text=True)
    # A check of the same file is another request: its own batch.
    check = upload(client, content, dry_run=True)
    assert batch_id(check) != batch_id(first)
    assert count(ImportBatch) == 2
    assert queue.run_queue() == {"completed": 1, "dry_run": 1}
    assert count(Patient) == 5
    # Once imported, the same file again is imported again and changes nothing.
    later = upload(client, content, dry_run=False)
    assert batch_id(later) not in (batch_id(first), batch_id(check))
    html = client.get(later.headers["Location"]).get_data(as_text=True)
    assert f"This file was imported before: import #{batch_id(first)}" in html
    queue.run_queue()
    batch = fresh(batch_id(later))
    assert (batch.status, batch.rows_added, batch.rows_unchanged) == ("completed", 0, 5)
    assert count(Patient) == 5


def test_a_dry_run_in_the_background_then_the_real_import(client, login, district, in_background):
    login(make_user("nodal_officer", district))
    response = upload(client, good_file(district), dry_run=True)
    dry = fresh(batch_id(response))
    assert (dry.status, dry.dry_run) == ("queued", True)
    assert "check only: nothing is saved" in client.get(response.headers["Location"]).get_data(as_text=True)
    queue.run_queue()
    dry = fresh(dry)
    assert (dry.status, dry.rows_added, dry.rows_rejected) == ("dry_run", 1, 1) and count(Patient) == 0
    html = client.get(f"/intake/imports/{dry.id}").get_data(as_text=True)
    assert "Nothing was saved." in html and "Ramesh Verma" in html and "Import the valid rows now" in html
    response = client.post(f"/intake/imports/{dry.id}/run", data={"csrf_token": csrf_token(client, "/intake/import")})
    real = fresh(batch_id(response))
    assert (real.status, real.dry_run, real.mapping) == ("queued", False, dry.mapping)
    queue.run_queue()
    assert (fresh(real).status, fresh(real).rows_added) == ("completed", 1) and count(Patient) == 1


def test_a_run_that_fails_mid_way_leaves_nothing_and_is_tried_again(client, login, district, in_background,
                                                                     monkeypatch):
    login(make_user("nodal_officer", district))
    batch = fresh(batch_id(upload(client, five_rows(district), dry_run=False)))
    monkeypatch.setattr(reading, "CHUNK_ROWS", 2)
    real_write = writing.ChunkWriter.write
    writes = []

    def crash_on_the_second_chunk(writer, checked):
        writes.append(len(checked))
        if len(writes) == 2:
            raise RuntimeError("the worker fell over")
        return real_write(writer, checked)

    monkeypatch.setattr(writing.ChunkWriter, "write", crash_on_the_second_chunk)
    assert queue.run_queue(limit=1) == {"queued": 1}
    batch = fresh(batch)
    assert (batch.status, batch.attempts) == ("queued", 1)
    assert "attempt 1 of 3" in batch.message and "tried again" in batch.message
    assert count(Patient) == 0 and count(CallTask) == 0  # the first chunk was rolled back with the rest
    monkeypatch.setattr(writing.ChunkWriter, "write", real_write)
    assert queue.run_queue() == {"completed": 1}
    batch = fresh(batch)
    assert (batch.status, batch.attempts, batch.rows_added, batch.message) == ("completed", 2, 5, "")
    assert count(Patient) == 5 and count(CallTask) == 5


def test_a_worker_that_died_is_replaced_and_repeated_deaths_stop(client, login, district, in_background):
    login(make_user("nodal_officer", district))
    batch = fresh(batch_id(upload(client, five_rows(district), dry_run=False)))
    now = utcnow()
    # Seen half a minute ago: its worker may still be at it; nobody else takes it.
    batch.status, batch.claimed_at, batch.attempts = "running", now - timedelta(seconds=30), 1
    db.session.commit()
    assert queue.run_queue(now=now) == {}
    assert fresh(batch).status == "running"
    # Quiet for longer than IMPORT_WORKER_DEAD_SECONDS: its worker died; another takes it and finishes the job.
    assert queue.run_queue(now=now + timedelta(seconds=31)) == {"completed": 1}
    assert (fresh(batch).status, fresh(batch).attempts, count(Patient)) == ("completed", 2, 5)

    other = fresh(batch_id(upload(client, good_file(district), dry_run=False)))
    other.status, other.claimed_at, other.attempts = "running", now - timedelta(hours=1), 3
    db.session.commit()
    assert queue.run_queue(now=now) == {"failed": 1}
    other = fresh(other)
    assert other.status == "failed" and "stopped on an error 3 times" in other.message
    html = client.get(f"/intake/imports/{other.id}").get_data(as_text=True)
    assert "stopped on an error 3 times" in html and "Failed" in html


def test_an_overtaken_run_writes_nothing(client, login, district, in_background):
    login(make_user("nodal_officer", district))
    batch = fresh(batch_id(upload(client, five_rows(district), dry_run=False)))
    claim = queue.claim_next()
    assert claim == (batch.id, 1)
    # Meanwhile another worker took it over (it looked stale): this run must not record its result.
    batch.attempts = 2
    db.session.commit()
    assert queue.run_queued(claim) == "running"
    assert count(Patient) == 0 and fresh(batch).status == "running"


def test_a_file_refused_in_the_background_is_refused_on_its_batch(client, login, district, in_background, app,
                                                                  monkeypatch):
    login(make_user("nodal_officer", district))
    batch = fresh(batch_id(upload(client, five_rows(district), dry_run=False)))
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 3)
    assert queue.run_queue() == {"refused": 1}
    batch = fresh(batch)
    assert batch.status == "refused" and "more than 3 rows" in batch.message
    assert count(ImportBatch) == 1 and count(Patient) == 0
    assert "more than 3 rows" in client.get("/intake/imports/").get_data(as_text=True)


def test_an_upload_that_is_gone_fails_with_a_message(client, login, district, in_background):
    login(make_user("nodal_officer", district))
    batch = fresh(batch_id(upload(client, five_rows(district), dry_run=False)))
    for path in storage.upload_dir().iterdir():
        path.unlink()
    assert queue.run_queue() == {"failed": 1}
    assert "Upload it again" in fresh(batch).message


def test_unknown_columns_are_matched_before_the_file_is_queued(client, login, district, in_background):
    login(make_user("nodal_officer", district))
    content = csv_bytes(["Rogi ka naam", "Umar", "Sex", "Mobile", "Date of Sample"],
                        [["Sunita Sahu", "42", "F", "9826012345", dmy()]])
    response = upload(client, content, dry_run=False)
    assert "/columns" in response.headers["Location"] and count(ImportBatch) == 0
    token = csrf_token(client, response.headers["Location"])
    done = client.post(response.headers["Location"], data={"csrf_token": token, "col_0": "name", "col_1": "age",
                                                           "col_2": "sex", "col_3": "phone", "col_4": "positive_date"})
    batch = fresh(batch_id(done))
    assert batch.status == "queued" and batch.mapping["Umar"] == "age"
    queue.run_queue()
    assert (fresh(batch).status, fresh(batch).rows_added) == ("completed", 1)


def test_small_files_are_still_imported_at_once(client, login, district):
    login(make_user("nodal_officer", district))
    response = upload(client, good_file(district), dry_run=False)
    assert fresh(batch_id(response)).status == "completed" and count(Patient) == 1


def test_progress_is_reported_chunk_by_chunk(district, tmp_path, monkeypatch):
    monkeypatch.setattr(reading, "CHUNK_ROWS", 2)
    v = village(district).name
    path = write_csv(tmp_path / "list.csv", ["Name", "Age", "Sex", "Mobile", "Date of Sample", "Village"],
                     [[f"Person {i}", "40", "M", f"98260123{i:02d}", dmy(), v] for i in range(5)])
    seen = []
    imports.import_line_list(storage.local_file(path), make_user("nodal_officer", district), progress=seen.append)
    assert seen == [2, 4, 5]
    assert reading.estimate_rows(storage.local_file(path)) == 5


def test_progress_is_visible_while_the_import_runs(client, login, district, in_background, monkeypatch,
                                                   is_postgres):
    if not is_postgres:
        pytest.skip("SQLite has one writer at a time: progress is written beside the import only on PostgreSQL")
    login(make_user("nodal_officer", district))
    upload(client, five_rows(district), dry_run=False)
    monkeypatch.setattr(reading, "CHUNK_ROWS", 2)
    monkeypatch.setattr(queue, "PROGRESS_EVERY_SECONDS", 0)
    observer = create_engine(db.engine.url)  # another process's view of the batch, mid-run
    seen = []
    real_writer = queue.progress_writer

    def watched(batch_id):
        write = real_writer(batch_id)

        def both(rows):
            write(rows)
            with observer.connect() as connection:
                seen.append(connection.execute(select(ImportBatch.rows_done, ImportBatch.status)
                                               .where(ImportBatch.id == batch_id)).one())
        return both

    monkeypatch.setattr(queue, "progress_writer", watched)
    try:
        assert queue.run_queue() == {"completed": 1}
    finally:
        observer.dispose()
    assert [tuple(row) for row in seen] == [(2, "running"), (4, "running"), (5, "running")]
    assert count(Patient) == 5


def test_progress_json_is_scoped_to_the_district(client, login, district, in_background):
    login(make_user("nodal_officer", district))
    batch_id_ = batch_id(upload(client, five_rows(district), dry_run=False))
    client.post("/logout", data={"csrf_token": csrf_token(client, "/intake/import")})
    login(make_user("nodal_officer", make_district()))
    assert client.get(f"/intake/imports/{batch_id_}/progress.json").status_code == 404


def test_waiting_pages_are_not_logged_as_views_of_patients(client, login, district, in_background):
    login(make_user("nodal_officer", district))
    response = upload(client, five_rows(district), dry_run=False)
    for _ in range(3):
        client.get(response.headers["Location"])
    views = select(db.func.count()).select_from(AuditLog).where(AuditLog.action == "import.view")
    assert db.session.scalar(views) == 0
    queue.run_queue()
    client.get(response.headers["Location"])
    assert db.session.scalar(views) == 1


# --- the size limit ---

def test_an_upload_over_the_limit_gets_a_413_page_naming_the_limit(client, login, district, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 100 * 1024)
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 90 * 1024)
    officer = make_user("nodal_officer", district)
    login(officer)
    token = csrf_token(client, "/intake/import")
    response = client.post("/intake/import", data={"csrf_token": token, "dry_run": "y",
                                                   "file": (io.BytesIO(b"Name\n" + b"x" * (150 * 1024)), "big.csv")},
                           content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "The file is too large: files up to 0.1 MB can be uploaded." in html and "Split the line list" in html
    assert 'class="navbar' in html and "Back to your work" in html  # the app's own layout
    # Listed under All imports, refused, naming the limit; audited. (Its body was never read: no name, no hash.)
    refused = db.session.scalars(select(ImportBatch)).one()
    assert (refused.status, refused.filename, refused.file_hash, refused.user_id) == ("refused", "", "", officer.id)
    assert "larger than 0.1 MB, so it was stopped before it was read" in refused.message
    logged = db.session.scalars(select(AuditLog).where(AuditLog.action == "import.refused")).one()
    assert (logged.entity_id, logged.details["reason"]) == (refused.id, "too_big")
    listed = client.get("/intake/imports/").get_data(as_text=True)
    assert "(not read)" in listed and "larger than 0.1 MB, so it was stopped before it was read" in listed


def test_an_oversized_post_by_someone_who_may_not_import_is_not_recorded(client, login, district, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 10 * 1024)
    oversized = {"file": (io.BytesIO(b"x" * (20 * 1024)), "big.csv")}
    assert client.post("/intake/import", data=dict(oversized), content_type="multipart/form-data").status_code == 413
    login(make_user("volunteer", district))
    assert client.post("/intake/import", data={"file": (io.BytesIO(b"x" * (20 * 1024)), "big.csv")},
                       content_type="multipart/form-data").status_code == 413
    assert count(ImportBatch) == 0


def test_the_413_page_in_hindi_keeps_the_layout(client, login, district, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 10 * 1024)
    login(make_user("nodal_officer", district, language="hi"))
    token = csrf_token(client, "/intake/import")
    response = client.post("/intake/import", data={"csrf_token": token,
                                                   "file": (io.BytesIO(b"x" * (20 * 1024)), "big.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 413 and '<html lang="hi">' in response.get_data(as_text=True)
