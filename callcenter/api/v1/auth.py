"""Token sign-in."""
from flask import request
from flask_babel import lazy_gettext as _l
from flask_smorest import abort

from ...auth.access import OWN, public
from ...auth.limits import sign_in_limit
from ...services.core import accounts, two_factor
from .blueprint import Blueprint  # reads every unreadable body as 400
from .schemas.auth import TokenRequestSchema, TokenSchema
from .security import bearer_token, token_required

blp = Blueprint("api_auth", __name__, url_prefix="/auth", description="Sign in for a bearer token.")


@blp.route("/token", methods=["POST"])
@public("exchanges a username and password (and a two-factor code where needed) for a token")
@sign_in_limit
@blp.arguments(TokenRequestSchema)
@blp.response(200, TokenSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="FORBIDDEN", description="Two-factor sign-in is required but not set up yet")
@blp.alt_response(429, response="DEFAULT_ERROR", description="Too many sign-in attempts from this address")
def token(credentials):
    """Exchange a username and password for a bearer token

    The token is shown once (only its digest is stored) and expires after API_TOKEN_HOURS. Users with
    two-factor sign-in (required for administrators, nodal officers and the control room) also send `otp`:
    the 6-digit code from their authenticator app, or a recovery code. Every failure of the password
    answers 401 alike; too many attempts from one address answer 429 with Retry-After.
    """
    address = request.remote_addr
    user = accounts.authenticate(credentials["username"], credentials["password"], address=address)
    if user is None:  # one answer for every failure: no hint which part was wrong
        abort(401, message=_l("Wrong username or password."), headers={"WWW-Authenticate": "Bearer"})
    if user.two_factor_enabled:
        if not credentials.get("otp"):
            abort(401, message=_l("This account signs in with two factors: send the 6-digit code from the "
                                  "authenticator app as otp."), headers={"WWW-Authenticate": "Bearer"})
        if not two_factor.verify(user, credentials["otp"], address):
            abort(401, message=_l("Wrong or already used two-factor code."), headers={"WWW-Authenticate": "Bearer"})
    elif two_factor.required(user):
        abort(403, message=_l("Your role needs two-factor sign-in: sign in on the web once to set it up."))
    raw, expires_at = accounts.issue_token(user, address=address)
    return {"token": raw, "expires_at": expires_at, "user": user}


@blp.route("/token", methods=["DELETE"])
@token_required(scope=OWN)
@blp.response(204)
def revoke():
    """Sign out: the token sent with this request stops working at once"""
    accounts.revoke_token(bearer_token())
