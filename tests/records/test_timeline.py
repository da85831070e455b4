"""The patient record: everything about one patient on one timeline, newest first, and who may see it."""
from datetime import date, timedelta

import pytest

from callcenter.clock import utcnow
from callcenter.extensions import db
from callcenter.models import AuditLog, CheckIn, DischargeReview, ImportBatch, ImportRow, Need
from callcenter.services.calls import calls, queue
from callcenter.services.desks import escalations
from callcenter.services.records import patients, records, transfers

from ..factories import facility, make_district, make_patient, make_user, village


def _register(district, officer, now):
    return patients.register_patient({
        "name": "Sunita Sahu", "age": 52, "sex": "female", "phone": "98260 12345", "setting": "home",
        "positive_date": date.today() - timedelta(days=3), "village_id": village(district).id,
        "lab_id": "LAB-7", "language": "hi"}, officer, now=now)


@pytest.fixture
def course(district):
    """One patient's whole course, an hour apart: registered, imported, called, checked in, escalation
    acknowledged and resolved, moved to hospital, flagged for review, discharged."""
    t = [utcnow() - timedelta(hours=12) + timedelta(hours=i) for i in range(9)]
    officer, volunteer = make_user("nodal_officer", district), make_user("volunteer", district)
    control = make_user("control_room", district)
    patient = _register(district, officer, t[0])
    batch = ImportBatch(district_id=district.id, user_id=officer.id, filename="raipur-0512.csv", file_hash="ab" * 32,
                        source="web", status="completed", started_at=t[1], finished_at=t[1], rows_total=1,
                        rows_updated=1)
    db.session.add(batch)
    db.session.flush()
    db.session.add(ImportRow(batch_id=batch.id, row_number=7, action="updated", patient_id=patient.id))
    db.session.commit()
    task = queue.claim_next_task(volunteer, now=t[2])
    logged = calls.log_attempt(task.id, volunteer, {"outcome": "connected", "spo2": 91, "needs": ["ambulance"],
                                                    "notes": "breathless"}, "k1", now=t[2])
    esc_id = logged.escalations[0].id
    checkin = CheckIn(patient_id=patient.id, channel="sms", at=t[3], feeling_ok=False, temperature_f=100.4)
    db.session.add(checkin)
    db.session.flush()
    db.session.add(Need(patient_id=patient.id, kind="medicine", checkin_id=checkin.id, created_at=t[3]))
    db.session.commit()
    escalations.acknowledge(esc_id, control, now=t[4])
    escalations.resolve(esc_id, control, "Ambulance took her to the district hospital.", now=t[5])
    transfers.transfer(patient.id, control, "hospital", facility(district, "hospital").id,
                       "Admitted after the ambulance.", now=t[6])
    db.session.add(DischargeReview(patient_id=patient.id, district_id=district.id, flagged_on=date.today(),
                                   flagged_at=t[7]))
    db.session.commit()
    transfers.end(patient.id, officer, "recovered", "Discharged from hospital, recovered.", now=t[8])
    return patient


def test_timeline_holds_the_whole_course_newest_first(course):
    events = records.timeline(course)
    assert [e.kind for e in events] == [
        "ended", "review_decided", "review", "transfer", "escalation_closed", "checkin", "escalation", "attempt",
        "imported", "registered"]
    assert events == sorted(events, key=lambda e: e.at, reverse=True)
    registered, imported = events[-1], events[-2]
    assert registered.extra["placement"].to_setting == "home"  # where she started, still visible
    assert (imported.obj.row_number, imported.extra["batch"].filename) == (7, "raipur-0512.csv")
    attempt = events[-3].obj
    assert attempt.spo2 == 91 and [(n.kind, esc.status) for n, esc in events[-3].extra["needs"]] == [
        ("ambulance", "resolved")]
    assert events[4].obj.resolution == "Ambulance took her to the district hospital."
    move = events[3].obj
    assert (move.from_setting, move.to_setting, move.reason) == ("home", "hospital", "Admitted after the ambulance.")
    assert events[0].extra == {"by": events[0].extra["by"], "status": "recovered",
                               "reason": "Discharged from hospital, recovered."}


def test_record_page_shows_it_and_logs_the_view(client, login, district, course):
    user = make_user("doctor", district)
    login(user)
    response = client.get(f"/patients/{course.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for text in ("Sunita Sahu", "Recovered / discharged", "raipur-0512.csv", "row 7", "SpO2", "91%",
                 "Ambulance took her to the district hospital.", "Admitted after the ambulance.",
                 "Home isolation", "Due for a discharge review", "Discharged from hospital, recovered.", "LAB-7"):
        assert text in html, text
    assert html.index("Follow-up ended") < html.index("Registered")  # newest first
    assert 'id="transfer"' not in html and 'id="end"' not in html  # nothing to change once it ended
    view = db.session.scalars(db.select(AuditLog).where(AuditLog.action == "patient.view")).one()
    assert (view.user_id, view.entity_id, view.details["purpose"]) == (user.id, course.id, "record")


def test_record_outside_the_district_is_not_found(client, login, district):
    patient = make_patient(district)
    login(make_user("nodal_officer", make_district()))
    assert client.get(f"/patients/{patient.id}").status_code == 404


def test_volunteers_do_not_open_records(client, login, district):
    patient = make_patient(district)
    login(make_user("volunteer", district))
    assert client.get(f"/patients/{patient.id}").status_code == 403
    assert client.get("/patients/?q=patient").status_code == 403


def test_timeline_shows_help_sent_doctors_calls_and_outcomes(client, login, district):
    from callcenter.models import Consultation, Dispatch, Escalation

    officer = make_user("nodal_officer", district)
    doctor = make_user("doctor", district)
    doctor.full_name = "Dr. Meena Sahu"
    patient = make_patient(district, name="Ramesh Dhruw")
    now = utcnow()
    patient.created_at = now - timedelta(hours=3)
    hospital = facility(district, "hospital")
    esc = Escalation(patient_id=patient.id, district_id=district.id, kind="ambulance", desk="control_room",
                     severity="emergency", status="resolved", source="call", created_at=now - timedelta(hours=2),
                     closed_at=now - timedelta(hours=1), resolution="Reached the hospital.", outcome="admitted")
    db.session.add(esc)
    db.session.flush()
    db.session.add(Dispatch(escalation_id=esc.id, kind="ambulance", vehicle_number="CG04 AB 1234",
                            driver_phone="+919826012345", destination_facility_id=hospital.id,
                            created_at=now - timedelta(minutes=100)))
    db.session.add(Consultation(patient_id=patient.id, district_id=district.id, desk="doctor", user_id=doctor.id,
                                outcome="connected", notes="Prone positioning, paracetamol.",
                                follow_up_date=date(2026, 11, 30), created_at=now - timedelta(minutes=30)))
    db.session.commit()

    kinds = [e.kind for e in records.timeline(patient)]
    assert kinds == ["consultation", "escalation_closed", "escalation", "registered"]
    login(officer)
    page = client.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert "CG04 AB 1234" in page and f"→ {hospital.name}" in page and "+91 98260 12345" in page
    assert "Admitted to a hospital or care centre" in page
    assert "Call by the Doctor on duty" in page and "Prone positioning, paracetamol." in page
    assert "Follow-up call on 30 Nov 2026" in page and "Dr. Meena Sahu" in page
