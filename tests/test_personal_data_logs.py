"""No phone number or search term in the error log or SQL echo (DPDP). The whole suite's own log lines are
scanned too (tests/log_scan.py)."""
import logging

import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from callcenter import create_app
from callcenter.auth.access import public
from callcenter.extensions import db
from callcenter.services.records import records

from .factories import make_district, make_patient, make_user

PHONE = "+919826012345"


def _failing_statement():
    db.session.execute(text("SELECT id FROM no_such_table WHERE phone = :phone"), {"phone": PHONE})


def test_a_failed_statement_carries_no_values(app):
    with pytest.raises(SQLAlchemyError) as failed:
        _failing_statement()
    db.session.rollback()
    assert PHONE not in str(failed.value) and "parameters hidden" in str(failed.value)


def test_the_error_log_of_a_failed_request_carries_no_values(app, caplog):
    probe = create_app("config.TestConfig", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"])

    @public("a probe of the error log")
    def broken():
        _failing_statement()

    probe.add_url_rule("/log-probe", "log_probe", broken)
    try:
        with caplog.at_level(logging.DEBUG):
            response = probe.test_client().get("/log-probe")
    finally:
        with probe.app_context():
            db.engine.dispose()  # the probe's own pool: no connection left for the garbage collector
    assert response.status_code == 500
    assert "unhandled error" in caplog.text and "no_such_table" in caplog.text  # the error was logged …
    assert PHONE not in caplog.text and PHONE[3:] not in caplog.text  # … without its values


def test_sql_echo_carries_no_values(app, caplog):
    district = make_district()
    officer = make_user("nodal_officer", district)
    make_patient(district, phone_number=PHONE)
    engine_log = logging.getLogger("sqlalchemy.engine")
    before = engine_log.level
    engine_log.setLevel(logging.INFO)  # what SQLALCHEMY_ECHO turns on
    try:
        db.session.commit()  # the next statement checks out a connection anew, which reads the echo level
        with caplog.at_level(logging.INFO, logger="sqlalchemy.engine"):
            found, _total = records.find_patients(officer, "98260 12345")
    finally:
        engine_log.setLevel(before)
    assert len(found) == 1
    assert "SELECT" in caplog.text and "parameters hidden" in caplog.text
    assert PHONE not in caplog.text and PHONE[3:] not in caplog.text
