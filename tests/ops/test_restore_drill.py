"""The restore drill, performed: a seeded database (the demo: patients, calls, escalations, audit rows) is dumped
with pg_dump -Fc, restored with pg_restore into a new database and checked; a damaged copy fails the check
with a message naming each problem. PostgreSQL only."""
import json
import os
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from callcenter import demo
from callcenter.extensions import db
from callcenter.models import AuditLog, CallAttempt, Escalation, Patient
from callcenter.ops import backup
from callcenter.services.core import integrity, schema_version

from .conftest import PG

pytestmark = [
    pytest.mark.skipif(not PG, reason="the restore drill is PostgreSQL's (pg_dump/pg_restore); this run is SQLite"),
    pytest.mark.skipif(not all(shutil.which(tool) for tool in backup.TOOLS),
                       reason="pg_dump and pg_restore are not on PATH (Debian: postgresql-client)"),
]
ROOT = Path(__file__).resolve().parents[2]
DRILL_DATABASES = "SELECT datname FROM pg_database WHERE datname LIKE 'sampark_drill_%'"  # (others make theirs)


@pytest.fixture
def seeded(app):
    """The suite's database with the demo's district in it; its URL."""
    assert demo.seed(40)
    assert db.session.scalar(db.select(db.func.count()).select_from(CallAttempt)) > 0
    assert db.session.scalar(db.select(db.func.count()).select_from(Escalation)) > 0
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditLog)) > 0
    db.session.remove()
    return app.config["SQLALCHEMY_DATABASE_URI"]


def _execute(url, *statements):
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("SET session_replication_role = replica"))  # damage as a bad copy would: no checks
            for statement in statements:
                conn.execute(text(statement))
    finally:
        engine.dispose()


def test_a_dump_restores_whole(seeded, tmp_path):
    path = tmp_path / "sampark.dump"
    manifest = backup.dump(seeded, path)
    assert manifest["counts"]["patient"] == db.session.scalar(db.select(db.func.count()).select_from(Patient))
    assert manifest["alembic"] == sorted(schema_version.heads())
    assert json.loads(backup.manifest_path(path).read_text()) == manifest

    lines = []
    assert backup.drill(seeded, dump_path=path, report=lines.append) == []
    assert any("audit rows compared" in line for line in lines)


def test_a_damaged_copy_fails_the_check_and_says_why(seeded, tmp_path, make_app):
    path = tmp_path / "sampark.dump"
    manifest = backup.dump(seeded, path)
    older = sorted(schema_version._scripts()[1] - schema_version.heads())[-1]
    patient_with_calls = db.session.scalar(db.select(CallAttempt.patient_id).limit(1))
    newest_audit = db.session.scalar(db.select(db.func.max(AuditLog.id)))
    with backup.scratch_database(seeded) as copy:
        backup.restore(path, copy)
        assert backup.check(copy, manifest) == []
        _execute(copy, f"DELETE FROM patient WHERE id = {patient_with_calls}",
                 f"DELETE FROM audit_log WHERE id = {newest_audit}",
                 f"UPDATE alembic_version SET version_num = '{older}'")
        found = backup.check(copy, manifest)
        assert any(line.startswith("migrations: behind") for line in found), found
        assert any(line.startswith("foreign key call_attempt.patient_id → patient") for line in found), found
        assert any(line.startswith("table patient: ") and "the backup had" in line for line in found), found
        assert any(line.startswith("audit log: ") for line in found), found

        # the operator's command says the same and exits non-zero
        restored = make_app(SQLALCHEMY_DATABASE_URI=copy)
        with restored.app_context():
            result = restored.test_cli_runner().invoke(
                args=["check-integrity", "--manifest", str(backup.manifest_path(path))])
            whole = restored.test_cli_runner().invoke(args=["check-integrity"])
        assert result.exit_code == 1
        assert "foreign key call_attempt.patient_id → patient" in result.output
        assert "The database is not whole" in result.output
        assert whole.exit_code == 1  # without a manifest the missing patient's calls still show


def test_the_audit_trail_altered_or_emptied(seeded, tmp_path):
    path = tmp_path / "sampark.dump"
    manifest = backup.dump(seeded, path)
    oldest = db.session.scalar(db.select(db.func.min(AuditLog.id)))
    with backup.scratch_database(seeded) as copy:
        backup.restore(path, copy)
        _execute(copy, f"UPDATE audit_log SET action = 'task.release' WHERE id = {oldest}")
        altered = backup.check(copy, manifest)
        _execute(copy, *[f"DELETE FROM {t}" for t in ("audit_subject", "audit_log") if t in db.metadata.tables])
        emptied = backup.check(copy)
    assert altered == ["audit log: the rows' content differs from the backup's (same count and ids)"]
    assert [line for line in emptied if line.startswith("audit log: empty, while ")], emptied


def test_the_operators_script(seeded):
    """bin/restore-drill as an operator runs it: the service's environment, a fresh dump, exit 0."""
    env = {**os.environ, "DATABASE_URL": seeded, "SECRET_KEY": secrets.token_hex(32),
           "PUBLIC_URL": "https://sampark.example.gov.in"}
    done = subprocess.run([ROOT / "bin" / "restore-drill"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "The restore drill passed" in done.stdout
    assert "scratch database" in done.stdout


def test_the_scratch_database_is_dropped_after_a_failure(seeded, tmp_path):
    broken = tmp_path / "not-a-dump.dump"
    broken.write_bytes(b"PGDMP but not really")
    engine = create_engine(seeded)
    try:
        with engine.connect() as conn:
            before = set(conn.execute(text(DRILL_DATABASES)).scalars())
        with pytest.raises(backup.DrillError, match="pg_restore failed"):
            backup.drill(seeded, dump_path=broken, report=lambda line: None)
        with engine.connect() as conn:
            after = set(conn.execute(text(DRILL_DATABASES)).scalars())
    finally:
        engine.dispose()
    assert after == before


def test_integrity_problems_on_a_whole_database(seeded):
    with db.engine.connect() as conn:
        assert integrity.problems(conn) == []
