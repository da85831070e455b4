"""Patient check-ins: Twilio webhooks (SMS, IVR, status), the SMS-link form, the outbox and inbox pages."""
from flask import Blueprint

bp = Blueprint("checkins", __name__)

from . import inbox, ivr, link, sms  # noqa: E402,F401  (inbound: SMS, IVR, the link form, the inbox)

# isort: split
from . import outbox_views  # noqa: E402,F401  (the outbox page and /twilio/status, on this blueprint)
