"""The audit log, readable: who saw or did what about a patient, what a user saw, filters, pages, CSV export
(itself audited, formula-safe), the patient record's "Access log" tab, and the retention setting."""
import csv
import io
from datetime import timedelta

import pytest

from callcenter.clock import utcnow
from callcenter.extensions import db
from callcenter.models import AuditLog
from callcenter.rules import adjustable
from callcenter.services.core import audit, audit_trail, settings
from callcenter.services.core.errors import Invalid, NotFound
from callcenter.services.desks import escalations
from callcenter.services.records import records

from ..factories import make_district, make_patient, make_user


@pytest.fixture
def world(district):
    other = make_district()
    admin, nodal = make_user("admin", district), make_user("nodal_officer", district)
    state_admin = make_user("admin")
    doctor, volunteer = make_user("doctor", district), make_user("volunteer", district)
    stranger = make_user("nodal_officer", other)
    patient, neighbour = make_patient(district), make_patient(district)
    far = make_patient(other)
    return {"district": district, "other": other, "admin": admin, "nodal": nodal, "state_admin": state_admin,
            "doctor": doctor, "volunteer": volunteer, "stranger": stranger, "patient": patient,
            "neighbour": neighbour, "far": far}


def _actions(page):
    return [(r["user"], r["action"]) for r in page.rows]


def test_who_saw_or_did_anything_about_a_patient(world):
    w = world
    p = w["patient"]
    records.log_view(w["doctor"], p, "record")  # the record itself
    records.log_list_view(w["nodal"], [w["neighbour"].id, p.id], "inbox")  # one of many on a list
    records.log_list_view(w["nodal"], [w["neighbour"].id], "inbox")  # not this patient
    esc = escalations.raise_escalation(p, "ambulance", "control_room", "emergency", "call", user=w["volunteer"])
    db.session.commit()  # (raise_escalation is called inside its caller's transaction)
    records.log_view(w["state_admin"], p, "record")  # a state-level user: no district on the row
    page = audit_trail.read(w["admin"], audit_trail.Filters(patient_id=p.id))
    assert _actions(page) == [(w["state_admin"].username, "patient.view"),
                              (w["volunteer"].username, "escalation.raise"),
                              (w["nodal"].username, "patient.list_view"),
                              (w["doctor"].username, "patient.view")]
    assert page.rows[2]["purpose"] == "inbox" and p.id in page.rows[2]["patient_ids"]
    assert page.rows[1]["entity_id"] == esc.id
    viewed = audit_trail.read(w["admin"], audit_trail.Filters(patient_id=p.id, kind="view"))
    assert [a for _, a in _actions(viewed)] == ["patient.view", "patient.list_view", "patient.view"]


def test_district_scope(world):
    w = world
    records.log_view(w["doctor"], w["patient"], "record")
    audit.record(w["stranger"], "patient.view", "patient", w["far"].id, w["other"].id, purpose="record")
    db.session.commit()
    mine = audit_trail.read(w["admin"], audit_trail.Filters())
    assert {r["district_id"] for r in mine.rows} == {w["district"].id}
    everything = audit_trail.read(w["state_admin"], audit_trail.Filters())
    assert {r["district_id"] for r in everything.rows} == {w["district"].id, w["other"].id}
    with pytest.raises(NotFound):  # another district's patient: not found, as everywhere
        audit_trail.read(w["admin"], audit_trail.Filters(patient_id=w["far"].id))


def test_what_a_user_viewed_over_dates(world):
    w = world
    now = utcnow()
    for days_ago in (40, 10, 2):
        audit.record(w["doctor"], "patient.view", "patient", w["patient"].id, w["district"].id,
                     now=now - timedelta(days=days_ago), purpose="record")
    audit.record(w["doctor"], "escalation.note", "escalation", 1, w["district"].id, now=now - timedelta(days=2))
    audit.record(w["nodal"], "patient.view", "patient", w["patient"].id, w["district"].id, now=now)
    db.session.commit()
    today = (now + timedelta(hours=6)).date()
    page = audit_trail.read(w["admin"], audit_trail.Filters(username=w["doctor"].username, kind="view",
                                                            since=today - timedelta(days=15), until=today))
    assert len(page.rows) == 2 and {r["user"] for r in page.rows} == {w["doctor"].username}
    by_action = audit_trail.read(w["admin"], audit_trail.Filters(username=w["doctor"].username, action="escalation."))
    assert _actions(by_action) == [(w["doctor"].username, "escalation.note")]
    with pytest.raises(Invalid):
        audit_trail.read(w["admin"], audit_trail.Filters(username="nobody-here"))


def test_pages(world):
    w = world
    for i in range(audit_trail.PAGE_SIZE + 5):
        audit.record(w["doctor"], "patient.view", "patient", w["patient"].id, w["district"].id, purpose=f"p{i}")
    db.session.commit()
    first = audit_trail.read(w["admin"], audit_trail.Filters(), page=1)
    second = audit_trail.read(w["admin"], audit_trail.Filters(), page=2)
    assert len(first.rows) == audit_trail.PAGE_SIZE and first.has_next
    assert len(second.rows) == 5 and not second.has_next
    assert not {r["id"] for r in first.rows} & {r["id"] for r in second.rows}


def test_phone_numbers_in_details_are_masked(world):
    w = world
    audit.record(w["nodal"], "district.duty_phone", "district", w["district"].id, w["district"].id,
                 old=None, new="+919826012345")
    db.session.commit()
    row = audit_trail.read(w["admin"], audit_trail.Filters()).rows[0]
    assert "9826012345" not in row["details"] and "+91 98••• ••345" in row["details"]


def test_the_page_and_its_filters(world, client, login):
    w = world
    records.log_list_view(w["doctor"], [w["patient"].id], "inbox")
    login(w["nodal"])
    html = client.get(f"/admin/audit/?patient_id={w['patient'].id}").get_data(as_text=True)
    assert "patient.list_view" in html and w["doctor"].username in html and "inbox" in html
    assert "kept for 365 days" in html
    html = client.get("/admin/audit/?username=nobody-here").get_data(as_text=True)
    assert "No user with that username." in html
    assert client.get(f"/admin/audit/?patient_id={w['far'].id}").status_code == 404


def test_csv_export_is_guarded_and_audited(world, client, login):
    w = world
    audit.record(w["doctor"], "patient.view", "patient", w["patient"].id, w["district"].id,
                 purpose="=HYPERLINK(\"http://x\")")
    audit.record(w["doctor"], "patient.view", "patient", w["patient"].id, w["district"].id, purpose="-2+3+cmd")
    db.session.commit()
    login(w["admin"])
    response = client.get(f"/admin/audit/audit.csv?patient_id={w['patient'].id}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["time", "user", "action"]
    purposes = {r[6] for r in rows[1:]}
    assert {"'=HYPERLINK(\"http://x\")", "'-2+3+cmd"} <= purposes
    exported = db.session.scalars(db.select(AuditLog).where(AuditLog.action == "audit.export")).one()
    assert exported.user_id == w["admin"].id and exported.details["filters"] == {"patient_id": w["patient"].id}


def test_the_records_access_log_tab(world, client, login):
    w = world
    records.log_view(w["doctor"], w["patient"], "record")
    login(w["nodal"])
    record = client.get(f"/patients/{w['patient'].id}").get_data(as_text=True)
    assert f"/patients/{w['patient'].id}/access-log" in record
    html = client.get(f"/patients/{w['patient'].id}/access-log").get_data(as_text=True)
    assert w["doctor"].username in html and "Access log" in html
    mine = db.session.scalars(db.select(AuditLog).where(AuditLog.user_id == w["nodal"].id,
                                                        AuditLog.action == "patient.view")).all()
    assert {r.details["purpose"] for r in mine} == {"record", "access_log"}  # the tab is a view too
    assert client.get(f"/patients/{w['far'].id}/access-log").status_code == 404


def test_a_doctor_has_no_access_log_tab(world, client, login):
    login(world["doctor"])
    html = client.get(f"/patients/{world['patient'].id}").get_data(as_text=True)
    assert "/access-log" not in html
    assert client.get(f"/patients/{world['patient'].id}/access-log").status_code == 403
    assert client.get("/admin/audit/").status_code == 403


def test_retention_is_never_below_365_days(world):
    assert audit_trail.retention_days() == 365
    with pytest.raises(Invalid) as refused:
        settings.update({"audit_retention_days": 200}, world["state_admin"])
    assert "at least 365 days" in str(refused.value.errors["audit_retention_days"])
    settings.update({"audit_retention_days": 730}, world["state_admin"])
    assert audit_trail.retention_days() == 730
    with pytest.raises(ValueError, match="at least 365 days"):
        adjustable.AUDIT_RETENTION.from_environment({"AUDIT_RETENTION_DAYS": "90"})
    assert adjustable.AUDIT_RETENTION.from_environment({"AUDIT_RETENTION_DAYS": "400"}) == 400
