"""Bearer tokens for the API.

Only the Authorization header counts here, never the session cookie: a browser that is signed in to the
pages cannot be made to call the API (which is exempt from CSRF) by another site.
"""
import functools
import inspect

from flask import g, request
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint, abort

from ...auth import access
from ...services.core import accounts
from ...services.core.errors import Forbidden

SCHEME = "bearerAuth"


def register_scheme(api):
    api.spec.components.security_scheme(SCHEME, {
        "type": "http", "scheme": "bearer",
        "description": "A token from POST /api/v1/auth/token, sent as `Authorization: Bearer <token>`."})


def api_user():
    """The user the request's token belongs to (set by token_required)."""
    return g.api_user


def _challenge(error=None):
    return {"WWW-Authenticate": f'Bearer error="{error}"' if error else "Bearer"}


def bearer_token():
    """The raw token of the request's Authorization header, or ""."""
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    return raw.strip() if scheme.lower() == "bearer" else ""


def _user_from_header():
    raw = bearer_token()
    if not raw:
        abort(401, message=_l("Sign in first: send your token as 'Authorization: Bearer <token>'."),
              headers=_challenge())
    user = accounts.user_for_token(raw)
    if user is None:
        abort(401, message=_l("This token is not valid or has expired; sign in again."),
              headers=_challenge("invalid_token"))
    return user


def token_required(roles=None, scope=access.DISTRICT):
    """Require a valid bearer token and, if given, one of `roles` (the services check again, in detail).

    Put it right under @blp.route so that a request without a token gets 401 before its body is read.
    """
    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            user = _user_from_header()
            if roles is not None and user.role not in roles:
                raise Forbidden(_l("Your role cannot use this."))
            g.api_user = user
            return view(*args, **kwargs)
        wrapper.access = access.token(roles, scope)
        wrapper.__doc__ = inspect.cleandoc(view.__doc__ or "")
        if roles is not None:
            wrapper.__doc__ += "\n\nRoles: " + ", ".join(sorted(roles)) + "."
        return Blueprint.doc(security=[{SCHEME: []}],
                             responses={"401": "UNAUTHORIZED", "403": "FORBIDDEN"})(wrapper)
    return decorator
