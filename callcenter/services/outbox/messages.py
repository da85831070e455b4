"""One message's state: locked, moved only forward, the provider's result recorded, the back-off, the URLs
the provider calls back. Shared by the sender, reconciliation and status callbacks."""
import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from ... import public_urls
from ...extensions import db
from ...models import OutboundMessage, OutboxStatus
from ..checkins import links as checkin_links
from ..checkins import sms_templates
from ..core.tx import transaction

log = logging.getLogger(__name__)

MAX_BATCH = 100                 # rows claimed at once (about a second's worth at the configured rate)
MAX_BACKOFF = timedelta(hours=1)

# How far along a message is: status updates only ever move forward (callbacks arrive out of order).
RANK = {OutboxStatus.QUEUED: 0, OutboxStatus.SENDING: 1, OutboxStatus.UNKNOWN: 1, OutboxStatus.SENT: 2,
        OutboxStatus.DELIVERED: 3, OutboxStatus.FAILED: 3, OutboxStatus.CANCELLED: 3}


# ── URLs the provider calls back ─────────────────────────────────────────────────────────────────────

def status_callback_url(message_id, gateway=None):
    """Delivery and call status callbacks (the provider's route: checkins/outbox_views.py for Twilio and the
    console, checkins/exotel_views.py for Exotel); ?m= names our message."""
    if gateway is None:
        return public_urls.webhook_url("checkins.twilio_status", m=message_id)
    return public_urls.webhook_url(gateway.status_endpoint, **gateway.callback_values(), m=message_id)


def call_url(message):
    """The IVR flow's URL for a call message (its body holds the flow's base URL)."""
    return f"{message.body}?m={message.id}"


def locked(message_id):
    return db.session.scalar(select(OutboundMessage).where(OutboundMessage.id == message_id)
                             .with_for_update().execution_options(populate_existing=True))


def backoff(tries):
    seconds = current_app.config["OUTBOX_RETRY_SECONDS"] * 2 ** max(0, tries - 1)
    return min(timedelta(seconds=seconds), MAX_BACKOFF)

@transaction
def record_result(message_id, result, provider, now):
    """The provider took the message (from the sender, a reconciliation or a status callback)."""
    msg = locked(message_id)
    take_result(msg, result, provider, now)
    return msg


def take_result(msg, result, provider, now):
    if msg.provider_sid and msg.provider_sid != result.sid:
        # Should never happen (it would mean the provider has it twice): keep the first, say so.
        log.error("outbox message %s: provider %s also has it as %s", msg.id, msg.provider_sid, result.sid)
        msg.last_error = f"also sent as {result.sid}"
        return False
    msg.provider, msg.provider_sid = provider, result.sid
    msg.sent_at = msg.sent_at or now
    if msg.status in (OutboxStatus.SENDING, OutboxStatus.UNKNOWN, OutboxStatus.QUEUED):
        msg.status, msg.status_at = OutboxStatus.SENT, now
        msg.last_error = ""
    advance(msg, result.status, now, result.error)
    _forget_link_token(msg, provider)
    return True


def outgoing_text(msg):
    """The text the provider gets: as stored, or, for a check-in link, with its token made now from the
    message's seed (the stored text has a placeholder: the outbox never holds a working link)."""
    seed = (msg.params or {}).get("seed")
    if not seed:
        return msg.body
    return sms_templates.render(msg.template, msg.language, token=checkin_links.seeded_token(seed))


def _forget_link_token(msg, provider):
    """Only a link token's hash is kept (checkin_links): once the provider has the text, the seed goes too (and
    a token queued before seeds, migration 0018, is masked), whatever the provider, the console included."""
    params = msg.params or {}
    if "seed" in params:
        msg.params = {k: v for k, v in params.items() if k != "seed"}
    token = params.get("token")
    if token and token != checkin_links.PLACEHOLDER:
        msg.body = msg.body.replace(token, checkin_links.PLACEHOLDER)
        msg.params = {**msg.params, "token": checkin_links.PLACEHOLDER}


def advance(msg, status, now, error=""):
    """Move `msg` to `status` only if that is further along: a repeated or late callback changes nothing.
    (A cancelled message the provider turns out to have is the provider's word.)"""
    status = OutboxStatus(status)
    current = OutboxStatus(msg.status)
    if status == current:
        return False
    if current == OutboxStatus.CANCELLED:
        if status not in (OutboxStatus.SENT, OutboxStatus.DELIVERED, OutboxStatus.FAILED):
            return False
    elif RANK[status] <= RANK[current]:
        return False
    msg.status, msg.status_at = status, now
    if status == OutboxStatus.FAILED and error:
        msg.last_error = str(error)[:2000]
    return True
