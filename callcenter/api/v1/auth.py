"""Token sign-in."""
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint, abort

from ...auth.access import OWN, public
from ...services import accounts
from ...services.errors import TooManyAttempts
from .schemas import TokenRequestSchema, TokenSchema
from .security import bearer_token, token_required

blp = Blueprint("api_auth", __name__, url_prefix="/auth", description="Sign in for a bearer token.")


@blp.route("/token", methods=["POST"])
@public("exchanges a username and password for a token")
@blp.arguments(TokenRequestSchema)
@blp.response(200, TokenSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(429, response="DEFAULT_ERROR", description="Too many wrong passwords for this account")
def token(credentials):
    """Exchange a username and password for a bearer token

    The token is shown once (only its digest is stored) and expires after API_TOKEN_HOURS. After several
    wrong passwords for an account, sign-ins to it are refused for a while (429 with Retry-After).
    """
    try:
        user = accounts.authenticate(credentials["username"], credentials["password"])
    except TooManyAttempts as exc:
        abort(429, message=exc.message, headers={"Retry-After": str(exc.retry_after_seconds)})
    if user is None:  # one answer for every failure: no hint which part was wrong
        abort(401, message=_l("Wrong username or password."), headers={"WWW-Authenticate": "Bearer"})
    raw, expires_at = accounts.issue_token(user)
    return {"token": raw, "expires_at": expires_at, "user": user}


@blp.route("/token", methods=["DELETE"])
@token_required(scope=OWN)
@blp.response(204)
def revoke():
    """Sign out: the token sent with this request stops working at once"""
    accounts.revoke_token(bearer_token())
