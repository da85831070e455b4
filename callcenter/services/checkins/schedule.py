"""Who is due a daily check-in, by which channel and when: the one place this rule lives.

Set-based: due() is a SELECT over every patient, used by the enqueue (callcenter/services/outbox/enqueue.py);
reachable() is the same test on one message's patient, used by the sender just before it sends.
"""
from datetime import datetime, time, timedelta

from flask import current_app
from sqlalchemy import String, and_, cast, exists, literal, not_, or_, select

from ...clock import local_to_utc
from ...models import CheckinChannel, MessageKind, OutboundMessage, Patient, PatientStatus

KEY_PREFIX = "checkin:"
# Each channel's message: (kind, template). NONE sends nothing.
CHANNEL_MESSAGES = {
    CheckinChannel.IVR: (MessageKind.CALL, "checkin_ivr"),
    CheckinChannel.SMS_LINK: (MessageKind.SMS, "checkin_link"),
    CheckinChannel.SMS_REPLY: (MessageKind.SMS, "checkin_reply"),
}
CHECKIN_TEMPLATES = tuple(template for _kind, template in CHANNEL_MESSAGES.values())


def window(day):
    """The check-in window of `day` as naive-UTC (start, end)."""
    start, end = (local_to_utc(datetime.combine(day, time.fromisoformat(current_app.config[key])))
                  for key in ("CHECKIN_WINDOW_START", "CHECKIN_WINDOW_END"))
    if end <= start:
        end += timedelta(days=1)
    return start, end


def idempotency_key(patient_id, day):
    return f"{KEY_PREFIX}{patient_id}:{day.isoformat()}"


def key_expr(day):
    """idempotency_key() in SQL, for Patient rows."""
    return literal(KEY_PREFIX) + cast(Patient.id, String) + literal(f":{day.isoformat()}")


def reachable(kind):
    """SQL: the patient may be sent a message of `kind` (a value or a column): followed up, a valid number,
    and for SMS not opted out (STOP is an SMS keyword; IVR calls go on)."""
    followed = and_(Patient.status == PatientStatus.ACTIVE, Patient.phone_invalid.is_(False))
    if isinstance(kind, str):
        return followed if kind == MessageKind.CALL else and_(followed, Patient.sms_opt_out.is_(False))
    return and_(followed, or_(kind == MessageKind.CALL.value, Patient.sms_opt_out.is_(False)))


def due(day, channel):
    """SELECT (id, phone, language) of every patient due `day`'s check-in by `channel` and not yet enqueued."""
    kind, _template = CHANNEL_MESSAGES[CheckinChannel(channel)]
    already = exists(select(OutboundMessage.id).where(OutboundMessage.idempotency_key == key_expr(day)))
    return (select(Patient.id, Patient.phone, Patient.language)
            .where(Patient.checkin_channel == CheckinChannel(channel).value, reachable(kind),
                   not_(already)))
