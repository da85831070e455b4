"""Exotel's callbacks are not signed: each callback URL carries EXOTEL_CALLBACK_SECRET as its first path segment
(/exotel/<key>/...), compared in constant time. With no secret configured every callback is refused."""
import functools
import hmac

from flask import abort, current_app

from ..auth.access import signed_by_provider
from ..extensions import csrf


def key_is_valid(key):
    secret = current_app.config.get("EXOTEL_CALLBACK_SECRET") or ""
    return bool(secret) and hmac.compare_digest((key or "").encode(), secret.encode())


def exotel_secret(view):
    """Refuse (403) a callback whose URL lacks the deployment's secret; CSRF does not apply (no session)."""
    @functools.wraps(view)
    def wrapper(*args, key=None, **kwargs):
        if not key_is_valid(key):
            current_app.logger.warning("refused an Exotel callback without the deployment's secret")
            abort(403)
        return view(*args, **kwargs)
    return csrf.exempt(signed_by_provider("Exotel's callback: the secret in its URL is checked")(wrapper))
