"""The escalation state machine, table-driven: every step from every status, legal or refused, with its
timestamps, owner and audit trail; and reassigning (who may take an escalation over)."""
from datetime import timedelta

import pytest

from callcenter.clock import utcnow
from callcenter.extensions import db
from callcenter.models import AuditLog, Escalation, EscalationNote
from callcenter.rules.routing import Desk, Severity
from callcenter.services.core.errors import Conflict, Forbidden, Invalid, NotFound
from callcenter.services.desks import dispatch as dispatch_service
from callcenter.services.desks import escalations as esc_service

from ..factories import facility, make_district, make_patient, make_user

NOW = utcnow().replace(microsecond=0)


def raise_one(district, kind="ambulance", desk=Desk.CONTROL_ROOM, severity=Severity.EMERGENCY, patient=None):
    esc = esc_service.raise_escalation(patient or make_patient(district), kind, desk, severity, source="call",
                                       now=NOW)
    db.session.commit()
    return esc


def ambulance(district, minutes=20):
    return {"kind": "ambulance", "vehicle_number": "CG 04 AB 1234", "driver_phone": "98260 12345",
            "destination_facility_id": facility(district, "hospital").id, "eta": NOW + timedelta(minutes=minutes)}


def audit_actions(esc_id):
    return [a.action for a in db.session.scalars(
        db.select(AuditLog).where(AuditLog.entity == "escalation", AuditLog.entity_id == esc_id)
        .order_by(AuditLog.id))]


def fresh(esc_id):
    return db.session.get(Escalation, esc_id, populate_existing=True)


class Ctx:
    def __init__(self, district):
        self.district = district
        self.operator = make_user("control_room", district)
        self.colleague = make_user("control_room", district)


# Each step, done by ctx.operator at NOW + 1 minute.
STEPS = {
    "acknowledge": lambda c, e: esc_service.acknowledge(e, c.operator, now=NOW + timedelta(minutes=1)),
    "start": lambda c, e: esc_service.start(e, c.operator, "on it", now=NOW + timedelta(minutes=1)),
    "dispatch": lambda c, e: dispatch_service.dispatch(e, c.operator, ambulance(c.district),
                                                       now=NOW + timedelta(minutes=1)),
    "resolve": lambda c, e: esc_service.resolve(e, c.operator, "Patient stable", outcome="managed_at_home",
                                                now=NOW + timedelta(minutes=1)),
    "cancel": lambda c, e: esc_service.cancel(e, c.operator, "Duplicate", now=NOW + timedelta(minutes=1)),
    "reassign": lambda c, e: esc_service.reassign(e, c.operator, c.colleague.id, "Shift change",
                                                  now=NOW + timedelta(minutes=1)),
}
# How to reach each status from a fresh escalation (done by ctx.operator at NOW).
REACH = {
    "open": [],
    "acknowledged": [lambda c, e: esc_service.acknowledge(e, c.operator, now=NOW)],
    "in_progress": [lambda c, e: esc_service.acknowledge(e, c.operator, now=NOW),
                    lambda c, e: esc_service.start(e, c.operator, now=NOW)],
    "resolved": [lambda c, e: esc_service.resolve(e, c.operator, "done", outcome="other", now=NOW)],
    "cancelled": [lambda c, e: esc_service.cancel(e, c.operator, "duplicate", now=NOW)],
}
# status → step → the status after it; a step missing from a row is refused (Conflict).
LEGAL = {
    "open": {"acknowledge": "acknowledged", "resolve": "resolved", "cancel": "cancelled", "reassign": "open"},
    "acknowledged": {"start": "in_progress", "dispatch": "in_progress", "resolve": "resolved",
                     "cancel": "cancelled", "reassign": "acknowledged"},
    "in_progress": {"dispatch": "in_progress", "resolve": "resolved", "cancel": "cancelled",
                    "reassign": "in_progress"},
    "resolved": {},
    "cancelled": {},
}
TABLE = [(status, step, LEGAL[status].get(step)) for status in LEGAL for step in STEPS]


@pytest.mark.parametrize("status, step, after", TABLE, ids=[f"{s}-{a}" for s, a, _x in TABLE])
def test_every_step_from_every_status(district, status, step, after):
    ctx = Ctx(district)
    esc_id = raise_one(district).id
    for reach in REACH[status]:
        reach(ctx, esc_id)
    before = fresh(esc_id)
    version, logged = before.version, audit_actions(esc_id)
    assert before.status == status
    if after is None:
        with pytest.raises(Conflict) as refused:
            STEPS[step](ctx, esc_id)
        # Refused clearly: it names the status, and nothing changed.
        assert "cannot be changed" in str(refused.value.message) or "no longer be reassigned" in str(
            refused.value.message)
        esc = fresh(esc_id)
        assert (esc.status, esc.version) == (status, version)
        assert audit_actions(esc_id) == logged
        assert esc.dispatches == []
        return
    STEPS[step](ctx, esc_id)
    esc = fresh(esc_id)
    assert esc.status == after
    assert esc.version > version  # every step is a new version: a stale view cannot repeat it
    assert len(audit_actions(esc_id)) > len(logged)
    at = NOW + timedelta(minutes=1)
    if step == "acknowledge":
        assert (esc.acknowledged_at, esc.acknowledged_by_id, esc.owner_id) == (at, ctx.operator.id, ctx.operator.id)
    if step in ("start", "dispatch") and status == "acknowledged":
        assert esc.started_at == at
    if step in ("resolve", "cancel"):
        assert (esc.closed_at, esc.closed_by_id) == (at, ctx.operator.id)
        assert esc.outcome == ("managed_at_home" if step == "resolve" else None)
    if step == "reassign":
        assert esc.owner_id == ctx.colleague.id


def test_whole_lifecycle_timestamped_and_audited(district):
    operator = make_user("control_room", district)
    esc_id = raise_one(district).id
    t = [NOW + timedelta(minutes=m) for m in range(4)]
    esc_service.acknowledge(esc_id, operator, now=t[1])
    dispatch_service.dispatch(esc_id, operator, ambulance(district, minutes=30), now=t[2])
    esc_service.resolve(esc_id, operator, "Reached the hospital", outcome="referred", now=t[3])
    esc = fresh(esc_id)
    assert (esc.created_at, esc.acknowledged_at, esc.started_at, esc.closed_at) == tuple(t)
    assert (esc.status, esc.outcome, esc.resolution) == ("resolved", "referred", "Reached the hospital")
    assert audit_actions(esc_id) == ["escalation.raise", "escalation.acknowledge", "escalation.dispatch",
                                     "escalation.resolved"]
    resolved = db.session.scalars(db.select(AuditLog).where(AuditLog.action == "escalation.resolved")).one()
    assert resolved.details == {"text": "Reached the hospital", "outcome": "referred"}


def test_unknown_outcome_is_refused(district):
    operator = make_user("control_room", district)
    esc_id = raise_one(district).id
    with pytest.raises(Invalid) as refused:
        esc_service.resolve(esc_id, operator, "done", outcome="magic")
    assert set(refused.value.errors) == {"outcome"}
    assert fresh(esc_id).status == "open"


def test_outcome_is_optional_for_older_callers(district):
    esc_id = raise_one(district).id
    esc_service.resolve(esc_id, make_user("control_room", district), "Handled")
    assert (fresh(esc_id).status, fresh(esc_id).outcome) == ("resolved", None)


def test_act_passes_the_outcome(district):
    esc_id = raise_one(district).id
    esc_service.act(esc_id, make_user("control_room", district), "resolve", "Medicine reached", outcome="delivered")
    assert fresh(esc_id).outcome == "delivered"
    assert set(esc_service.ACTIONS) == {"acknowledge", "start", "note", "resolve", "cancel"}


# ── Reassigning ──────────────────────────────────────────────────────────────────────────────────────

def test_reassign_hands_over_with_a_note_and_audit(district):
    operator, colleague = make_user("control_room", district), make_user("control_room", district)
    esc_id = raise_one(district).id
    esc_service.acknowledge(esc_id, operator)
    version = fresh(esc_id).version
    esc_service.reassign(esc_id, operator, colleague.id, "  My shift ends ", version=version, now=NOW)
    esc = fresh(esc_id)
    assert esc.owner_id == colleague.id and esc.status == "acknowledged"
    note = db.session.scalars(db.select(EscalationNote).where(EscalationNote.escalation_id == esc_id)).one()
    assert (note.user_id, note.at, note.text) == (operator.id, NOW, f"→ {colleague}: My shift ends")
    logged = db.session.scalars(db.select(AuditLog).where(AuditLog.action == "escalation.reassign")).one()
    assert logged.details == {"from_owner_id": operator.id, "to_owner_id": colleague.id, "note": "My shift ends"}
    # the new owner works it from here
    dispatch_service.dispatch(esc_id, colleague, ambulance(district), now=NOW)
    assert fresh(esc_id).owner_id == colleague.id


@pytest.mark.parametrize("who", ["doctor", "volunteer", "other_district", "inactive", "owner", "nobody", "admin"])
def test_reassign_only_to_an_active_colleague_of_the_same_desk_and_district(district, who):
    operator = make_user("control_room", district)
    esc_id = raise_one(district).id
    esc_service.acknowledge(esc_id, operator)
    target = {
        "doctor": lambda: make_user("doctor", district).id,
        "volunteer": lambda: make_user("volunteer", district).id,
        "other_district": lambda: make_user("control_room", make_district()).id,
        "inactive": lambda: _inactive(make_user("control_room", district)).id,
        "owner": lambda: operator.id,
        "nobody": lambda: 999999,
        "admin": lambda: make_user("admin", None).id,  # a supervisor, not an operator of this desk
    }[who]()
    with pytest.raises(Invalid) as refused:
        esc_service.reassign(esc_id, operator, target, "handing over")
    assert set(refused.value.errors) == {"owner_id"}
    if who == "owner":
        assert str(refused.value.message) == "It is already theirs."
    assert fresh(esc_id).owner_id == operator.id


def _inactive(user):
    user.active = False
    db.session.commit()
    return user


def test_reassign_needs_a_note_and_a_fresh_version(district):
    operator, colleague = make_user("control_room", district), make_user("control_room", district)
    esc_id = raise_one(district).id
    with pytest.raises(Invalid) as refused:
        esc_service.reassign(esc_id, operator, colleague.id, "   ")
    assert set(refused.value.errors) == {"text"}
    seen = fresh(esc_id).version
    esc_service.acknowledge(esc_id, operator, version=seen)
    with pytest.raises(Conflict):
        esc_service.reassign(esc_id, operator, colleague.id, "take it", version=seen)
    assert fresh(esc_id).owner_id == operator.id


def test_reassign_outside_the_desk_or_district(district):
    esc_id = raise_one(district).id
    with pytest.raises(Forbidden):
        esc_service.reassign(esc_id, make_user("doctor", district), make_user("control_room", district).id, "x")
    with pytest.raises(NotFound):
        esc_service.reassign(esc_id, make_user("control_room", make_district()),
                             make_user("control_room", district).id, "x")


def test_supervisor_may_hand_over_a_doctor_escalation(district):
    officer = make_user("nodal_officer", district)
    doctor = make_user("doctor", district)
    esc_id = raise_one(district, kind="doctor", desk=Desk.DOCTOR, severity=Severity.ROUTINE).id
    assert [u.id for u in esc_service.reassign_candidates(fresh(esc_id))] == [doctor.id]
    esc_service.reassign(esc_id, officer, doctor.id, "Dr. on duty tonight")
    assert fresh(esc_id).owner_id == doctor.id
