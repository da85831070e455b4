"""Patient check-ins by SMS and IVR: the outbox, inbound messages, IVR calls and check-in links."""
import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .patients import Patient


class CheckinChannel(enum.StrEnum):
    """How a patient is asked to check in each day."""
    IVR = "ivr"            # an outbound IVR call the patient answers and keys in
    SMS_LINK = "sms_link"  # an SMS with a personal link to a one-page form
    SMS_REPLY = "sms_reply"  # an SMS the patient answers by SMS (not with Twilio in India)
    NONE = "none"


class MessageKind(enum.StrEnum):
    SMS = "sms"
    CALL = "call"


class OutboxStatus(enum.StrEnum):
    QUEUED = "queued"        # waiting to be handed to the provider
    SENDING = "sending"      # claimed by a sender; outcome not yet known
    SENT = "sent"            # the provider accepted it (it has the provider's id)
    DELIVERED = "delivered"  # the provider's status callback says delivered / completed
    FAILED = "failed"        # the provider refused or delivery failed; no more retries
    UNKNOWN = "unknown"      # a sender died mid-hand-off: reconcile, never blindly resend
    CANCELLED = "cancelled"  # opted out, invalid number, or follow-up ended before sending


class OutboxPriority(enum.IntEnum):
    """The order the sender hands messages over in (lower first; within one, the oldest due first): an
    ambulance's SMS never waits behind a state's 300,000 morning check-ins."""
    URGENT = 0   # help on the way, alerts to the duty officer
    ROUTINE = 1  # one message about one patient
    BULK = 2     # the day's check-ins
    BROADCAST = 3  # awareness broadcasts: after everything else, and only 09:00–21:00 (rules/broadcasts.py)


class OutboundMessage(db.Model):
    """The durable outbox: every SMS and call the system makes, handed to a provider at most once."""
    __table_args__ = (Index("ix_outbound_message_due", "status", "next_attempt_at"),
                      Index("ix_outbound_message_queue", "status", "priority", "next_attempt_at"),  # sender.claim
                      Index("ix_outbound_message_created_at", "created_at"))  # the retention job's deletes
    id: Mapped[int] = mapped_column(primary_key=True)
    # Same request twice (e.g. the daily check-in enqueued again) → one message.
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"), index=True)
    kind: Mapped[str] = mapped_column(String(5))
    to_phone: Mapped[str] = mapped_column(String(16))
    template: Mapped[str] = mapped_column(String(40))  # a named template (TRAI DLT: no free text)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    language: Mapped[str] = mapped_column(String(5), default="hi")
    body: Mapped[str] = mapped_column(Text, default="")  # the rendered text (SMS) or IVR entry URL (call)
    status: Mapped[str] = mapped_column(String(10), default=OutboxStatus.QUEUED)
    priority: Mapped[int] = mapped_column(SmallInteger, default=OutboxPriority.ROUTINE,
                                          server_default=str(int(OutboxPriority.ROUTINE)))
    broadcast_id: Mapped[int | None] = mapped_column(ForeignKey("broadcast.id"), index=True)
    provider: Mapped[str | None] = mapped_column(String(20))
    provider_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    tries: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    status_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]

    patient: Mapped[Patient | None] = relationship()


class InboundStatus(enum.StrEnum):
    CHECKED_IN = "checked_in"        # understood: a check-in was recorded
    KEYWORD = "keyword"              # STOP / START / HELP
    NOT_UNDERSTOOD = "not_understood"  # kept for a volunteer to read
    UNKNOWN_SENDER = "unknown_sender"  # no patient has this number: kept, never attached to anyone
    READ = "read"                    # a volunteer has dealt with it


class InboundMessage(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    provider_sid: Mapped[str] = mapped_column(String(64), unique=True)  # MessageSid: Twilio retries
    from_phone: Mapped[str] = mapped_column(String(32), index=True)
    to_phone: Mapped[str] = mapped_column(String(32), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(index=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    parsed: Mapped[dict] = mapped_column(JSON, default=dict)
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey("check_in.id"))
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    handled_at: Mapped[datetime | None]

    patient: Mapped[Patient | None] = relationship()


class IvrCall(db.Model):
    """One IVR check-in call, step by step (CallSid is unique: Twilio retries webhooks)."""
    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("outbound_message.id"))
    language: Mapped[str] = mapped_column(String(5), default="hi")
    step: Mapped[str] = mapped_column(String(20), default="feeling")
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    retries: Mapped[int] = mapped_column(default=0)  # invalid/missing input on the current step
    status: Mapped[str] = mapped_column(String(16), default="in_progress")  # completed, gave_up, …
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey("check_in.id"))

    patient: Mapped[Patient | None] = relationship()


class CheckinLink(db.Model):
    """A personal, single-use check-in link sent by SMS; only the token's SHA-256 is stored."""
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey("check_in.id"))

    patient: Mapped[Patient] = relationship()
