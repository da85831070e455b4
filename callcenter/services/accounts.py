"""Users, passwords and API tokens."""
import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from ..clock import utcnow
from ..extensions import db
from ..models import ApiToken, District, Role, User
from . import audit
from .errors import Conflict, Invalid
from .tx import transaction

MIN_PASSWORD = 8


def authenticate(username, password):
    """The active user with this username and password, or None (same answer for every failure)."""
    user = db.session.scalar(db.select(User).where(User.username == (username or "").strip().lower()))
    if user is None or not user.active or not user.check_password(password or ""):
        return None
    return user


@transaction
def create_user(username, role, password, district_name=None, full_name="", actor=None, language="en"):
    username = (username or "").strip().lower()
    errors = {}
    if not username or not username.replace("_", "").replace(".", "").replace("-", "").isalnum():
        errors["username"] = _l("Use letters, digits, dots, dashes or underscores.")
    if role not in set(Role):
        errors["role"] = _l("Unknown role.")
    if len(password or "") < MIN_PASSWORD:
        errors["password"] = _l("At least %(n)s characters.", n=MIN_PASSWORD)
    district = None
    if district_name:
        district = db.session.scalar(db.select(District).where(District.name == district_name))
        if district is None:
            errors["district"] = _l("No district named %(name)s.", name=district_name)
    if errors:
        raise Invalid(_l("Please correct the marked fields."), errors)
    user = User(username=username, role=role, district_id=district.id if district else None,
                full_name=full_name or "", language=language)
    user.set_password(password)
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:
        raise Conflict(_l("That username is taken."), {"username": _l("That username is taken.")}) from None
    audit.record(actor, "user.create", "user", user.id, user.district_id, role=role)
    return user


def _digest(raw):
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction
def issue_token(user, now=None):
    """A new bearer token; only its digest is kept, so it is shown once."""
    now = now or utcnow()
    raw = secrets.token_urlsafe(32)
    hours = current_app.config["API_TOKEN_HOURS"]
    db.session.add(ApiToken(user_id=user.id, token_hash=_digest(raw), created_at=now,
                            expires_at=now + timedelta(hours=hours)))
    audit.record(user, "api.token", "user", user.id, user.district_id, now=now)
    return raw, now + timedelta(hours=hours)


def user_for_token(raw, now=None):
    now = now or utcnow()
    token = db.session.scalar(db.select(ApiToken).where(ApiToken.token_hash == _digest(raw or "")))
    if token is None or token.revoked or token.expires_at <= now or not token.user.active:
        return None
    return token.user


@transaction
def set_language(user, language):
    if language in current_app.config["LANGUAGES"]:
        user.language = language
