"""Migration 0017 chains the rows an upgraded database already has, so `audit verify` passes after it."""
from datetime import datetime

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from callcenter import create_app
from callcenter.extensions import db
from callcenter.services.core.audit_verify import verify

from ..test_migrations import empty_database_url  # noqa: F401  (the fixture: an empty database of its own)


@pytest.fixture
def _fresh_database():
    """This test has a database of its own: override conftest's autouse fixture of the same name."""
    yield


def test_upgrade_chains_existing_rows(empty_database_url):  # noqa: F811
    app = create_app("config.TestConfig", SQLALCHEMY_DATABASE_URI=empty_database_url)
    with app.app_context():
        try:
            upgrade(revision="0017")
            downgrade(revision="-1")  # the schema as it was before the chain
            with db.engine.begin() as conn:
                for i in range(25):
                    details = '{"purpose": "inbox", "patient_ids": [%d, %d]}' % (i, i + 100) if i % 5 == 0 \
                        else '{"purpose": "record", "note": "पुराना"}'
                    conn.execute(text("INSERT INTO audit_log (at, user_id, action, entity, entity_id, district_id, "
                                      "details) VALUES (:at, NULL, :action, 'patient', :eid, 1, :details)"),
                                 {"at": datetime(2026, 5, 1, 10, i, 0, 123456), "eid": i, "details": details,
                                  "action": "patient.list_view" if i % 5 == 0 else "patient.view"})
            upgrade(revision="0017")
            verdict = verify()
            assert verdict.ok and verdict.checked == 25 and verdict.head_seq == 25, verdict
            with db.engine.connect() as conn:
                subjects = conn.execute(text("SELECT patient_id FROM audit_subject ORDER BY patient_id")).scalars()
                assert list(subjects) == [0, 5, 10, 15, 20, 100, 105, 110, 115, 120]
                if conn.dialect.name == "postgresql":
                    with pytest.raises(DBAPIError, match="append-only"):
                        conn.execute(text("DELETE FROM audit_log"))
        finally:
            db.session.remove()
            db.engine.dispose()
