"""Transfers and the end of follow-up: explicit actions with a reason that keep history."""
from datetime import date, timedelta

import pytest

from callcenter.clock import local_date, utcnow
from callcenter.extensions import db
from callcenter.models import AuditLog, CallTask, DischargeReview, Patient, TaskStatus, Transfer
from callcenter.services.core.errors import Conflict, Forbidden, Invalid
from callcenter.services.desks import escalations
from callcenter.services.records import patients, transfers

from ..conftest import csrf_token
from ..factories import facility, make_district, make_patient, make_task, make_user


def registered(district, officer, **extra):
    data = {"name": "Manoj Yadav", "age": 44, "sex": "male", "phone": "9826000001", "setting": "home",
            "positive_date": date.today() - timedelta(days=2)}
    return patients.register_patient(dict(data, **extra), officer)


def fresh(obj):
    return db.session.get(type(obj), obj.id, populate_existing=True)


def test_transfer_keeps_history_and_moves_todays_open_calls(district):
    officer = make_user("nodal_officer", district)
    patient = registered(district, officer)
    today_task = db.session.scalars(db.select(CallTask).where(CallTask.patient_id == patient.id)).one()
    afternoon = make_task(patient, slot=2)
    done = make_task(patient, slot=3, status=TaskStatus.DONE)
    yesterday = make_task(patient, slot=1, day=local_date() - timedelta(days=1), status=TaskStatus.MISSED)
    hospital = facility(district, "hospital")

    move = transfers.transfer(patient.id, make_user("doctor", district), "hospital", hospital.id,
                              "SpO2 falling; admitted.")
    patient = fresh(patient)
    assert (patient.setting, patient.facility_id) == ("hospital", hospital.id)
    history = db.session.scalars(db.select(Transfer).where(Transfer.patient_id == patient.id)
                                 .order_by(Transfer.id)).all()
    assert [(t.from_setting, t.to_setting, t.to_facility_id, t.reason) for t in history] == [
        (None, "home", None, "registered"),                       # the old place is still on record
        ("home", "hospital", hospital.id, "SpO2 falling; admitted.")]
    assert history[1].id == move.id and history[1].by_user_id is not None
    assert [fresh(t).setting for t in (today_task, afternoon)] == ["hospital", "hospital"]  # the new queue
    assert [fresh(t).setting for t in (done, yesterday)] == ["home", "home"]                # history untouched
    assert [fresh(t).status for t in (today_task, afternoon)] == ["pending", "pending"]
    row = db.session.scalars(db.select(AuditLog).where(AuditLog.action == "patient.transfer")).one()
    assert row.details["tasks_moved"] == 2 and row.details["from_setting"] == "home"

    transfers.transfer(patient.id, officer, "home", None, "Discharged to home isolation.")
    assert fresh(patient).facility_id is None and fresh(patient).isolation_start_date is not None
    assert len(fresh(patient).transfers) == 3


@pytest.mark.parametrize(("setting", "kind", "reason", "field"), [
    ("hospital", None, "x", "to_facility_id"),         # a hospital needs the hospital
    ("hospital", "ccc", "x", "to_facility_id"),        # of the right kind
    ("home", "ccc", "x", "to_facility_id"),            # home has none
    ("home", None, "x", "to_setting"),                 # already there
    ("ward", None, "x", "to_setting"),
    ("ccc", "ccc", "   ", "reason"),                   # a reason is required
])
def test_transfer_refusals(district, setting, kind, reason, field):
    patient = make_patient(district)
    fac = facility(district, kind) if kind else None
    with pytest.raises(Invalid) as exc:
        transfers.transfer(patient.id, make_user("nodal_officer", district), setting, fac.id if fac else None, reason)
    assert field in exc.value.errors
    assert db.session.scalar(db.select(db.func.count()).select_from(Transfer)) == 0


def test_facility_of_another_district_is_refused(district):
    other_hospital = facility(make_district(), "hospital")
    with pytest.raises(Invalid):
        transfers.transfer(make_patient(district).id, make_user("admin", None), "hospital", other_hospital.id, "x")


def test_control_room_moves_only_after_an_ambulance(district):
    control = make_user("control_room", district)
    patient = make_patient(district)
    hospital = facility(district, "hospital")
    with pytest.raises(Forbidden):
        transfers.transfer(patient.id, control, "hospital", hospital.id, "no ambulance yet")
    escalations.raise_escalation(patient, "ambulance", "control_room", "emergency", "call")
    db.session.commit()
    with pytest.raises(Forbidden):
        transfers.transfer(patient.id, control, "home", None, "home is never the control room's call")
    transfers.transfer(patient.id, control, "hospital", hospital.id, "Ambulance took him to hospital.")
    assert fresh(patient).setting == "hospital"


def test_old_ambulance_does_not_let_the_control_room_move_a_patient(district):
    patient = make_patient(district)
    esc = escalations.raise_escalation(patient, "ambulance", "control_room", "emergency", "call",
                                       now=utcnow() - timedelta(days=5))
    esc.status, esc.closed_at = "resolved", utcnow() - timedelta(days=5)
    db.session.commit()
    assert not transfers.control_room_may_transfer(patient)


def test_who_may_transfer_and_end(district):
    patient = make_patient(district)
    for role in ("counsellor", "volunteer"):
        with pytest.raises(Forbidden):
            transfers.transfer(patient.id, make_user(role, district), "ccc", facility(district, "ccc").id, "x")
    for role in ("doctor", "control_room", "counsellor", "volunteer"):
        with pytest.raises(Forbidden):
            transfers.end(patient.id, make_user(role, district), "recovered", "x")
    with pytest.raises(Exception) as exc:  # NotFound: no hint the patient exists
        transfers.end(patient.id, make_user("nodal_officer", make_district()), "recovered", "x")
    assert exc.value.status == 404


@pytest.mark.parametrize("status", ["recovered", "died", "moved_out"])
def test_end_of_follow_up_cancels_open_calls_and_keeps_the_record(district, status):
    officer = make_user("nodal_officer", district)
    patient = registered(district, officer)
    open_task = db.session.scalars(db.select(CallTask).where(CallTask.patient_id == patient.id)).one()
    done = make_task(patient, slot=2, status=TaskStatus.DONE)
    transfers.end(patient.id, officer, status, "Reason given by the family.")
    patient = fresh(patient)
    assert patient.status == status and patient.ended_at is not None
    assert (patient.setting, patient.name, patient.phone) == ("home", "Manoj Yadav", "+919826000001")
    assert fresh(open_task).status == "cancelled" and fresh(done).status == "done"
    row = db.session.scalars(db.select(AuditLog).where(AuditLog.action == "patient.end_follow_up")).one()
    assert row.details == {"status": status, "reason": "Reason given by the family."}


def test_nothing_changes_once_the_follow_up_ended(district):
    officer = make_user("nodal_officer", district)
    patient = make_patient(district)
    transfers.end(patient.id, officer, "died", "Died in hospital.")
    with pytest.raises(Conflict):
        transfers.end(patient.id, officer, "recovered", "again")
    with pytest.raises(Conflict):
        transfers.transfer(patient.id, officer, "ccc", facility(district, "ccc").id, "too late")
    assert fresh(patient).status == "died"


def test_end_needs_a_known_status_and_a_reason(district):
    officer = make_user("nodal_officer", district)
    patient = make_patient(district)
    with pytest.raises(Invalid):
        transfers.end(patient.id, officer, "active", "x")
    with pytest.raises(Invalid):
        transfers.end(patient.id, officer, "recovered", "  ")
    assert fresh(patient).status == "active"


def test_discharge_here_answers_a_pending_review(district):
    officer = make_user("nodal_officer", district)
    patient = make_patient(district)
    review = DischargeReview(patient_id=patient.id, district_id=district.id, flagged_on=date.today(),
                             flagged_at=utcnow())
    db.session.add(review)
    db.session.commit()
    transfers.end(patient.id, officer, "recovered", "Fever-free, 10 days done.")
    review = fresh(review)
    assert (review.status, review.decided_by_id, review.note) == ("discharged", officer.id,
                                                                   "Fever-free, 10 days done.")


# --- Over HTTP -------------------------------------------------------------------------------------------

def test_transfer_and_end_through_the_record_page(client, login, district):
    patient = make_patient(district, name="Rekha Verma")
    make_task(patient)
    login(make_user("nodal_officer", district))
    token = csrf_token(client, f"/patients/{patient.id}")
    ccc = facility(district, "ccc")

    response = client.post(f"/patients/{patient.id}/transfer", data={
        "csrf_token": token, "to_setting": "ccc", "to_facility_id": "", "reason": "No room at home"})
    assert response.status_code == 200
    assert "Choose the hospital or care centre the patient goes to." in response.get_data(as_text=True)
    assert fresh(patient).setting == "home"

    response = client.post(f"/patients/{patient.id}/transfer", data={
        "csrf_token": token, "to_setting": "ccc", "to_facility_id": str(ccc.id), "reason": "No room at home"},
        follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Rekha Verma moved to COVID care centre" in html and "No room at home" in html
    assert fresh(patient).setting == "ccc"

    response = client.post(f"/patients/{patient.id}/end", data={"csrf_token": token, "status": "moved_out"})
    assert "Say why the follow-up ends." in response.get_data(as_text=True)
    response = client.post(f"/patients/{patient.id}/end", data={
        "csrf_token": token, "status": "moved_out", "reason": "Went to Bilaspur."}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "follow-up ended" in html and "Moved out of district" in html and "Went to Bilaspur." in html
    assert db.session.get(Patient, patient.id).status == "moved_out"

    again = client.post(f"/patients/{patient.id}/end", data={
        "csrf_token": token, "status": "died", "reason": "x"}, follow_redirects=True)
    assert "already ended" in again.get_data(as_text=True)
    assert db.session.get(Patient, patient.id).status == "moved_out"


def test_actions_need_the_csrf_token(client, login, district):
    patient = make_patient(district)
    login(make_user("nodal_officer", district))
    response = client.post(f"/patients/{patient.id}/end", data={"status": "died", "reason": "x"})
    assert response.status_code == 400
    assert fresh(patient).status == "active"
