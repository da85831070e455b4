"""Twilio webhook signatures: every request to /twilio/* must carry a valid X-Twilio-Signature.

Twilio signs the full URL it called plus the POSTed form fields with the account's auth token.
Behind a reverse proxy the URL this app sees differs from the one Twilio called: set
TRUST_PROXY_HOPS (so X-Forwarded-Proto/Host are honoured) or WEBHOOK_BASE_URL (the public base URL).
With no auth token configured, every webhook is refused.
"""
import functools

from flask import abort, current_app, request
from twilio.request_validator import RequestValidator

from .. import public_urls
from ..auth.access import signed_by_provider
from ..extensions import csrf


def signed_url():
    """The URL Twilio called, as it signed it."""
    base = public_urls.configured_webhook_base()
    if base:
        return base + request.full_path.rstrip("?")
    return request.url


def signature_is_valid():
    token = current_app.config.get("TWILIO_AUTH_TOKEN")
    if not token:
        return False
    signature = request.headers.get("X-Twilio-Signature", "")
    return bool(signature) and RequestValidator(token).validate(signed_url(), request.form, signature)


def twilio_signed(view):
    """Refuse (403) any request not signed by Twilio; CSRF does not apply (Twilio holds no session)."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not signature_is_valid():
            current_app.logger.warning("refused unsigned or forged Twilio webhook to %s", request.path)
            abort(403)
        return view(*args, **kwargs)
    return csrf.exempt(signed_by_provider("Twilio's webhook: its X-Twilio-Signature is checked")(wrapper))
