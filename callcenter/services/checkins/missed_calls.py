"""Missed-call check-in: a patient rings the centre's number and it hangs up (they pay nothing); within minutes
the outbox calls them back into the IVR check-in. Once per patient per hour whatever they ring; a number no
patient has is kept for the control room (the inbox, as an SMS from an unknown number is)."""
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ... import public_urls
from ...clock import utcnow
from ...extensions import db
from ...models import InboundMessage, InboundStatus, MessageKind, OutboundMessage, OutboxStatus
from ..core import audit
from ..outbox.enqueue import insert_ignoring_duplicates
from .inbound import identify, message_for, normalise_phone, senders

KEY_PREFIX = "missed:"
RATE = timedelta(hours=1)
CALLED_BACK, RATE_LIMITED, UNKNOWN, REPEATED = "called_back", "rate_limited", "unknown_number", "repeated"


def _recent_call_back(patient_id, now):
    return db.session.scalar(
        select(OutboundMessage.id).where(OutboundMessage.patient_id == patient_id,
                                         OutboundMessage.idempotency_key.like(KEY_PREFIX + "%"),
                                         OutboundMessage.created_at > now - RATE).limit(1))


def receive(call_sid, from_phone, to_phone="", now=None):
    """One missed call (the provider's call id makes a retried callback a repeat). Returns what came of it."""
    now = now or utcnow()
    try:
        return _receive(call_sid, from_phone, to_phone, now)
    except IntegrityError:
        db.session.rollback()  # a twin callback stored it a moment ago
        return REPEATED
    except BaseException:
        db.session.rollback()
        raise


def _receive(call_sid, from_phone, to_phone, now):
    phone = normalise_phone(from_phone)
    patient, _shared = identify(senders(phone))
    if patient is None:
        if message_for(call_sid) is not None:
            db.session.rollback()
            return REPEATED
        message = InboundMessage(provider_sid=call_sid[:64], from_phone=(from_phone or "")[:32],
                                 to_phone=(to_phone or "")[:32], body="", received_at=now, patient_id=None,
                                 status=InboundStatus.UNKNOWN_SENDER, parsed={"missed_call": True})
        db.session.add(message)
        db.session.flush()
        audit.record(None, "missed_call.unknown", "inbound_message", message.id, None, now=now)
        db.session.commit()
        return UNKNOWN
    if _recent_call_back(patient.id, now) is not None:
        db.session.rollback()
        return RATE_LIMITED
    hour = now.strftime("%Y-%m-%dT%H")  # and at most one a clock hour, should two callbacks race
    stmt = insert_ignoring_duplicates().values(
        idempotency_key=f"{KEY_PREFIX}{patient.id}:{hour}", patient_id=patient.id, kind=MessageKind.CALL,
        to_phone=patient.phone, template="checkin_ivr", params={}, language=patient.language or "hi",
        body=public_urls.webhook_url("checkins.voice"), status=OutboxStatus.QUEUED, tries=0, next_attempt_at=now,
        last_error="", created_at=now)
    if db.session.execute(stmt, execution_options={"preserve_rowcount": True}).rowcount != 1:
        db.session.rollback()
        return RATE_LIMITED
    audit.record(None, "missed_call.call_back", "patient", patient.id, patient.district_id, now=now)
    db.session.commit()
    return CALLED_BACK
