"""The end of a follow-up closes what waited on it: the pending discharge review and open escalations."""
from datetime import date

import pytest

from callcenter.clock import utcnow
from callcenter.extensions import db
from callcenter.models import AuditLog, DischargeReview, Escalation
from callcenter.services.desks import discharge, escalations
from callcenter.services.records import transfers

from ..factories import make_patient, make_user


def fresh(obj):
    return db.session.get(type(obj), obj.id, populate_existing=True)


def pending_review(patient):
    review = DischargeReview(patient_id=patient.id, district_id=patient.district_id, flagged_on=date.today(),
                             flagged_at=utcnow())
    db.session.add(review)
    db.session.commit()
    return review


def escalation(patient, kind, desk="doctor", severity="urgent"):
    esc = escalations.raise_escalation(patient, kind, desk, severity, source="call", summary=kind)
    db.session.commit()
    return esc


def audit_actions(table, row_id):
    return db.session.scalars(db.select(AuditLog.action).where(AuditLog.entity == table,
                                                               AuditLog.entity_id == row_id)).all()


@pytest.mark.parametrize("status, review_status", [("died", "closed"), ("moved_out", "closed"),
                                                   ("recovered", "discharged")])
def test_ending_the_follow_up_closes_the_review_and_cancels_open_escalations(district, status, review_status):
    officer = make_user("nodal_officer", district)
    doctor = make_user("doctor", district)
    patient = make_patient(district)
    review = pending_review(patient)
    opened = escalation(patient, "doctor")
    acknowledged = escalation(patient, "medicine", desk="control_room")
    escalations.acknowledge(acknowledged.id, make_user("control_room", district))
    in_progress = escalation(patient, "counselling", desk="counsellor")
    escalations.acknowledge(in_progress.id, make_user("counsellor", district))
    escalations.start(in_progress.id, make_user("counsellor", district))
    done = escalation(patient, "test")
    escalations.resolve(done.id, doctor, "Test booked.")
    other_patient = make_patient(district)
    others = escalation(other_patient, "doctor")

    transfers.end(patient.id, officer, status, "Told by the family.")

    review = fresh(review)
    assert (review.status, review.decided_by_id, review.note) == (review_status, officer.id, "Told by the family.")
    assert f"discharge_review.{review_status}" in audit_actions("discharge_review", review.id)
    for esc in (opened, acknowledged, in_progress):
        esc = fresh(esc)
        assert esc.status == "cancelled" and esc.closed_by_id == officer.id and esc.closed_at is not None
        assert esc.resolution == f"follow-up ended: {status} (Told by the family.)"
        assert "escalation.cancelled" in audit_actions("escalation", esc.id)
    assert fresh(done).status == "resolved" and fresh(done).resolution == "Test booked."
    assert fresh(others).status == "open"
    # Nothing left on the desks for this patient.
    assert db.session.scalar(db.select(db.func.count()).select_from(Escalation).where(
        Escalation.patient_id == patient.id, Escalation.status.in_(("open", "acknowledged", "in_progress")))) == 0


def test_a_discharge_decision_cancels_open_escalations_and_keeps_its_own_decision(district):
    doctor = make_user("doctor", district)
    patient = make_patient(district)
    review = pending_review(patient)
    esc = escalation(patient, "doctor")
    discharge.decide(review.id, doctor, True, note="Well, 10 days done.")
    review = fresh(review)
    assert (review.status, review.note) == ("discharged", "Well, 10 days done.")
    assert audit_actions("discharge_review", review.id).count("discharge_review.discharged") == 1
    esc = fresh(esc)
    assert esc.status == "cancelled" and esc.resolution == "follow-up ended: recovered (Well, 10 days done.)"


def test_no_review_and_no_escalation_is_fine(district):
    patient = make_patient(district)
    transfers.end(patient.id, make_user("nodal_officer", district), "died", "Died at home.")
    assert fresh(patient).status == "died"
    assert db.session.scalar(db.select(db.func.count()).select_from(DischargeReview)) == 0
