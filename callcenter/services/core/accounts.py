"""Users, passwords and API tokens."""
import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from ... import scope
from ...clock import utcnow
from ...extensions import db
from ...models import ApiToken, AuditLog, District, Role, User
from ..records import patients
from . import audit, passwords
from .errors import Conflict, Invalid
from .tx import transaction

# Guessing passwords. A lock on the account itself would let anyone lock out `admin` by typing wrong
# passwords, so the limits are per client address *and* account: after MAX_FAILED_SIGN_INS wrong ones from
# one address within the window, that address gets the wrong-password answer for that account (even for
# the right password) while the owner, elsewhere, still signs in. A guess spread over many addresses meets
# the account-wide limit, MAX_FAILED_SIGN_INS_ACCOUNT, which refuses every address except those the user
# signed in from successfully in the last KNOWN_ADDRESS_DAYS: their usual office still works. Every refusal
# answers exactly like a wrong password (same message, status and time), so none tells which usernames
# exist. The per-address limit over all usernames (auth/limits.py, Flask-Limiter) slows spraying.
MAX_FAILED_SIGN_INS = 5
MAX_FAILED_SIGN_INS_ACCOUNT = 20
FAILED_SIGN_IN_WINDOW = timedelta(minutes=15)
KNOWN_ADDRESS_DAYS = 30
SIGNED_IN = ("user.login", "api.token")  # a completed sign-in, on the pages or the API
_EVENTS_READ = 500  # failures read per check: more than the limits need, and bounded


def _dummy_hash(method):
    """A hash of a random password, checked for unknown usernames so that they take as long as real ones."""
    if method not in _DUMMY:
        _DUMMY[method] = generate_password_hash(secrets.token_urlsafe(16), method=method)
    return _DUMMY[method]


_DUMMY = {}


def authenticate(username, password, now=None, address=None):
    """The active user with this username and password, or None: one answer, in the same time, for every
    failure (unknown username, wrong password, inactive user, too many wrong passwords).

    `address` is the client's address (None from the shell). Wrong passwords are recorded in the audit log
    (their own transaction, so they count even though the sign-in fails).
    """
    now = now or utcnow()
    user = db.session.scalar(db.select(User).where(User.username == (username or "").strip().lower()))
    if user is None:
        check_password_hash(_dummy_hash(current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")), password or "")
        return None
    right = user.check_password(password or "")  # always checked: a refusal takes as long as any answer
    if throttled(user, address, now):
        # Not recorded: one address that goes on guessing must not push the account-wide count up.
        return None
    if not user.active or not right:
        if user.active:
            record_failure(user, now, address)
        return None
    return user


def throttled(user, address, now):
    """Too many recent wrong passwords (or codes) for this account from this address, or from everywhere
    and this address is not one the user signs in from."""
    about_user = (AuditLog.entity == "user", AuditLog.entity_id == user.id)
    events = db.session.execute(
        db.select(AuditLog.action, AuditLog.details)
        .where(*about_user, AuditLog.action.in_(("user.login_failed", *SIGNED_IN, "user.password")),
               AuditLog.at >= now - FAILED_SIGN_IN_WINDOW)
        .order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(_EVENTS_READ)).all()
    here = everywhere = 0
    signed_in_here = False  # a sign-in from this address clears its earlier failures
    for action, details in events:
        if action == "user.password":  # a new password set by an administrator clears them all
            break
        same = (details or {}).get("address") == address
        if action in SIGNED_IN:
            signed_in_here = signed_in_here or same
            continue
        everywhere += 1
        here += same and not signed_in_here
    if here >= MAX_FAILED_SIGN_INS:
        return True
    return everywhere >= MAX_FAILED_SIGN_INS_ACCOUNT and not _known_address(user, address, now)


def _known_address(user, address, now):
    if address is None:
        return False
    return db.session.scalar(db.select(AuditLog.id).where(
        AuditLog.entity == "user", AuditLog.entity_id == user.id, AuditLog.action.in_(SIGNED_IN),
        AuditLog.at >= now - timedelta(days=KNOWN_ADDRESS_DAYS),
        AuditLog.details["address"].as_string() == address).limit(1)) is not None


@transaction
def record_failure(user, now, address, step="password"):
    audit.record(None, "user.login_failed", "user", user.id, user.district_id, now=now, address=address,
                 step=step)


def user_for_session(session_id):
    """The user a session cookie names ("<id>:<epoch>"), or None when that session was ended (sign-out, a
    new password, deactivation, a two-factor reset) or is malformed."""
    user_id, _, epoch = (session_id or "").partition(":")
    if not (user_id.isdigit() and epoch.isdigit()):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_epoch != int(epoch):
        return None
    return user


def end_sessions(user):
    """Every session of this user stops working at their next request (inside the caller's transaction)."""
    user.session_epoch = (user.session_epoch or 0) + 1


@transaction
def sign_in(user, address, now=None):
    """A completed sign-in (password, and the code where needed): audited with the address, which clears
    that address's earlier failures."""
    audit.record(user, "user.login", "user", user.id, user.district_id, now=now, address=address)


@transaction
def sign_out(user, now=None):
    """Sign-out ends every session of the user, on every device."""
    user = db.session.scalar(db.select(User).where(User.id == user.id).with_for_update())
    end_sessions(user)
    audit.record(user, "user.logout", "user", user.id, user.district_id, now=now)


@transaction
def create_user(username, role, password, district_name=None, full_name="", actor=None, language="en"):
    """A new user. `actor` is the administrator creating it (None: the shell, which may do anything): a
    district administrator creates users in their own district only; a state-level user only a state-level
    one, and only by choosing "state level" (district_name "*"; None or "" is no choice)."""
    username = (username or "").strip().lower()
    errors = {}
    if not username or not username.replace("_", "").replace(".", "").replace("-", "").isalnum():
        errors["username"] = _l("Use letters, digits, dots, dashes or underscores.")
    if role not in set(Role):
        errors["role"] = _l("Unknown role.")
    elif (weak := passwords.problem(password, username, role)) is not None:
        errors["password"] = weak
    district = _district_for(actor, district_name, errors)
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
def issue_token(user, now=None, address=None):
    """A new bearer token; only its digest is kept, so it is shown once. `address`: the client's, when it
    signed in for it (clears that address's wrong passwords, as a sign-in on the pages does)."""
    now = now or utcnow()
    raw = secrets.token_urlsafe(32)
    hours = current_app.config["API_TOKEN_HOURS"]
    db.session.add(ApiToken(user_id=user.id, token_hash=_digest(raw), created_at=now,
                            expires_at=now + timedelta(hours=hours)))
    audit.record(user, "api.token", "user", user.id, user.district_id, now=now, address=address)
    return raw, now + timedelta(hours=hours)


def _valid_token(raw, now):
    token = db.session.scalar(db.select(ApiToken).where(ApiToken.token_hash == _digest(raw or ""))
                              .options(joinedload(ApiToken.user, innerjoin=True)))  # every request reads both
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


def users(actor):
    """The users an administrator manages: their district's (state-level: everyone), by role and name."""
    return db.session.scalars(scope.scoped(db.select(User).order_by(User.role, User.username), User, actor)).all()


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
    district = _district_for(actor, district_name or STATE_LEVEL, errors)
    clean_phone = patients.mobile(phone, errors, "phone") if (phone or "").strip() else None
    if user.id == actor.id and (not active or role != user.role):
        errors["active" if not active else "role"] = _l("You cannot deactivate yourself or change your own role.")
    if errors:
        raise Invalid(_l("Please correct the marked fields."), errors)
    before = {"role": user.role, "district_id": user.district_id, "active": user.active}
    user.full_name, user.role, user.phone = (full_name or "").strip(), role, clean_phone
    user.district_id, user.active = (district.id if district else None), bool(active)
    if not user.active:
        revoke_all(user)
        end_sessions(user)
    audit.record(actor, "user.update", "user", user.id, user.district_id, now=now, before=before,
                 after={"role": user.role, "district_id": user.district_id, "active": user.active})
    return user


@transaction
def reset_password(user_id, actor, password, now=None):
    """Set a new password (the user forgot theirs, or it leaked): their sessions and API tokens stop working
    and limits from wrong passwords are lifted."""
    now = now or utcnow()
    user = scope.get_scoped(User, user_id, actor, lock=True)
    if (weak := passwords.problem(password, user.username, user.role)) is not None:
        raise Invalid(_l("Please correct the marked fields."), {"password": weak})
    user.set_password(password)
    revoke_all(user)
    end_sessions(user)
    audit.record(actor, "user.password", "user", user.id, user.district_id, now=now)
    return user


STATE_LEVEL = "*"  # the district choice that means "state level (all districts)"


def _district_for(actor, district_name, errors):
    """The district chosen for a user (None: state level), within what `actor` may give; problems go into
    `errors`. A shell command (no actor) may leave it out for state level."""
    if district_name and district_name != STATE_LEVEL:
        district = db.session.scalar(db.select(District).where(District.name == district_name))
        if district is None or (actor is not None and actor.district_id is not None
                                and district.id != actor.district_id):
            errors["district"] = _l("No district named %(name)s.", name=district_name)
        return district
    if actor is not None and actor.district_id is not None:
        errors["district"] = _l("Only a state-level administrator can make a state-level user.")
    elif actor is not None and district_name != STATE_LEVEL:
        errors["district"] = _l("Choose a district, or \"State level\" for a user of every district.")
    return None


def revoke_all(user):
    db.session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked.is_(False))
                       .values(revoked=True).execution_options(synchronize_session=False))


@transaction
def set_language(user, language):
    if language in current_app.config["LANGUAGES"]:
        user.language = language
