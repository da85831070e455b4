"""Personal check-in links sent by SMS: short, unguessable, one patient, used once, gone at day's end, and
gone at once when the patient's follow-up ends (recovered, died, moved out): such a link records nothing.

Only the token's SHA-256 is stored, so a database leak does not leak working links.
"""
import base64
import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import current_app

from ... import public_urls
from ...clock import local_date, start_of_local_day, utcnow
from ...extensions import db
from ...models import CheckinLink, PatientStatus

TOKEN_BYTES = 12   # 96 bits: unguessable, and a 16-character link fits a 160-character SMS
PLACEHOLDER = "…"  # the token's place in an outbox message's stored text


def token_hash(token):
    """The stored form of a link token (its SHA-256, hex); services.outbox makes links in bulk with it."""
    return hashlib.sha256(token.encode()).hexdigest()


def seeded_token(seed):
    """The token of a queued check-in SMS, made from the message's seed and the app's secret key (HMAC-SHA256):
    the outbox keeps only the seed and a placeholder in the text, so it never holds a working link; the sender
    makes the token again when it sends (services/outbox/messages.py, outgoing_text)."""
    key = current_app.config["SECRET_KEY"]
    mac = hmac.new(key.encode() if isinstance(key, str) else key, f"checkin-link:{seed}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:TOKEN_BYTES]).decode()


def issue(patient, now=None):
    """A new link for today (part of the caller's transaction). Returns (token, url)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    expires = start_of_local_day(local_date(now) + timedelta(days=1))  # midnight, local time
    db.session.add(CheckinLink(token_hash=token_hash(token), patient_id=patient.id, created_at=now, expires_at=expires))
    return token, public_urls.public_url("checkins.link", token=token)


def find(token):
    """The link for this token, or None (whatever its state: the caller says used/expired)."""
    if not token or len(token) > 64:
        return None
    return db.session.scalar(db.select(CheckinLink).where(CheckinLink.token_hash == token_hash(token)))


def state(link, now=None):
    """'valid', 'used', 'ended' (the patient's follow-up has ended) or 'expired' (past its day)."""
    now = now or utcnow()
    if link.used_at is not None:
        return "used"
    if link.patient.status != PatientStatus.ACTIVE:
        return "ended"
    if link.expires_at <= now:
        return "expired"
    return "valid"
