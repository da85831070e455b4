"""Patient check-ins: Twilio webhooks (SMS, IVR, status), the SMS-link form, the outbox and inbox pages."""
from . import exotel_ivr, exotel_views, inbox, ivr, link, outbox_views, sms  # noqa: F401  (each adds its routes to the blueprint)
from .blueprint import bp  # noqa: F401  (registered by create_app)
