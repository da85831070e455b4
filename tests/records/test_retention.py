"""Retention (services/records/retention.py): patients whose follow-up ended more than the limit ago are
anonymised, exactly those (one day inside the limit is kept, one day outside is not), their free text and
messages go, old messages and import rows are deleted, and a second run changes nothing. An anonymised record is
never matched again by the importer or the SMS sender look-up."""
import hashlib
from datetime import timedelta

import pytest

from callcenter.clock import utcnow
from callcenter.extensions import db
from callcenter.models import (
    AuditLog,
    CallAttempt,
    CheckIn,
    Consultation,
    Escalation,
    EscalationNote,
    Household,
    ImportBatch,
    ImportRow,
    InboundMessage,
    IvrCall,
    OutboundMessage,
    Patient,
    Transfer,
)
from callcenter.services.checkins import inbound
from callcenter.services.records import retention

from ..factories import make_attempt, make_checkin, make_district, make_patient, make_user

DAYS = 180


@pytest.fixture
def now():
    return utcnow().replace(microsecond=0)


def _closed(district, now, ended_days_ago, name, phone, **extra):
    patient = make_patient(district, name=name, phone_number=phone, status="recovered",
                           ended_at=now - timedelta(days=ended_days_ago), address="House 12, Gali 3",
                           abha_number="91123456789012", lab_id=f"CG-{phone[-6:]}", attendant_phone="+919826099999",
                           **extra)
    patient.created_at = patient.ended_at - timedelta(days=12)
    db.session.commit()
    return patient


def _history(patient, user, at):
    """One of everything that holds free text or a copy of the patient's identity."""
    make_attempt(patient, user, at, notes="Says the neighbour Ramesh (98260 11111) brings food")
    make_checkin(patient, at, raw="ok 97 98.6 Sunita here")
    esc = Escalation(patient_id=patient.id, district_id=patient.district_id, kind="medicine", desk="control_room",
                     severity="routine", status="resolved", source="call", created_at=at, summary="needs paracetamol",
                     resolution="delivered to Sunita's husband")
    db.session.add(esc)
    db.session.flush()
    db.session.add_all([
        EscalationNote(escalation_id=esc.id, user_id=user.id, text="called husband at home", at=at),
        Consultation(patient_id=patient.id, district_id=patient.district_id, escalation_id=esc.id, user_id=user.id,
                     desk="doctor", outcome="connected", notes="advised rest", created_at=at),
        Transfer(patient_id=patient.id, from_setting="home", to_setting="ccc", reason="no room at home for Sunita",
                 at=at, by_user_id=user.id),
        OutboundMessage(idempotency_key=f"r:{patient.id}", patient_id=patient.id, kind="sms", to_phone=patient.phone,
                        template="checkin_link", body="Sunita, check in: https://x/c/abc", status="sent",
                        next_attempt_at=at, created_at=at),
        InboundMessage(provider_sid=f"SM{patient.id}", from_phone=patient.phone, body="ok 97", received_at=at,
                       patient_id=patient.id, status="checked_in"),
    ])
    db.session.commit()


def _import_row(patient, started_at):
    batch = ImportBatch(district_id=patient.district_id, user_id=None, filename="list.csv",
                        file_hash=hashlib.sha256(str(started_at).encode()).hexdigest(), source="web",
                        status="completed", started_at=started_at, finished_at=started_at)
    db.session.add(batch)
    db.session.flush()
    db.session.add(ImportRow(batch_id=batch.id, row_number=2, action="added", patient_id=patient.id,
                             raw={"Name": patient.name, "Mobile": patient.phone}, errors=[]))
    db.session.commit()
    return batch


@pytest.fixture
def world(district, now):
    user = make_user("volunteer", district)
    outside = _closed(district, now, DAYS + 1, "Sunita Sahu", "+919826012345")
    inside = _closed(district, now, DAYS - 1, "Kamla Bai", "+919826054321")
    active = make_patient(district, name="Ravi Active", phone_number="+919826077777", address="Ward 4",
                          lab_id="CG-077777")
    for p in (outside, inside, active):
        _history(p, user, (p.ended_at or now) - timedelta(hours=1))
    _import_row(outside, outside.created_at)
    _import_row(inside, inside.created_at)
    return outside, inside, active


def _state():
    """Every row of the tables the job touches, as plain tuples (to compare runs)."""
    out = {}
    for model in (Patient, CallAttempt, CheckIn, Escalation, EscalationNote, Consultation, Transfer,
                  OutboundMessage, InboundMessage, ImportRow, Household, IvrCall):
        rows = db.session.execute(db.select(model.__table__).order_by(model.__table__.c.id)).all()
        out[model.__tablename__] = [tuple(r) for r in rows]
    return out


def test_exactly_the_patients_past_the_limit_are_anonymised(world, now):
    outside, inside, active = world
    keep = {p.id: (p.age, p.sex, p.district_id, p.village_id, p.setting, p.facility_id, p.positive_date, p.status,
                   p.created_at, p.ended_at, p.comorbidities, p.language) for p in world}
    counts = retention.run(now, days=DAYS)
    db.session.expire_all()
    gone = db.session.get(Patient, outside.id)
    assert (gone.name, gone.name_key, gone.phone, gone.attendant_phone, gone.address, gone.abha_number,
            gone.lab_id) == (retention.NAME_REPLACED, "", "", None, "", None, None)
    assert gone.anonymised_at == now
    for p in (inside, active):
        kept = db.session.get(Patient, p.id)
        assert kept.anonymised_at is None and kept.phone.startswith("+91") and kept.address and kept.lab_id
    for p in world:  # ids and every figure the dashboard counts stay
        q = db.session.get(Patient, p.id)
        assert (q.age, q.sex, q.district_id, q.village_id, q.setting, q.facility_id, q.positive_date, q.status,
                q.created_at, q.ended_at, q.comorbidities, q.language) == keep[p.id]
    # Free text about the anonymised patient is blanked; the rows (and their coded figures) stay.
    assert db.session.scalars(db.select(CallAttempt.notes).where(CallAttempt.patient_id == outside.id)).all() == [""]
    assert db.session.scalars(db.select(CallAttempt.outcome).where(CallAttempt.patient_id == outside.id)).all() == [
        "connected"]
    assert db.session.scalars(db.select(CheckIn.raw).where(CheckIn.patient_id == outside.id)).all() == [""]
    esc = db.session.scalar(db.select(Escalation).where(Escalation.patient_id == outside.id))
    assert (esc.summary, esc.resolution, esc.kind, esc.status) == ("", "", "medicine", "resolved")
    assert db.session.scalar(db.select(EscalationNote.text).where(EscalationNote.escalation_id == esc.id)) == ""
    assert db.session.scalar(db.select(Consultation.notes).where(Consultation.patient_id == outside.id)) == ""
    assert db.session.scalar(db.select(Transfer.reason).where(Transfer.patient_id == outside.id)) == ""
    for model in (OutboundMessage, InboundMessage, ImportRow):
        assert db.session.scalar(db.select(db.func.count()).select_from(model)
                                 .where(model.patient_id == outside.id)) == 0
    # The others' text is all there.
    for p in (inside, active):
        assert db.session.scalar(db.select(CallAttempt.notes).where(CallAttempt.patient_id == p.id)).startswith("Says")
        assert db.session.scalar(db.select(Escalation.summary).where(Escalation.patient_id == p.id))
        assert db.session.scalar(db.select(db.func.count()).select_from(OutboundMessage)
                                 .where(OutboundMessage.patient_id == p.id)) == 1
    assert counts["patients"] == 1 and counts["call_notes"] == 1 and counts["escalation_texts"] == 1
    assert counts["outbound_messages"] == 1 and counts["inbound_messages"] == 1
    # Both imports are older than the limit (the patients were registered 12 days before their follow-up ended).
    assert counts["import_rows"] == 2 and db.session.scalar(db.select(db.func.count(ImportRow.id))) == 0
    assert db.session.scalar(db.select(db.func.count(AuditLog.id)).where(
        AuditLog.action == "retention.anonymise")) == 1


def test_the_dry_run_counts_what_the_run_then_does_and_changes_nothing(world, now):
    before = _state()
    plan = retention.plan(now, days=DAYS)
    assert _state() == before
    assert plan == retention.run(now, days=DAYS)
    assert set(retention.plan(now, days=DAYS).values()) == {0}


def test_a_second_run_changes_nothing(world, now):
    retention.run(now, days=DAYS)
    after_first = _state()
    audit_rows = db.session.scalar(db.select(db.func.count(AuditLog.id)))
    again = retention.run(now + timedelta(minutes=5), days=DAYS)
    assert set(again.values()) == {0}
    assert _state() == after_first
    assert db.session.scalar(db.select(db.func.count(AuditLog.id))) == audit_rows


def test_the_day_boundary_moves_with_time(world, now):
    outside, inside, _active = world
    retention.run(now, days=DAYS)
    assert db.session.get(Patient, inside.id).anonymised_at is None
    later = now + timedelta(days=2)  # now a day past the limit
    assert retention.plan(later, days=DAYS)["patients"] == 1
    retention.run(later, days=DAYS)
    assert db.session.get(Patient, inside.id).anonymised_at == later


def test_old_messages_and_import_rows_go_whoever_they_belong_to(district, now):
    active = make_patient(district, name="Long Stay", phone_number="+919826033333")
    old, young = now - timedelta(days=DAYS + 1), now - timedelta(days=DAYS - 1)
    ivr_message = None
    for n, at in enumerate((old, young)):
        message = OutboundMessage(idempotency_key=f"age:{n}", patient_id=active.id, kind="call",
                                  to_phone=active.phone, template="checkin_ivr", body="https://x/ivr", status="sent",
                                  next_attempt_at=at, created_at=at)
        db.session.add_all([message, InboundMessage(provider_sid=f"SMage{n}", from_phone="+919826000000",
                                                    body="who is this", received_at=at, status="unknown_sender")])
        db.session.flush()
        ivr_message = ivr_message or message
        _import_row(active, at)
    db.session.add(IvrCall(call_sid="CAold", patient_id=active.id, message_id=ivr_message.id, started_at=old,
                           answers={"spo2": 96}))
    db.session.commit()
    counts = retention.run(now, days=DAYS)
    assert (counts["outbound_messages"], counts["inbound_messages"], counts["import_rows"]) == (1, 1, 1)
    assert db.session.scalars(db.select(OutboundMessage.created_at)).all() == [young]
    assert db.session.scalars(db.select(InboundMessage.received_at)).all() == [young]
    ivr = db.session.scalar(db.select(IvrCall))
    assert ivr.message_id is None and ivr.answers == {"spo2": 96}  # the answers are clinical figures
    assert db.session.get(Patient, active.id).anonymised_at is None


def test_batches_commit_their_progress_so_a_stopped_run_resumes(district, now):
    patients = [_closed(district, now, DAYS + 5, f"Old {n}", f"+91982602{n:04d}") for n in range(7)]
    seen = []

    def stop_after_two_batches(kind, counts):
        seen.append(counts["patients"])
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        retention.run(now, days=DAYS, batch=3, progress=stop_after_two_batches)
    db.session.rollback()
    done = db.session.scalars(db.select(Patient.id).where(Patient.anonymised_at.is_not(None))).all()
    assert sorted(done) == sorted(p.id for p in patients)[:6]  # two batches of three, committed
    assert retention.plan(now, days=DAYS)["patients"] == 1
    assert retention.run(now, days=DAYS, batch=3)["patients"] == 1


def test_an_anonymised_patient_is_never_matched_again(district, now):
    gone = _closed(district, now, DAYS + 1, "Sunita Sahu", "+919826012345")
    lab = gone.lab_id
    retention.run(now, days=DAYS)
    # The SMS sender look-up (only active patients, by E.164 number) and the importer's candidates
    # (by E.164 number or lab ID) find nobody for the number and lab ID the record had.
    assert inbound.senders("+919826012345") == []
    assert db.session.scalar(db.select(db.func.count()).select_from(Patient).where(
        db.or_(Patient.phone == "+919826012345", Patient.lab_id == lab, Patient.phone == "+91"))) == 0
    # A new patient with that number and name is a new record (the active-phone-and-name rule is free).
    again = make_patient(district, name="Sunita Sahu", phone_number="+919826012345")
    assert again.id != gone.id


def test_a_household_phone_goes_with_its_last_member(district, now):
    household = Household(district_id=district.id, phone="+919826044444", created_at=now)
    db.session.add(household)
    db.session.flush()
    first = _closed(district, now, DAYS + 10, "Ma", "+919826044444", household_id=household.id)
    second = _closed(district, now, DAYS - 10, "Beta", "+919826044444", household_id=household.id)
    retention.run(now, days=DAYS)
    assert db.session.get(Household, household.id).phone == "+919826044444"  # Beta still has theirs
    retention.run(now + timedelta(days=21), days=DAYS)
    assert db.session.get(Household, household.id).phone == ""
    assert {db.session.get(Patient, p.id).phone for p in (first, second)} == {""}


def test_the_limit_is_the_setting(app, district, now):
    _closed(district, now, 40, "Recent", "+919826055555")
    assert retention.retention_days() == 180
    assert retention.plan(now)["patients"] == 0
    from callcenter.services.core import settings
    admin = make_user("admin", None)
    settings.update({"retention_days": 30}, admin)
    db.session.commit()
    from flask import g
    g.pop("sampark_settings", None)
    assert retention.retention_days() == 30 and retention.plan(now)["patients"] == 1


def test_another_district_is_counted_too(now):
    """The job is the state's: every district's closed records follow the same limit."""
    other = make_district()
    _closed(other, now, DAYS + 1, "Far Away", "+919826066666")
    assert retention.plan(now, days=DAYS)["patients"] == 1
