"""One audit row per request names every patient it showed; an export records the patients it contained."""
import time

from callcenter.extensions import db
from callcenter.models import AuditLog
from callcenter.services.desks import escalations

from ..factories import make_patient, make_task, make_user


def _rows(since=0):
    return db.session.scalars(db.select(AuditLog).where(AuditLog.id > since).order_by(AuditLog.id)).all()


def test_a_console_poll_writes_one_row_naming_its_patients(client, login, district):
    patients = [make_patient(district) for _ in range(3)]
    for p in patients:
        escalations.raise_escalation(p, "ambulance", "control_room", "emergency", "call")
    db.session.commit()
    login(make_user("control_room", district))
    since = max([r.id for r in _rows()] or [0])
    assert client.get("/desk/console.json?desk=control_room").status_code == 200
    written = _rows(since)
    assert [(r.action, r.details["purpose"], r.details["patient_ids"]) for r in written] == [
        ("patient.list_view", "desk", sorted(p.id for p in patients))]


def test_a_repeated_poll_writes_again_only_when_its_patients_change_or_the_repeat_time_passes(
        app, client, login, district, monkeypatch):
    first = make_patient(district)
    escalations.raise_escalation(first, "ambulance", "control_room", "emergency", "call")
    db.session.commit()
    user = make_user("control_room", district)
    login(user)
    since = max([r.id for r in _rows()] or [0])
    poll = "/desk/console.json?desk=control_room"

    def named():
        return [r.details["patient_ids"] for r in _rows(since)
                if r.action == "patient.list_view" and r.user_id == user.id]

    for _ in range(3):
        assert client.get(poll).status_code == 200
    assert named() == [[first.id]]  # the same patients three times: one row
    second = make_patient(district)
    escalations.raise_escalation(second, "medicine", "control_room", "routine", "call")
    db.session.commit()
    assert client.get(poll).status_code == 200
    assert client.get(poll).status_code == 200
    assert named() == [[first.id], sorted([first.id, second.id])]  # a new patient on screen: a new row
    assert client.get("/desk/?desk=control_room").status_code == 200  # the page itself always writes
    assert len(named()) == 3
    # Still on screen after the repeat time: written again, so the log says they were seen till then.
    later = time.monotonic() + app.config["AUDIT_POLL_REPEAT_SECONDS"] + 1
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert client.get(poll).status_code == 200
    assert named()[-1] == sorted([first.id, second.id]) and len(named()) == 4
    # Another desk user polling the same desk gets rows of their own.
    other = make_user("control_room", district)
    login(other)
    assert client.get(poll).status_code == 200
    assert [r.user_id for r in _rows(since) if r.action == "patient.list_view"].count(other.id) == 1


def test_an_export_records_the_patients_it_contained(client, login, district):
    shown = [make_patient(district, name=f"Rogi {n}") for n in range(3)]
    for p in shown:
        make_task(p)
    login(make_user("nodal_officer", district))
    for fmt in ("csv", "xlsx"):
        since = max([r.id for r in _rows()] or [0])
        response = client.get(f"/dashboard/export/patients.{fmt}")
        assert response.status_code == 200
        response.get_data()  # streamed: the ids are recorded as the last row goes out
        exported = [r for r in _rows(since) if r.action == "export.patients"]
        assert [(r.entity, r.details["fmt"], r.details["patient_ids"]) for r in exported] == [
            ("patients", fmt, sorted(p.id for p in shown))]
        assert any(r.action == "export" for r in _rows(since))  # the filters, before the first byte
