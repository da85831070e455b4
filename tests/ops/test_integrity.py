"""`flask check-integrity` on the database in use (SQLite and PostgreSQL): whole after real work, and a
reference that points at nothing, or migrations behind, fail it with a message naming the place."""
from sqlalchemy import text

from callcenter import demo
from callcenter.extensions import db
from callcenter.models import CallAttempt
from callcenter.services.core import schema_version


def _check(app, *args):
    return app.test_cli_runner().invoke(args=["check-integrity", *args])


def test_whole_after_the_demo(app):
    assert demo.seed(30)
    result = _check(app)
    assert result.exit_code == 0, result.output
    assert "The database is whole" in result.output


def test_a_reference_to_nothing_and_old_migrations(app, is_postgres):
    assert demo.seed(30)
    patient_id = db.session.scalar(db.select(CallAttempt.patient_id).limit(1))
    older = sorted(schema_version._scripts()[1] - schema_version.heads())[-1]
    head = sorted(schema_version.heads())[0]
    db.session.remove()
    with db.engine.begin() as conn:
        # as a bad copy would be: the database's own checks off (SQLite enforces no foreign keys by default)
        conn.execute(text("SET session_replication_role = replica" if is_postgres else "PRAGMA foreign_keys = OFF"))
        conn.execute(text("DELETE FROM patient WHERE id = :id"), {"id": patient_id})
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": older})
    try:
        result = _check(app)
    finally:
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
    assert result.exit_code == 1
    assert "foreign key call_attempt.patient_id → patient: " in result.output
    assert f"migrations: behind (the database is at {older}" in result.output
    assert "The database is not whole: " in result.output


def test_backups_are_for_postgresql(make_app):
    lite = make_app(SQLALCHEMY_DATABASE_URI="sqlite://")
    with lite.app_context():
        for command in (["restore-drill"], ["backup", "x.dump"]):
            result = lite.test_cli_runner().invoke(args=command)
            assert result.exit_code == 1 and "PostgreSQL" in result.output
