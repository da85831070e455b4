"""Status callbacks from the provider, and a person settling a message on the outbox page."""
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ... import gateway as gateways
from ...clock import utcnow
from ...extensions import db
from ...models import OutboundMessage, OutboxStatus
from ..core import audit
from ..core.tx import transaction
from .messages import advance, locked, take_result


def apply_status(sid, status, provider, message_id=None, error="", now=None):
    """A delivery or call status from the provider. Idempotent and monotonic. Returns the message, or None
    if it is not ours. `message_id` (from the callback URL) settles a message whose id we never recorded."""
    now = now or utcnow()
    try:
        msg = db.session.scalar(select(OutboundMessage).where(OutboundMessage.provider_sid == sid)
                                .with_for_update())
        if msg is None and message_id is not None:
            msg = locked(message_id)
            if msg is not None and msg.provider_sid not in (None, sid):
                msg = None  # that message has another id at the provider: not this callback's
        if msg is None:
            db.session.rollback()
            return None
        if msg.provider_sid is None:
            take_result(msg, gateways.ProviderResult(sid, status, "", error), provider, now)
        else:
            advance(msg, status, now, error)
        db.session.commit()
        return msg
    except IntegrityError:
        db.session.rollback()  # the sid belongs to another message: not this one
        return None
    except BaseException:
        db.session.rollback()
        raise


RESOLVABLE = {"resend": (OutboxStatus.UNKNOWN, OutboxStatus.FAILED),
              "cancel": (OutboxStatus.UNKNOWN, OutboxStatus.QUEUED)}


@transaction
def resolve(message_id, action, user, now=None):
    """A person settles a message: "resend" (they checked the provider: it never went) or "cancel"."""
    now = now or utcnow()
    msg = locked(message_id)
    if msg is None or msg.status not in RESOLVABLE.get(action, ()) or not _visible(user, msg):
        return None
    if action == "resend":
        msg.status, msg.claimed_at, msg.next_attempt_at = OutboxStatus.QUEUED, None, now
        msg.tries = min(msg.tries, current_app.config["OUTBOX_MAX_TRIES"] - 1)  # one more try at least
    else:
        msg.status = OutboxStatus.CANCELLED
    msg.status_at = now
    audit.record(user, f"outbox.{action}", "outbound_message", msg.id, msg.patient.district_id if msg.patient else None,
                 now=now)
    return msg


def _visible(user, msg):
    return user.district_id is None or (msg.patient is not None and msg.patient.district_id == user.district_id)
