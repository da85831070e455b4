"""Inbound SMS: keep every message, understand what we can, record check-ins, honour STOP/START/HELP.

A message is never dropped and never attached to the wrong patient: a number that no active patient
has, or that several unrelated patients share, is kept for a volunteer (UNKNOWN_SENDER) with nothing
recorded. A household's shared phone is the exception: its report is recorded against the household's
first-registered member (the phone's holder in the line list), flagged `shared_phone` so that it moves
nobody down the queue and stays in the inbox until a volunteer confirms who it was about.
"""
import uuid
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, or_
from sqlalchemy.exc import IntegrityError

from ...checkins import texts
from ...clock import utcnow
from ...extensions import db
from ...models import InboundMessage, InboundStatus, Patient, PatientStatus, Role
from ...rules.identity import InvalidValue, normalize_indian_mobile
from ...rules.replies.lexicon import Keyword
from ...rules.replies.sms import language_of, parse_sms
from ..core import audit
from ..core.errors import Conflict, NotFound
from ..core.tx import transaction
from .checkins import Report, outcome, record_checkin

INBOX_ROLES = (Role.VOLUNTEER, Role.NODAL_OFFICER, Role.ADMIN)
# Every message, read or not: officers only. Volunteers see what needs a look (their work), and a patient's
# own messages on that patient's call (DPDP: only what the call needs).
ALL_MESSAGES_ROLES = (Role.NODAL_OFFICER, Role.ADMIN)
NEEDS_A_LOOK = (InboundStatus.NOT_UNDERSTOOD, InboundStatus.UNKNOWN_SENDER)


@dataclass
class Received:
    message: InboundMessage
    reply: str       # the SMS to send back ("" for none)
    created: bool    # False: this MessageSid had been received before (a provider's retry)


def normalise_phone(raw):
    raw = (raw or "").strip()
    try:
        return normalize_indian_mobile(raw, refuse_placeholders=False)
    except InvalidValue:
        return raw


def senders(phone):
    """Active patients with this phone number (the number check-in SMS go to). An attendant's number is not
    matched: it has no index (a scan of every patient per SMS), and such a message is kept as unknown."""
    if not phone:
        return []
    return db.session.scalars(_SENDERS, {"phone": phone}).all()


# Built once: a webhook's look-ups are the same statements every time, and building one costs more Python than
# running it (its cache key is kept with it too).
_SENDERS = (db.select(Patient).where(Patient.phone == bindparam("phone"), Patient.status == PatientStatus.ACTIVE)
            .order_by(Patient.id))
_MESSAGE_BY_SID = db.select(InboundMessage).where(InboundMessage.provider_sid == bindparam("sid"))


def identify(patients):
    """(patient, shared_phone) for the senders of a message, or (None, False) when it is not certain."""
    if len(patients) == 1:
        return patients[0], False
    households = {p.household_id for p in patients}
    if len(patients) > 1 and len(households) == 1 and None not in households:
        return patients[0], True
    return None, False


def receive_sms(provider_sid, from_phone, to_phone, body, now=None, simulated_by=None):
    """Handle one inbound SMS; idempotent on the provider's message id. `simulated_by`: the officer who played
    it with the console backend (audited in the same transaction)."""
    now = now or utcnow()
    body = body or ""
    try:
        return _receive(provider_sid, from_phone, to_phone, body, now, simulated_by)
    except IntegrityError:
        db.session.rollback()  # the same MessageSid, committed by a twin request a moment ago
        return _received_before(provider_sid)


def message_for(provider_sid):
    return db.session.scalar(_MESSAGE_BY_SID, {"sid": provider_sid})


def _received_before(provider_sid):
    message = message_for(provider_sid)
    if message is None:
        raise Conflict(_l("The message could not be stored; the provider will retry."))
    return Received(message, (message.parsed or {}).get("reply", ""), created=False)


def _receive(provider_sid, from_phone, to_phone, body, now, simulated_by):
    earlier = message_for(provider_sid)  # the usual retry; a simultaneous twin is caught by the unique index
    if earlier is not None:
        return Received(earlier, (earlier.parsed or {}).get("reply", ""), created=False)
    matches = senders(normalise_phone(from_phone))
    patient, shared = identify(matches)
    parsed = parse_sms(body)
    lang = texts.language(patient.language if patient else language_of(body))
    details = {"matches": [p.id for p in matches]}
    if shared:
        details.update(shared_phone=True, household_id=patient.household_id)
    status, reply, report = _understood(parsed, patient, lang, body)
    if patient is not None and patient.sms_opt_out and parsed.keyword is None:
        reply = ""  # they asked for no SMS; what they sent is still kept and recorded
    # Written once with its outcome: one INSERT, no UPDATE after it (but the check-in's id, for a report).
    message = InboundMessage(provider_sid=provider_sid, from_phone=(from_phone or "")[:32],
                             to_phone=(to_phone or "")[:32], body=body, received_at=now,
                             patient_id=patient.id if patient else None, status=status,
                             parsed={**parsed.as_dict(), **details, "reply": reply})
    db.session.add(message)
    db.session.flush()  # a duplicate MessageSid fails here, before anything is recorded
    if simulated_by is not None:
        audit.record(simulated_by, "sms.simulate", "inbound_message", message.id,
                     patient.district_id if patient else simulated_by.district_id, now=now)
    if parsed.keyword is not None:
        _apply_keyword(parsed.keyword, matches, message, now)
    if report is not None:
        record_checkin(patient, "sms", report, now=now, attach=[message], shared_phone=shared)  # commits
    else:
        audit.record(None, "sms.receive", "inbound_message", message.id,
                     patient.district_id if patient else None, now=now, status=message.status,
                     keyword=parsed.keyword)
        db.session.commit()
    return Received(message, reply, created=True)


def _understood(parsed, patient, lang, body):
    """(status, reply, report or None) for a message: what it says, before anything is stored."""
    words = texts.SMS[lang]
    if parsed.keyword is not None:
        reply = words["help"] if parsed.keyword == Keyword.HELP else \
            words["stop" if parsed.keyword == Keyword.STOP else "start"]
        return InboundStatus.KEYWORD, reply, None
    if patient is None:
        return InboundStatus.UNKNOWN_SENDER, words["unknown_sender"], None
    if not parsed.has_report:
        rejected = words["rejected"].format(**texts.RANGES) if parsed.rejected else ""
        return InboundStatus.NOT_UNDERSTOOD, words["not_understood"] + rejected + words["help"], None
    report = Report(feeling_ok=parsed.feeling_ok, spo2=parsed.spo2, temperature_f=parsed.temperature_f,
                    symptoms=parsed.symptoms, needs=parsed.needs, raw=body)
    reply = words[outcome(report)].format(needs=texts.need_names(lang, report.needs))
    if not parsed.understood:
        reply += words["volunteer_reads"]
    return (InboundStatus.CHECKED_IN if parsed.understood else InboundStatus.NOT_UNDERSTOOD), reply, report


def _apply_keyword(keyword, matches, message, now):
    """STOP / START apply to the number: every active patient on it (a shared phone is one inbox)."""
    if keyword == Keyword.HELP:
        return
    opt_out = keyword == Keyword.STOP
    for patient in matches:
        if patient.sms_opt_out != opt_out:
            patient.sms_opt_out = opt_out
            audit.record(None, "patient.sms_opt_out" if opt_out else "patient.sms_opt_in", "patient", patient.id,
                         patient.district_id, now=now, inbound_message_id=message.id)


def may_simulate_from(user, phone):
    """With the console backend an officer may play a patient's reply: from a number of an active patient of
    their own district (state-level officers: any number)."""
    if user.district_id is None:
        return bool(phone)
    return any(p.district_id == user.district_id for p in senders(phone))


def simulate_sms(user, phone, body, now=None):
    """A reply played by an officer (console backend): handled exactly as a real SMS, and audited."""
    return receive_sms(f"SIM{uuid.uuid4().hex}", phone, "console", body, now=now, simulated_by=user)


# --- the volunteers' inbox ---------------------------------------------------------------------------

def _scoped(stmt, user):
    """A district user sees their district's patients' messages and every unattributed one."""
    stmt = stmt.outerjoin(Patient, Patient.id == InboundMessage.patient_id)
    if user.district_id is not None:
        stmt = stmt.where(or_(InboundMessage.patient_id.is_(None), Patient.district_id == user.district_id))
    return stmt


def needs_a_look():
    """SQL: not understood, from an unknown or shared number, and not yet handled."""
    return (InboundMessage.handled_at.is_(None)
            & (InboundMessage.status.in_(NEEDS_A_LOOK) | InboundMessage.parsed["shared_phone"].as_boolean()))


def inbox(user, show="open", limit=200):
    stmt = _scoped(db.select(InboundMessage), user)
    if show == "open":
        stmt = stmt.where(needs_a_look())
    return db.session.scalars(stmt.order_by(InboundMessage.received_at.desc(), InboundMessage.id.desc())
                              .limit(limit)).all()


def open_count(user):
    stmt = _scoped(db.select(db.func.count(InboundMessage.id)), user).where(needs_a_look())
    return db.session.scalar(stmt)


def get_for_inbox(message_id, user, lock=False):
    stmt = _scoped(db.select(InboundMessage), user).where(InboundMessage.id == message_id)
    if lock:
        stmt = stmt.with_for_update(of=InboundMessage)
    message = db.session.scalar(stmt)
    if message is None:
        raise NotFound(_l("Not found, or not in your district."))
    return message


@transaction
def mark_handled(message_id, user, now=None):
    now = now or utcnow()
    message = get_for_inbox(message_id, user, lock=True)
    if message.handled_at is not None:
        return message
    message.parsed = {**(message.parsed or {}), "status_before": message.status}
    message.status, message.handled_by_id, message.handled_at = InboundStatus.READ, user.id, now
    audit.record(user, "sms.handled", "inbound_message", message.id,
                 message.patient.district_id if message.patient else None, now=now)
    return message


@transaction
def ask_for_call(message_id, user, now=None):
    """A volunteer should call the patient who sent this message (today's call moved up, or a new one)."""
    from .checkins import queue_volunteer_call
    now = now or utcnow()
    message = get_for_inbox(message_id, user)
    if message.patient is None:
        raise Conflict(_l("This message is not from a known patient."))
    queued = queue_volunteer_call(message.patient, "inbox", now)
    audit.record(user, "sms.ask_for_call", "inbound_message", message.id, message.patient.district_id, now=now,
                 queued=queued)
    return queued
