"""Users, passwords and API tokens."""
import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from .. import scope
from ..clock import utcnow
from ..extensions import db
from ..models import ApiToken, AuditLog, District, Role, User
from . import audit, patients
from .errors import Conflict, Invalid, TooManyAttempts
from .tx import transaction

MIN_PASSWORD = 8
# Guessing passwords: after this many wrong ones for an account within the window, the account refuses
# sign-ins (web and API alike) until the window has passed since the last wrong one.
MAX_FAILED_SIGN_INS = 5
FAILED_SIGN_IN_WINDOW = timedelta(minutes=15)
CLEARS_FAILURES = ("user.login", "user.password")


def authenticate(username, password, now=None):
    """The active user with this username and password, or None (same answer for every failure).

    Wrong passwords are recorded in the audit log (their own transaction, so they count even though the
    sign-in fails); too many in a row raise TooManyAttempts, even for the right password.
    """
    now = now or utcnow()
    user = db.session.scalar(db.select(User).where(User.username == (username or "").strip().lower()))
    if user is None:
        return None
    failures = _recent_failures(user, now)
    if len(failures) >= MAX_FAILED_SIGN_INS:
        wait = failures[-1] + FAILED_SIGN_IN_WINDOW - now  # when the oldest of them leaves the window
        minutes = max(1, -(-int(wait.total_seconds()) // 60))
        raise TooManyAttempts(_l("Too many wrong passwords for this account. Try again in %(n)s minutes, or ask "
                                 "an administrator to reset the password.", n=minutes),
                              retry_after_seconds=int(wait.total_seconds()) + 1)
    if not user.active or not user.check_password(password or ""):
        if user.active:
            _record_failure(user, now)
        return None
    return user


def _recent_failures(user, now):
    """Times of the wrong passwords within the window and since the last sign-in or password reset, newest
    first."""
    about_user = (AuditLog.entity == "user", AuditLog.entity_id == user.id)
    since = now - FAILED_SIGN_IN_WINDOW
    cleared = db.session.scalar(db.select(db.func.max(AuditLog.at)).where(
        *about_user, AuditLog.action.in_(CLEARS_FAILURES), AuditLog.at >= since))
    stmt = db.select(AuditLog.at).where(*about_user, AuditLog.action == "user.login_failed",
                                        AuditLog.at >= (cleared or since))
    return db.session.scalars(stmt.order_by(AuditLog.at.desc()).limit(MAX_FAILED_SIGN_INS)).all()


@transaction
def _record_failure(user, now):
    audit.record(None, "user.login_failed", "user", user.id, user.district_id, now=now)


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


def _valid_token(raw, now):
    token = db.session.scalar(db.select(ApiToken).where(ApiToken.token_hash == _digest(raw or "")))
    if token is None or token.revoked or token.expires_at <= now or not token.user.active:
        return None
    return token


def user_for_token(raw, now=None):
    token = _valid_token(raw, now or utcnow())
    return token.user if token else None


@transaction
def revoke_token(raw, now=None):
    """Sign a token out (a lost phone, the end of a shift): it stops working at once. False if it already had."""
    now = now or utcnow()
    token = _valid_token(raw, now)
    if token is None:
        return False
    token.revoked = True
    audit.record(token.user, "api.token_revoke", "user", token.user_id, token.user.district_id, now=now)
    return True


def get_user(user_id, actor):
    """A user the actor (an admin) may manage: state-level admins everyone, district admins their district."""
    return scope.get_scoped(User, user_id, actor)


@transaction
def update_user(user_id, actor, full_name, role, district_name, phone, active, now=None):
    """Change a user's details. Deactivating also revokes their API tokens; an admin cannot deactivate or
    demote themselves (the district would be left without anyone to undo it)."""
    now = now or utcnow()
    user = scope.get_scoped(User, user_id, actor, lock=True)
    errors = {}
    if role not in set(Role):
        errors["role"] = _l("Unknown role.")
    district = None
    if district_name:
        district = db.session.scalar(db.select(District).where(District.name == district_name))
        if district is None or (actor.district_id is not None and district.id != actor.district_id):
            errors["district"] = _l("No district named %(name)s.", name=district_name)
    elif actor.district_id is not None:
        errors["district"] = _l("Only a state-level administrator can make a state-level user.")
    clean_phone = patients.mobile(phone, errors, "phone") if (phone or "").strip() else None
    if user.id == actor.id and (not active or role != user.role):
        errors["active" if not active else "role"] = _l("You cannot deactivate yourself or change your own role.")
    if errors:
        raise Invalid(_l("Please correct the marked fields."), errors)
    before = {"role": user.role, "district_id": user.district_id, "active": user.active}
    user.full_name, user.role, user.phone = (full_name or "").strip(), role, clean_phone
    user.district_id, user.active = (district.id if district else None), bool(active)
    if not user.active:
        _revoke_all(user)
    audit.record(actor, "user.update", "user", user.id, user.district_id, now=now, before=before,
                 after={"role": user.role, "district_id": user.district_id, "active": user.active})
    return user


@transaction
def reset_password(user_id, actor, password, now=None):
    """Set a new password (the user forgot theirs, or it leaked): their API tokens stop working and a lock
    from wrong passwords is lifted."""
    now = now or utcnow()
    user = scope.get_scoped(User, user_id, actor, lock=True)
    if len(password or "") < MIN_PASSWORD:
        raise Invalid(_l("Please correct the marked fields."),
                      {"password": _l("At least %(n)s characters.", n=MIN_PASSWORD)})
    user.set_password(password)
    _revoke_all(user)
    audit.record(actor, "user.password", "user", user.id, user.district_id, now=now)
    return user


def _revoke_all(user):
    db.session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked.is_(False))
                       .values(revoked=True).execution_options(synchronize_session=False))


@transaction
def set_language(user, language):
    if language in current_app.config["LANGUAGES"]:
        user.language = language
