"""Awareness broadcasts: who they reach (households, opt-outs, scope, filters), four eyes, idempotent sending
through the outbox after everything else, TRAI's hours for promotional messages, cancelling."""
from datetime import datetime, timedelta

import pytest

from callcenter.clock import local_date, local_to_utc
from callcenter.extensions import db
from callcenter.models import AuditLog, Block, OutboundMessage, Village, VillageContact
from callcenter.rules import broadcasts as rules
from callcenter.services.broadcasts import broadcasts
from callcenter.services.broadcasts.audience import Audience, size
from callcenter.services.core.errors import Conflict, Forbidden, Invalid, NotFound
from callcenter.services.outbox.enqueue import enqueue_daily_checkins, enqueue_sms
from callcenter.services.outbox.sender import send_pending

from ..checkins.outbox_helpers import FakeClock, FakeGateway
from ..factories import facility, make_district, make_patient, make_user, phone, village

NOW = local_to_utc(datetime(2026, 12, 5, 10, 0))
CAMP = {"district": "Raipur", "what": "vaccination", "place": "Govt school", "day": "6 Dec", "time": "10:00"}
HELPLINE = {"district": "Raipur", "what": "oxygen", "number": "0771-4000000", "hours": "24 hours"}


def count(district, **audience):
    return size(Audience.from_dict(audience), district.id, NOW)


def test_one_message_per_phone_and_never_to_stop_or_a_wrong_number(district):
    shared = phone()
    make_patient(district, phone_number=shared)
    make_patient(district, phone_number=shared)  # a household on one phone
    make_patient(district)
    make_patient(district, sms_opt_out=True)
    make_patient(district, phone_invalid=True)
    make_patient(district, status="recovered", ended_at=NOW - timedelta(days=3))
    make_patient(make_district())  # another district's
    assert count(district) == (3, 2)  # people, phones
    assert count(district, who="recovered", recovered_days=3) == (1, 1)
    assert count(district, who="recovered", recovered_days=2) == (0, 0)


def test_filters_narrow_the_audience(district):
    here = village(district)
    elsewhere = Village(block=db.session.get(Block, here.block_id), name="Other village")
    db.session.add(elsewhere)
    db.session.commit()
    for p in (make_patient(district, village_id=here.id, age=70), make_patient(district, setting="hospital")):
        p.language = "hi"
    make_patient(district, village_id=elsewhere.id)  # (the factory's patients speak English)
    db.session.commit()
    assert count(district, village_id=here.id) == (1, 1)
    assert count(district, block_id=here.block_id) == (2, 2)
    assert count(district, high_risk=True) == (1, 1)
    assert count(district, language="en") == (1, 1)
    assert count(district, setting="hospital") == (1, 1)
    assert count(district, facility_id=facility(district, "hospital").id) == (1, 1)


def test_village_contacts_are_an_audience_of_their_own(district):
    here = village(district)
    db.session.add_all([VillageContact(village_id=here.id, name="Sarpanch", role="sarpanch", phone=phone(),
                                       active=True, created_at=NOW),
                        VillageContact(village_id=here.id, name="Old", role="sarpanch", phone=phone(),
                                       active=False, created_at=NOW)])
    db.session.commit()
    make_patient(district, village_id=here.id)
    assert count(district, who="contacts") == (1, 1)
    assert count(district, who="contacts", block_id=here.block_id) == (1, 1)


def test_a_wrong_audience_or_message_is_refused_with_a_reason(district):
    officer = make_user("nodal_officer", district)
    make_patient(district)
    make_patient(make_district())
    with pytest.raises(Invalid):
        broadcasts.draft(officer, "t", "broadcast_camp", dict(CAMP, place="x" * 31), {}, NOW, now=NOW)
    with pytest.raises(Invalid):
        broadcasts.draft(officer, "t", "help_ambulance", {}, {}, NOW, now=NOW)  # not a broadcast message
    with pytest.raises(Invalid):
        broadcasts.draft(officer, "t", "broadcast_helpline", HELPLINE, {"who": "everyone"}, NOW, now=NOW)
    with pytest.raises(Invalid):  # another district's village
        broadcasts.draft(officer, "t", "broadcast_helpline", HELPLINE,
                         {"village_id": village(make_district()).id}, NOW, now=NOW)
    with pytest.raises(Forbidden):
        broadcasts.draft(officer, "t", "broadcast_helpline", HELPLINE, {}, NOW, district_id=make_district().id,
                         now=NOW)
    state = broadcasts.draft(make_user("admin", None), "t", "broadcast_helpline", HELPLINE, {}, NOW, now=NOW)
    assert (state.district_id, state.phones) == (None, 2)  # a state-level officer's: every district
    with pytest.raises(NotFound):  # and no district's officer sees it
        broadcasts.get(state.id, officer)
    with pytest.raises(Forbidden):
        broadcasts.draft(make_user("volunteer", district), "t", "broadcast_helpline", HELPLINE, {}, NOW, now=NOW)
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboundMessage)) == 0


def test_four_eyes_then_queued_once_after_everything_else(district):
    for _ in range(5):
        make_patient(district)
    drafter, approver = make_user("control_room", district), make_user("nodal_officer", district)
    draft = broadcasts.draft(drafter, "Oxygen helpline", "broadcast_helpline", HELPLINE, {}, NOW, now=NOW)
    assert (draft.status, draft.people, draft.phones) == ("draft", 5, 5)
    with pytest.raises(Forbidden):
        broadcasts.approve(draft.id, drafter, now=NOW)  # not the drafter (nor the control room)
    own = broadcasts.draft(approver, "Own", "broadcast_helpline", HELPLINE, {}, NOW, now=NOW)
    with pytest.raises(Forbidden):
        broadcasts.approve(own.id, approver, now=NOW)  # a nodal officer's own draft neither
    approved = broadcasts.approve(draft.id, approver, now=NOW)
    assert (approved.status, approved.phones, approved.approved_by_id) == ("queued", 5, approver.id)
    with pytest.raises(Conflict):
        broadcasts.approve(draft.id, make_user("admin", None), now=NOW)
    assert broadcasts.enqueue(approved, NOW, NOW) == 0  # run again: nothing twice
    rows = db.session.scalars(db.select(OutboundMessage).where(OutboundMessage.broadcast_id == draft.id)).all()
    assert len(rows) == 5 and {r.priority for r in rows} == {3} and all("0771-4000000" in r.body for r in rows)
    actions = db.session.scalars(db.select(AuditLog.action).where(AuditLog.entity == "broadcast")).all()
    assert sorted(actions) == ["broadcast.approve", "broadcast.draft", "broadcast.draft"]


def test_help_on_the_way_and_check_ins_go_before_a_broadcast(district):
    for _ in range(30):
        make_patient(district)
    drafter, approver = make_user("control_room", district), make_user("nodal_officer", district)
    draft = broadcasts.draft(drafter, "Camp", "broadcast_camp", CAMP, {}, NOW, now=NOW)
    broadcasts.approve(draft.id, approver, now=NOW)
    patient = make_patient(district)
    later = NOW + timedelta(minutes=5)
    enqueue_sms("dispatch:1", patient.phone, "help_ambulance", "hi", now=later, patient_id=patient.id,
                vehicle="CG04AB1234", eta="10:30", driver="+919826012345")
    db.session.commit()
    assert enqueue_daily_checkins(local_date(NOW), now=later)["enqueued"] == 31  # the day's check-ins after it
    gateway = FakeGateway()
    send_pending(gateway, clock=FakeClock(), now_fn=lambda: later, limit=32)
    assert "CG04AB1234" in gateway.handed[0].content  # queued after the broadcast, sent first
    assert all("Sampark COVID care: how are you today?" in h.content for h in gateway.handed[1:])  # check-ins
    send_pending(gateway, clock=FakeClock(), now_fn=lambda: later)
    assert all("vaccination camp" in h.content for h in gateway.handed[32:]) and len(gateway.handed) == 62
    assert {m.status for m in db.session.scalars(db.select(OutboundMessage))} == {"sent"}  # each once


def test_promotional_messages_only_in_trai_hours_and_never_sent_at_night(district):
    make_patient(district)
    drafter, approver = make_user("control_room", district), make_user("nodal_officer", district)
    night = local_to_utc(datetime(2026, 12, 5, 22, 0))
    with pytest.raises(Invalid) as refused:
        broadcasts.draft(drafter, "Camp", "broadcast_camp", CAMP, {}, night, now=NOW)
    assert "09:00" in str(refused.value.message) and "21:00" in str(refused.value.message)
    # A service message may be queued for any time, but the sender keeps broadcasts for the day.
    draft = broadcasts.draft(drafter, "Helpline", "broadcast_helpline", HELPLINE, {}, night, now=NOW)
    broadcasts.approve(draft.id, approver, now=NOW)
    gateway = FakeGateway()
    send_pending(gateway, clock=FakeClock(), now_fn=lambda: night + timedelta(minutes=1))
    assert gateway.handed == []
    send_pending(gateway, clock=FakeClock(), now_fn=lambda: local_to_utc(datetime(2026, 12, 6, 9, 0)))
    assert len(gateway.handed) == 1


def test_cancelling_stops_what_has_not_gone_out(district):
    for _ in range(4):
        make_patient(district)
    drafter, approver = make_user("control_room", district), make_user("nodal_officer", district)
    draft = broadcasts.draft(drafter, "Helpline", "broadcast_helpline", HELPLINE, {}, NOW, now=NOW)
    broadcasts.approve(draft.id, approver, now=NOW)
    send_pending(FakeGateway(), clock=FakeClock(), now_fn=lambda: NOW, limit=1)
    broadcasts.cancel(draft.id, drafter, now=NOW)
    assert broadcasts.progress(draft) == {"sent": 1, "cancelled": 3}
    assert broadcasts.cancel(draft.id, drafter, now=NOW).status == "cancelled"  # twice: the same
    with pytest.raises(NotFound):
        broadcasts.get(draft.id, make_user("nodal_officer", make_district()))  # another district's: not found


def test_segments_count_hindi_as_unicode():
    assert rules.segments("a" * 160) == 1 and rules.segments("a" * 161) == 2
    assert rules.segments("स" * 70) == 1 and rules.segments("स" * 71) == 2 and rules.segments("स" * 135) == 3
    assert rules.segments("{" * 80) == 1 and rules.segments("{" * 81) == 2  # extension characters count twice
