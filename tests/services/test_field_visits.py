"""Field visits: the list per block, and what each recorded result does."""
from datetime import datetime, timedelta

import pytest

from callcenter.clock import utcnow
from callcenter.extensions import db
from callcenter.models import AuditLog, Block, CallTask, Escalation, Patient, TaskStatus, Village
from callcenter.rules.routing import Desk, Severity
from callcenter.services.calls import calls, queue
from callcenter.services.core import settings
from callcenter.services.core.errors import Conflict, Forbidden, Invalid, NotFound
from callcenter.services.desks import escalations, field_visits

from ..factories import make_attempt, make_district, make_patient, make_task, make_user, village

NOW = datetime(2024, 5, 10, 6, 0)


def unreachable(patient, now=NOW - timedelta(hours=3), attempts=3):
    esc = escalations.raise_escalation(patient, "field_visit", Desk.CONTROL_ROOM, Severity.ROUTINE, source="call",
                                       now=now, reasons=(("attempts", attempts),))
    db.session.commit()
    return esc


def second_block(district, name="Abhanpur"):
    block = Block(district_id=district.id, name=name)
    place = Village(block=block, name=f"{name} village")
    db.session.add_all([block, place])
    db.session.commit()
    return block, place


def test_the_last_failed_attempt_puts_the_patient_on_the_field_visit_list(district):
    """End to end with services/calls/calls.py: the day's last failed attempt raises the field visit."""
    volunteer = make_user("volunteer", district)
    operator = make_user("control_room", district)
    patient = make_patient(district, name="Lakhan Dhruw", village_id=village(district).id, address="Ward 4")
    start = utcnow()  # after the patient was registered
    make_task(patient, due_at=start - timedelta(minutes=1))
    tries = settings.get("max_attempts_per_day")
    for i in range(tries):
        task = queue.claim_next_task(volunteer, now=start + timedelta(hours=i))
        assert task is not None
        calls.log_attempt(task.id, volunteer, {"outcome": "no_answer"}, f"k{i}", now=start + timedelta(hours=i))
    groups = field_visits.open_visits(operator)
    [visit] = groups[0].visits
    assert visit.patient.name == "Lakhan Dhruw"
    assert visit.failed_attempts == tries and visit.escalation.reasons == [["attempts", tries]]
    assert groups[0].block.id == village(district).block_id


def test_list_is_grouped_by_block_and_scoped_to_the_district(district):
    operator = make_user("control_room", district)
    home_block_village = village(district)
    block2, village2 = second_block(district)
    in_b1 = make_patient(district, name="In block one", village_id=home_block_village.id, address="House 12")
    in_b2 = make_patient(district, name="In Abhanpur", village_id=village2.id)
    nowhere = make_patient(district, name="No village")
    other = make_patient(make_district(), name="Other district")
    for p in (in_b1, in_b2, nowhere, other):
        unreachable(p)
    not_a_visit = make_patient(district, village_id=village2.id)
    escalations.raise_escalation(not_a_visit, "medicine", Desk.CONTROL_ROOM, Severity.ROUTINE, source="call")
    db.session.commit()

    groups = field_visits.open_visits(operator)
    assert [(g.block.name if g.block else None, [v.patient.name for v in g.visits]) for g in groups] == [
        ("Abhanpur", ["In Abhanpur"]), (home_block_village.block.name, ["In block one"]), (None, ["No village"])]
    visit = groups[1].visits[0]
    assert visit.village.id == home_block_village.id and visit.patient.address == "House 12"
    only = field_visits.open_visits(operator, block2.id)
    assert [[v.patient.name for v in g.visits] for g in only] == [["In Abhanpur"]]
    no_village = field_visits.open_visits(operator, field_visits.NO_BLOCK)
    assert [[v.patient.name for v in g.visits] for g in no_village] == [["No village"]]
    assert {b.name for b in field_visits.blocks(operator)} == {"Abhanpur", home_block_village.block.name}


def test_failed_attempts_count_since_the_patient_was_last_reached(district):
    operator = make_user("control_room", district)
    volunteer = make_user("volunteer", district)
    patient = make_patient(district, last_contact_at=NOW - timedelta(days=1))
    make_attempt(patient, volunteer, NOW - timedelta(days=2), outcome="no_answer")  # before the last contact
    make_attempt(patient, volunteer, NOW - timedelta(hours=5), outcome="busy")
    make_attempt(patient, volunteer, NOW - timedelta(hours=4), outcome="switched_off")
    make_attempt(patient, volunteer, NOW - timedelta(hours=3), outcome="call_back_later")  # not a failure
    unreachable(patient)
    [group] = field_visits.open_visits(operator)
    assert group.visits[0].failed_attempts == 2


def _result(operator, esc, result, note="", send_to=None):
    return field_visits.record(esc.id, operator, result, note, send_to=send_to, now=NOW)


def test_met_well_resolves_and_counts_as_contact(district):
    operator = make_user("control_room", district)
    patient = make_patient(district)
    esc = unreachable(patient)
    done = _result(operator, esc, "met_well", "Phone was broken; new number to follow")
    esc = db.session.get(Escalation, esc.id)
    assert (esc.status, esc.outcome, esc.closed_by_id) == ("resolved", "met_well", operator.id)
    assert esc.resolution == "Met – well: Phone was broken; new number to follow"
    assert done.raised is None and not done.ended
    assert db.session.get(Patient, patient.id).last_contact_at == NOW
    audit = db.session.scalars(db.select(AuditLog).where(AuditLog.action == "field_visit.record")).one()
    assert audit.entity_id == esc.id and audit.details["result"] == "met_well"
    assert field_visits.open_visits(operator) == []


@pytest.mark.parametrize("send_to, desk, kind, severity", [
    ("doctor", "doctor", "doctor", "routine"),
    ("emergency", "control_room", "warning_sign", "emergency"),
])
def test_met_unwell_sends_the_patient_to_the_right_desk(district, send_to, desk, kind, severity):
    operator = make_user("control_room", district)
    patient = make_patient(district)
    esc = unreachable(patient)
    done = _result(operator, esc, "met_unwell", "Fever for 4 days, breathless", send_to=send_to)
    raised = db.session.get(Escalation, done.raised.id)
    assert (raised.desk, raised.kind, raised.severity, raised.source) == (desk, kind, severity, "field")
    assert raised.summary == "Fever for 4 days, breathless" and raised.patient_id == patient.id
    assert db.session.get(Escalation, esc.id).outcome == "met_unwell"


def test_met_unwell_needs_a_note_and_a_desk(district):
    operator = make_user("control_room", district)
    esc = unreachable(make_patient(district))
    with pytest.raises(Invalid) as exc:
        _result(operator, esc, "met_unwell")
    assert set(exc.value.errors) == {"send_to", "note"}
    with pytest.raises(Invalid) as exc:
        _result(operator, esc, "wrong_address")
    assert set(exc.value.errors) == {"note"}
    with pytest.raises(Invalid):
        _result(operator, esc, "gone_fishing")
    assert db.session.get(Escalation, esc.id).status == "open"


@pytest.mark.parametrize("result", ["not_at_home", "wrong_address"])
def test_not_found_results_only_close_the_visit(district, result):
    operator = make_user("nodal_officer", district)
    patient = make_patient(district)
    task = make_task(patient, day=(NOW + timedelta(days=1)).date())
    esc = unreachable(patient)
    done = _result(operator, esc, result, "Locked; neighbours say back tonight")
    assert db.session.get(Escalation, esc.id).outcome == result
    assert done.raised is None and not done.ended
    patient = db.session.get(Patient, patient.id)
    assert patient.is_active and patient.last_contact_at is None
    assert db.session.get(CallTask, task.id).status == TaskStatus.PENDING


@pytest.mark.parametrize("result, status", [("moved_out", "moved_out"), ("died", "died")])
def test_moved_out_or_died_ends_the_follow_up(district, result, status):
    operator = make_user("admin", district)
    patient = make_patient(district)
    task = make_task(patient)
    esc = unreachable(patient)
    done = _result(operator, esc, result)
    patient = db.session.get(Patient, patient.id)
    assert done.ended and patient.status == status and patient.ended_at == NOW
    assert db.session.get(CallTask, task.id).status == TaskStatus.CANCELLED
    assert db.session.get(Escalation, esc.id).outcome == result
    ended = db.session.scalars(db.select(AuditLog).where(AuditLog.action == "patient.end_follow_up")).one()
    assert ended.details["status"] == status


def test_who_may_record_and_where(district):
    esc = unreachable(make_patient(district))
    for role in ("doctor", "counsellor", "volunteer"):
        with pytest.raises(Forbidden):
            _result(make_user(role, district), esc, "met_well")
        with pytest.raises(Forbidden):
            field_visits.open_visits(make_user(role, district))
    with pytest.raises(NotFound):
        _result(make_user("control_room", make_district()), esc, "met_well")
    medicine = escalations.raise_escalation(make_patient(district), "medicine", Desk.CONTROL_ROOM, Severity.ROUTINE,
                                            source="call")
    db.session.commit()
    with pytest.raises(NotFound):  # not a field visit
        _result(make_user("control_room", district), medicine, "met_well")
    assert db.session.get(Escalation, esc.id).status == "open"


def test_a_visit_is_recorded_once(district):
    operator, other = make_user("control_room", district), make_user("control_room", district)
    esc = unreachable(make_patient(district))
    version = esc.version
    field_visits.record(esc.id, operator, "met_well", version=version, now=NOW)
    with pytest.raises(Conflict):
        field_visits.record(esc.id, other, "not_at_home", "x", version=version, now=NOW)
    esc2 = unreachable(make_patient(district))
    escalations.add_note(esc2.id, operator, "Team leaves at 10")  # notes do not bump the version
    escalations.acknowledge(esc2.id, operator)
    with pytest.raises(Conflict):  # the page was opened before someone else changed it
        field_visits.record(esc2.id, other, "met_well", version=version, now=NOW)
