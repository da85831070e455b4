"""Patient check-ins: Twilio webhooks (SMS, IVR, status), the SMS-link form, the outbox and inbox pages."""
from flask import Blueprint

bp = Blueprint("checkins", __name__)
