"""The audit log's hash chain: every row chained at commit, `flask audit verify` catches an edited or deleted
row, and on PostgreSQL the trigger refuses UPDATE and DELETE while concurrent writers keep one chain."""
from datetime import timedelta

import pytest
from sqlalchemy import event, insert, text
from sqlalchemy.exc import DBAPIError

from callcenter.clock import utcnow
from callcenter.extensions import db
from callcenter.models import AuditLog, AuditSubject
from callcenter.rules.audit_chain import GENESIS, row_hash
from callcenter.services.core import audit
from callcenter.services.core.audit_verify import verify

from ..helpers import run_in_threads


def _rows():
    return db.session.scalars(db.select(AuditLog).order_by(AuditLog.seq)).all()


def _write(n, **details):
    for i in range(n):
        audit.record(None, "test.action", "patient", i + 1, 7, n=i, **details)
    db.session.commit()


def _behind_the_apps_back(sql, **params):
    """What someone with database access would do: on PostgreSQL, as the superuser, with the trigger off."""
    with db.engine.begin() as conn:
        pg = conn.dialect.name == "postgresql"
        if pg:
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        conn.execute(text(sql), params)
        if pg:
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))


def test_rows_are_chained_when_their_transaction_commits():
    _write(2, purpose="record")
    _write(1)
    rows = _rows()
    assert [r.seq for r in rows] == [1, 2, 3]
    previous = GENESIS
    for r in rows:
        content = {"id": r.id, "at": r.at, "user_id": r.user_id, "action": r.action, "entity": r.entity,
                   "entity_id": r.entity_id, "district_id": r.district_id, "details": r.details}
        assert r.hash == row_hash(previous, r.seq, content)
        previous = r.hash
    verdict = verify()
    assert verdict.ok and verdict.checked == 3 and verdict.head_seq == 3 and verdict.head_hash == rows[-1].hash


def test_rows_inserted_many_at_once_are_chained_too():
    """The deadline pass inserts its audit rows with one INSERT (services/desks/deadlines.py), not record()."""
    now = utcnow()
    db.session.execute(insert(AuditLog), [{"at": now, "user_id": None, "action": "escalation.realert",
                                           "entity": "escalation", "entity_id": i, "district_id": 1,
                                           "details": {"alert": i}} for i in range(1, 301)])
    audit.record(None, "test.action", "patient", 1, 1)
    db.session.commit()
    assert db.session.scalar(db.select(db.func.count()).where(AuditLog.seq.is_(None))) == 0
    assert verify().checked == 301


def test_a_rolled_back_row_leaves_no_gap():
    _write(1)
    audit.record(None, "test.rolled_back", "patient", 9, 7)
    db.session.flush()
    db.session.rollback()
    _write(1)
    assert [r.seq for r in _rows()] == [1, 2]
    assert verify().ok


def test_rows_serialised_at_flush_hash_as_the_database_gives_them_back():
    """The commit hashes the rows this transaction flushed from the values it sent (not read back): details of
    every JSON shape (Devanagari, integer keys, floats, nesting, none at all) must hash as verify reads them."""
    now = utcnow()
    audit.record(None, "test.action", "patient", 1, 7, name="सुनीता साहू", spo2=93.5, counts={1: 2, "b": [1, 2.0]},
                 nested={"a": {"b": None, "c": True}}, empty=[], now=now.replace(microsecond=123456))
    db.session.add(AuditLog(at=now, action="test.bare", entity="patient"))  # details from the column default
    db.session.commit()
    audit.record(None, "test.action", "patient", 2, 7, tuple_=(1, "x"))
    db.session.commit()
    verdict = verify()
    assert verdict.ok and verdict.checked == 3, verdict


def test_a_savepoint_rolled_back_inside_the_transaction_leaves_no_gap():
    audit.record(None, "test.kept", "patient", 1, 7)
    with db.session.begin_nested():
        audit.record(None, "test.kept_too", "patient", 2, 7)
    nested = db.session.begin_nested()
    audit.record(None, "test.rolled_back", "patient", 3, 7)
    db.session.flush()
    nested.rollback()
    audit.record(None, "test.after", "patient", 4, 7)
    db.session.commit()
    assert [(r.seq, r.action) for r in _rows()] == [(1, "test.kept"), (2, "test.kept_too"), (3, "test.after")]
    assert verify().ok


def test_an_audited_commit_chains_in_one_statement_on_postgresql(is_postgres):
    """The chain's work at commit, for rows the transaction flushed itself: on PostgreSQL one call of
    audit_chain_append (lock, check, head, UPDATE); on SQLite the unchained ids with the head, and the UPDATE."""
    _write(1)
    seen = []
    listener = lambda conn, cursor, statement, *args: seen.append(statement)  # noqa: E731
    audit.record(None, "test.action", "patient", 1, 7)
    db.session.flush()
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        db.session.commit()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(seen) == (1 if is_postgres else 2), seen
    assert verify().ok and verify().checked == 2


def test_rows_written_by_the_imports_bulk_insert_are_chained():
    """The import's COPY (bulk_insert) bypasses the ORM: it tells the commit, which reads what to chain."""
    from callcenter.services.intake.writing import bulk_insert
    now = utcnow()
    bulk_insert(AuditLog.__table__, [{"at": now, "user_id": None, "action": "import.row", "entity": "patient",
                                      "entity_id": i, "district_id": 1, "details": {"row": i}} for i in range(1, 4)])
    db.session.commit()
    assert db.session.scalar(db.select(db.func.count()).where(AuditLog.seq.is_(None))) == 0
    assert verify().checked == 3


def test_a_commit_without_audit_rows_asks_nothing_of_the_chain():
    _write(1)
    seen = []
    listener = lambda conn, cursor, statement, *args: seen.append(statement)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        db.session.execute(text("SELECT 1"))
        db.session.commit()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert seen == ["SELECT 1"]


def test_rows_a_path_forgot_to_announce_are_chained_by_the_next_audited_commit():
    """Should some path insert audit rows unseen, the next audited commit chains them before its own."""
    with db.engine.begin() as conn:  # (a connection of its own: no session hook sees it)
        conn.execute(insert(AuditLog), [{"at": utcnow(), "action": "unseen", "entity": "patient", "details": {}}])
    _write(1)
    assert [r.action for r in _rows()] == ["unseen", "test.action"]
    assert verify().ok and verify().checked == 2


def test_verify_names_an_edited_row(runner):
    _write(5)
    third = _rows()[2]
    _behind_the_apps_back("UPDATE audit_log SET action = 'patient.nothing' WHERE id = :id", id=third.id)
    verdict = verify()
    assert not verdict.ok and verdict.row_id == third.id and "hash mismatch" in verdict.problem
    assert verdict.checked == 2
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"BROKEN at audit_log id {third.id}" in result.output and "hash mismatch" in result.output


def test_verify_names_the_row_after_a_deleted_one(runner):
    _write(5)
    rows = _rows()
    _behind_the_apps_back("DELETE FROM audit_log WHERE id = :id", id=rows[1].id)
    verdict = verify()
    assert not verdict.ok and verdict.row_id == rows[2].id and "seq 2–2 are missing" in verdict.problem
    assert runner.invoke(args=["audit", "verify"]).exit_code == 1


def test_a_rewritten_hash_breaks_the_next_row():
    """Changing a row and writing its new hash is caught at the next row, which chains the old hash."""
    _write(4)
    rows = _rows()
    content = {"id": rows[1].id, "at": rows[1].at, "user_id": None, "action": "patient.nothing",
               "entity": "patient", "entity_id": rows[1].entity_id, "district_id": 7, "details": rows[1].details}
    forged = row_hash(rows[0].hash, 2, content)
    _behind_the_apps_back("UPDATE audit_log SET action = 'patient.nothing', hash = :h WHERE id = :id",
                          h=forged, id=rows[1].id)
    verdict = verify()
    assert not verdict.ok and verdict.row_id == rows[2].id


def test_verify_of_an_intact_chain_exits_0(runner):
    _write(3)
    result = runner.invoke(args=["audit", "verify", "--batch", "2"])
    assert result.exit_code == 0, result.output
    assert "audit chain intact: 3 rows; head seq 3" in result.output


def test_verify_starts_from_an_archived_head(runner):
    """Archived months are gone from the table: verify starts from the head the archive recorded."""
    _write(5)
    rows = _rows()
    _behind_the_apps_back("DELETE FROM audit_log WHERE seq <= 2")
    assert "starts at seq 3" in verify().problem
    verdict = verify(start_hash=rows[1].hash)
    assert verdict.ok and verdict.checked == 3
    assert runner.invoke(args=["audit", "verify", "--start-hash", rows[1].hash]).exit_code == 0
    assert not verify(start_hash=rows[0].hash).ok


def test_a_row_naming_many_patients_indexes_them():
    audit.record(None, "patient.list_view", "patient", None, 1, purpose="inbox", patient_ids=[5, 3, 5, 8])
    audit.record(None, "field_visit.record", "escalation", 2, 1, patient_id=9)
    db.session.commit()
    assert sorted(db.session.execute(db.select(AuditSubject.patient_id, AuditLog.action).join(AuditSubject.audit))
                  .all()) == [(3, "patient.list_view"), (5, "patient.list_view"), (8, "patient.list_view"),
                              (9, "field_visit.record")]


# --- PostgreSQL: the trigger and concurrent writers ---------------------------------------------------------

@pytest.fixture
def pg(is_postgres):
    if not is_postgres:
        pytest.skip("PostgreSQL only (set SAMPARK_TEST_DATABASE_URL)")


@pytest.mark.parametrize("sql", ["UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log",
                                 "UPDATE audit_log SET hash = repeat('0', 64)", "UPDATE audit_log SET seq = NULL"])
def test_the_trigger_refuses_updates_and_deletes(pg, sql):
    _write(2)
    with pytest.raises(DBAPIError, match="append-only"):
        with db.engine.begin() as conn:
            conn.execute(text(sql))
    assert [r.action for r in _rows()] == ["test.action", "test.action"]
    assert verify().ok


def test_the_trigger_refuses_deleting_rows_past_retention_too(pg):
    """Old rows are archived by the archiving role only (docs/AUDIT.md), never by the app's own role."""
    audit.record(None, "test.old", "patient", 1, 1, now=utcnow() - timedelta(days=800))
    db.session.commit()
    with pytest.raises(DBAPIError, match="only sampark_audit_archiver"):
        with db.engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_log"))


def test_audit_subject_rows_cannot_be_deleted(pg):
    audit.record(None, "patient.list_view", "patient", None, 1, patient_ids=[1, 2])
    db.session.commit()
    with pytest.raises(DBAPIError, match="append-only"):
        with db.engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_subject"))


def test_truncate_still_empties_the_table_for_the_suite(pg):
    """The suite empties tables with TRUNCATE between tests: a row-level trigger does not fire on it."""
    _write(2)
    with db.engine.begin() as conn:
        conn.execute(text("TRUNCATE audit_log, audit_subject RESTART IDENTITY CASCADE"))
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditLog)) == 0


def test_parallel_transactions_keep_one_chain(app, pg):
    """16 writers, 25 transactions each of 1–3 rows, at once: one chain, no fork, no gap."""
    writers, transactions = 16, 25

    def work(i):
        for t in range(transactions):
            for k in range(1 + (i + t) % 3):
                audit.record(None, "test.parallel", "patient", i * 1000 + t, 1, k=k)
            db.session.commit()

    results, errors = run_in_threads(app, writers, work)
    assert not errors, errors
    expected = sum(1 + (i + t) % 3 for i in range(writers) for t in range(transactions))
    seqs = db.session.scalars(db.select(AuditLog.seq).order_by(AuditLog.seq)).all()
    assert seqs == list(range(1, expected + 1))
    verdict = verify()
    assert verdict.ok and verdict.checked == expected


def test_without_the_lock_two_writers_would_fork_and_the_unique_seq_refuses_it(app, pg):
    """What the lock prevents: two transactions that both read the same head. The second commit fails on
    uq_audit_log_seq rather than forking the chain silently."""
    from callcenter.services.core.audit import head
    _write(1)
    with db.engine.connect() as a, db.engine.connect() as b:
        for conn in (a, b):
            conn.execute(insert(AuditLog).values(at=utcnow(), action="test.fork", entity="patient", details={}))
        seq, previous = head(a)
        assert head(b) == (seq, previous)
        def chain_onto(conn):
            new_id = conn.execute(text("SELECT max(id) FROM audit_log WHERE seq IS NULL")).scalar()
            conn.execute(text("UPDATE audit_log SET seq = :s, hash = :h WHERE id = :id"),
                         {"s": seq + 1, "h": "f" * 64, "id": new_id})
        chain_onto(a)
        a.commit()
        with pytest.raises(DBAPIError, match="uq_audit_log_seq"):
            chain_onto(b)


@pytest.fixture
def archiver(pg):
    """The archiving role of docs/AUDIT.md, with its grants in this database; dropped afterwards."""
    grants = "SELECT, DELETE ON audit_log, audit_subject"
    with db.engine.begin() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = 'sampark_audit_archiver'")).first():
            conn.execute(text("CREATE ROLE sampark_audit_archiver NOLOGIN"))
        conn.execute(text(f"GRANT {grants} TO sampark_audit_archiver"))
        conn.execute(text("GRANT SELECT ON app_setting TO sampark_audit_archiver"))
    yield
    with db.engine.begin() as conn:
        conn.execute(text("REVOKE ALL ON audit_log, audit_subject, app_setting FROM sampark_audit_archiver"))
        conn.execute(text("DROP ROLE sampark_audit_archiver"))


def test_the_archiving_role_removes_old_months_only(archiver, runner):
    old = utcnow() - timedelta(days=400)
    for i in range(3):
        audit.record(None, "test.old", "patient", i, 1, now=old + timedelta(minutes=i), patient_ids=[i + 1])
    db.session.commit()
    _write(2)
    rows = _rows()
    with db.engine.begin() as conn:
        conn.execute(text("SET LOCAL ROLE sampark_audit_archiver"))
        with pytest.raises(DBAPIError, match="kept 365 days"):
            with conn.begin_nested():
                conn.execute(text("DELETE FROM audit_log WHERE seq <= 4"))  # seq 4 is today's
        head_seq = conn.execute(text("SELECT min(seq) - 1 FROM audit_log WHERE at >= :cut"),
                                {"cut": old + timedelta(days=1)}).scalar()
        assert head_seq == 3
        conn.execute(text("DELETE FROM audit_log WHERE seq <= :s"), {"s": head_seq})
    assert [r.seq for r in _rows()] == [4, 5]
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditSubject)) == 0
    assert runner.invoke(args=["audit", "verify"]).exit_code == 1
    assert runner.invoke(args=["audit", "verify", "--start-hash", rows[2].hash]).exit_code == 0
