"""Token sign-in."""
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint, abort

from ...services import accounts
from .schemas import TokenRequestSchema, TokenSchema

blp = Blueprint("api_auth", __name__, url_prefix="/auth", description="Sign in for a bearer token.")


@blp.route("/token", methods=["POST"])
@blp.arguments(TokenRequestSchema)
@blp.response(200, TokenSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
def token(credentials):
    """Exchange a username and password for a bearer token

    The token is shown once (only its digest is stored) and expires after API_TOKEN_HOURS.
    """
    user = accounts.authenticate(credentials["username"], credentials["password"])
    if user is None:  # one answer for every failure: no hint which part was wrong
        abort(401, message=_l("Wrong username or password."), headers={"WWW-Authenticate": "Bearer"})
    raw, expires_at = accounts.issue_token(user)
    return {"token": raw, "expires_at": expires_at, "user": user}
