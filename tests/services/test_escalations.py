"""The escalation lifecycle: every legal and illegal step, desks, versions and the audit trail."""
import pytest

from callcenter.extensions import db
from callcenter.models import AuditLog, Escalation
from callcenter.rules.routing import Desk, Severity
from callcenter.services.core.errors import Conflict, Forbidden, Invalid, NotFound
from callcenter.services.desks import escalations as esc_service

from ..factories import make_district, make_patient, make_user


def raise_one(district, kind="ambulance", desk=Desk.CONTROL_ROOM, severity=Severity.EMERGENCY):
    esc = esc_service.raise_escalation(make_patient(district), kind, desk, severity, source="call")
    db.session.commit()
    return esc


def actions_logged(esc):
    return [a.action for a in db.session.scalars(
        db.select(AuditLog).where(AuditLog.entity == "escalation", AuditLog.entity_id == esc.id)
        .order_by(AuditLog.id))]


def test_full_lifecycle_is_timestamped_and_audited(district):
    operator = make_user("control_room", district)
    esc = raise_one(district)
    esc_service.acknowledge(esc.id, operator)
    esc_service.start(esc.id, operator, "Ambulance CG04 1234 sent")
    esc_service.resolve(esc.id, operator, "Admitted at AIIMS")
    esc = db.session.get(Escalation, esc.id)
    assert esc.status == "resolved"
    assert esc.acknowledged_by_id == operator.id and esc.owner_id == operator.id
    assert esc.created_at <= esc.acknowledged_at <= esc.started_at <= esc.closed_at
    assert esc.resolution == "Admitted at AIIMS"
    assert [n.text for n in esc.notes] == ["Ambulance CG04 1234 sent"]
    assert actions_logged(esc) == ["escalation.raise", "escalation.acknowledge", "escalation.start",
                                   "escalation.resolved"]


@pytest.mark.parametrize("steps, illegal", [
    (["resolve"], "resolve"),          # resolving twice
    (["cancel"], "acknowledge"),       # acknowledging a cancelled one
    (["cancel"], "resolve"),
    (["acknowledge"], "acknowledge"),
    ([], "start"),                     # work cannot start before acknowledgement
    (["resolve"], "cancel"),
])
def test_illegal_steps_are_refused(district, steps, illegal):
    operator = make_user("control_room", district)
    esc = raise_one(district)
    do = {
        "acknowledge": lambda: esc_service.acknowledge(esc.id, operator),
        "start": lambda: esc_service.start(esc.id, operator),
        "resolve": lambda: esc_service.resolve(esc.id, operator, "done"),
        "cancel": lambda: esc_service.cancel(esc.id, operator, "duplicate"),
    }
    for step in steps:
        do[step]()
    before = db.session.get(Escalation, esc.id, populate_existing=True).status
    with pytest.raises(Conflict):
        do[illegal]()
    assert db.session.get(Escalation, esc.id, populate_existing=True).status == before


def test_resolve_and_cancel_need_text(district):
    operator = make_user("control_room", district)
    esc = raise_one(district)
    with pytest.raises(Invalid):
        esc_service.resolve(esc.id, operator, "  ")
    with pytest.raises(Invalid):
        esc_service.cancel(esc.id, operator, "")
    assert db.session.get(Escalation, esc.id).status == "open"


def test_stale_version_is_refused(district):
    operator = make_user("control_room", district)
    esc = raise_one(district)
    seen = esc.version
    esc_service.acknowledge(esc.id, operator, version=seen)
    with pytest.raises(Conflict):
        esc_service.cancel(esc.id, make_user("control_room", district), "dup", version=seen)


def test_desks_are_separate(district):
    esc = raise_one(district, kind="doctor", desk=Desk.DOCTOR, severity=Severity.ROUTINE)
    with pytest.raises(Forbidden):
        esc_service.acknowledge(esc.id, make_user("counsellor", district))
    with pytest.raises(Forbidden):
        esc_service.acknowledge(esc.id, make_user("control_room", district))
    esc_service.acknowledge(esc.id, make_user("doctor", district))
    esc_service.add_note(esc.id, make_user("nodal_officer", district), "Doctor called back")


def test_other_district_is_not_found(district):
    esc = raise_one(make_district())
    with pytest.raises(NotFound):
        esc_service.acknowledge(esc.id, make_user("control_room", district))


def test_desk_queue_orders_emergencies_first_then_oldest(district):
    operator = make_user("control_room", district)
    routine = raise_one(district, kind="medicine", severity=Severity.ROUTINE)
    emergency = raise_one(district, kind="oxygen")
    older_emergency_closed = raise_one(district, kind="ambulance")
    esc_service.cancel(older_emergency_closed.id, operator, "duplicate")
    raise_one(make_district(), kind="oxygen")  # another district: not shown
    assert [e.id for e in esc_service.desk_queue(operator, Desk.CONTROL_ROOM)] == [emergency.id, routine.id]
    with pytest.raises(Forbidden):
        esc_service.desk_queue(operator, Desk.DOCTOR)


def test_routine_raised_to_emergency_on_repeat(district):
    patient = make_patient(district)
    first = esc_service.raise_escalation(patient, "doctor", Desk.DOCTOR, Severity.ROUTINE, source="call")
    again = esc_service.raise_escalation(patient, "doctor", Desk.DOCTOR, Severity.EMERGENCY, source="checkin",
                                         reasons=[("spo2", 90)])
    db.session.commit()
    assert first.id == again.id and again.severity == "emergency" and again.respond_by is not None
    assert again.reasons == [["spo2", 90]]
