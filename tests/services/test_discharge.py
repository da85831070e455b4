"""Discharge reviews: flagged by the release rule, decided by a person, recorded."""
from datetime import date, datetime, timedelta

import pytest

from callcenter.clock import local_to_utc
from callcenter.extensions import db
from callcenter.models import AuditLog, CallTask, DischargeReview, Patient
from callcenter.services.core.errors import Conflict, Forbidden, Invalid
from callcenter.services.desks import discharge

from ..factories import make_attempt, make_checkin, make_district, make_patient, make_task, make_user

DAY = date(2021, 5, 20)
NOW = local_to_utc(datetime(2021, 5, 20, 7, 15))


def flagged_ids():
    return {r.patient_id for r in db.session.scalars(db.select(DischargeReview))}


def test_flags_patients_who_meet_the_rule(district):
    volunteer = make_user("volunteer", district)
    due = make_patient(district, symptom_onset_date=DAY - timedelta(days=10))
    not_yet = make_patient(district, symptom_onset_date=DAY - timedelta(days=9))
    no_symptoms_due = make_patient(district, positive_date=DAY - timedelta(days=10))
    fever_recently = make_patient(district, symptom_onset_date=DAY - timedelta(days=12))
    make_attempt(fever_recently, volunteer, local_to_utc(datetime(2021, 5, 18, 10, 0)), temperature_f=100.4)
    fever_by_checkin = make_patient(district, symptom_onset_date=DAY - timedelta(days=12))
    make_checkin(fever_by_checkin, local_to_utc(datetime(2021, 5, 19, 10, 0)), temperature_f=101.0)
    fever_long_ago = make_patient(district, symptom_onset_date=DAY - timedelta(days=12))
    make_attempt(fever_long_ago, volunteer, local_to_utc(datetime(2021, 5, 17, 23, 0)), temperature_f=102.0)
    in_hospital = make_patient(district, setting="hospital", symptom_onset_date=DAY - timedelta(days=15))
    in_ccc = make_patient(district, setting="ccc", symptom_onset_date=DAY - timedelta(days=15))
    assert discharge.flag_release_reviews(DAY, now=NOW) == 4
    assert flagged_ids() == {due.id, no_symptoms_due.id, fever_long_ago.id, in_ccc.id}
    assert not_yet.id not in flagged_ids() and in_hospital.id not in flagged_ids()
    assert fever_recently.id not in flagged_ids() and fever_by_checkin.id not in flagged_ids()
    # idempotent: the same day again flags nobody twice
    assert discharge.flag_release_reviews(DAY, now=NOW) == 0


def test_discharge_is_one_click_with_a_record(district):
    doctor = make_user("doctor", district)
    patient = make_patient(district, symptom_onset_date=DAY - timedelta(days=11))
    task = make_task(patient)
    discharge.flag_release_reviews(DAY, now=NOW)
    [review] = discharge.pending_reviews(doctor)
    discharge.decide(review.id, doctor, discharge=True, note="Well, no fever", now=NOW)
    patient = db.session.get(Patient, patient.id, populate_existing=True)
    assert (patient.status, patient.ended_at) == ("recovered", NOW)
    assert db.session.get(CallTask, task.id, populate_existing=True).status == "cancelled"
    review = db.session.get(DischargeReview, review.id)
    assert (review.status, review.decided_by_id, review.note) == ("discharged", doctor.id, "Well, no fever")
    actions = set(db.session.scalars(db.select(AuditLog.action)))
    assert {"discharge_review.discharged", "patient.end_follow_up"} <= actions
    with pytest.raises(Conflict):
        discharge.decide(review.id, doctor, discharge=True)


def test_continue_needs_a_reason_and_is_asked_again_later(district):
    nodal = make_user("nodal_officer", district)
    patient = make_patient(district, symptom_onset_date=DAY - timedelta(days=11))
    discharge.flag_release_reviews(DAY, now=NOW)
    [review] = discharge.pending_reviews(nodal)
    with pytest.raises(Invalid):
        discharge.decide(review.id, nodal, discharge=False, note="")
    discharge.decide(review.id, nodal, discharge=False, note="Still coughing", now=NOW)
    assert db.session.get(Patient, patient.id).status == "active"
    assert discharge.flag_release_reviews(DAY + timedelta(days=1), now=NOW + timedelta(days=1)) == 0
    assert discharge.flag_release_reviews(DAY + timedelta(days=2), now=NOW + timedelta(days=2)) == 1


def test_only_doctors_and_officers_decide_and_only_in_their_district(district):
    make_patient(district, symptom_onset_date=DAY - timedelta(days=11))
    discharge.flag_release_reviews(DAY, now=NOW)
    review = db.session.scalars(db.select(DischargeReview)).one()
    for role in ("volunteer", "control_room", "counsellor"):
        with pytest.raises(Forbidden):
            discharge.decide(review.id, make_user(role, district), discharge=True)
    with pytest.raises(Exception) as exc:
        discharge.decide(review.id, make_user("doctor", make_district()), discharge=True)
    assert exc.type.__name__ == "NotFound"
    assert discharge.pending_reviews(make_user("doctor", make_district())) == []
