"""Two-factor sign-in: a time-based code (TOTP, RFC 6238) from an authenticator app, or a one-time recovery
code. Required for the roles in TWO_FACTOR_REQUIRED_ROLES, optional for the others."""
import calendar
import hashlib
import hmac
import secrets

import pyotp
import segno
from flask import current_app
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import delete, or_, update

from ... import scope
from ...clock import utcnow
from ...extensions import db
from ...models import User
from ...models.users import RecoveryCode
from . import accounts, audit
from .errors import Invalid
from .tx import transaction

STEP_SECONDS = 30
# A code from the step before or after the current one is accepted too (a phone's clock a little off);
# each step's code is accepted once only (totp_last_step).
DRIFT_STEPS = 1
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud or copied by hand


def required(user):
    return user.role in current_app.config["TWO_FACTOR_REQUIRED_ROLES"]


def new_secret():
    return pyotp.random_base32()  # 160 bits


def provisioning_uri(user, secret):
    return pyotp.TOTP(secret).provisioning_uri(name=user.username,
                                               issuer_name=current_app.config["TWO_FACTOR_ISSUER"])


def qr_svg(uri):
    """The otpauth:// address as an inline SVG QR code: drawn here, no image service sees the secret."""
    return Markup(segno.make(uri, error="m").svg_inline(scale=5, dark="#000", light="#fff",
                                                         title=str(_l("QR code for your authenticator app"))))


def _step(now):
    return calendar.timegm(now.timetuple()) // STEP_SECONDS


def code_at(secret, now=None):
    """The 6-digit code for `now` (naive UTC; default the present)."""
    return pyotp.TOTP(secret).generate_otp(_step(now or utcnow()))


def _matching_step(secret, code, now):
    """The step whose code this is (current first, then its neighbours), or None."""
    totp, current = pyotp.TOTP(secret), _step(now)
    for step in (current, current - DRIFT_STEPS, current + DRIFT_STEPS):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _clean(code):
    return "".join((code or "").split()).replace("-", "").lower()


def _digest(code):
    return hashlib.sha256(_clean(code).encode()).hexdigest()


def check_code(user, code, now=None):
    """True for a right code not accepted before, or an unused recovery code (which is then used up). The
    caller commits (accounts.second_factor)."""
    now = now or utcnow()
    code = _clean(code)
    if not user.two_factor_enabled or not code:
        return False
    if code.isdigit() and len(code) == 6:
        step = _matching_step(user.totp_secret, code, now)
        if step is None:
            return False
        # One UPDATE that only a newer step passes: two requests with the same code cannot both succeed.
        taken = db.session.execute(
            update(User).where(User.id == user.id,
                               or_(User.totp_last_step.is_(None), User.totp_last_step < step))
            .values(totp_last_step=step).execution_options(synchronize_session=False))
        return taken.rowcount == 1
    used = db.session.execute(
        update(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _digest(code),
                                   RecoveryCode.used_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False))
    if used.rowcount != 1:
        return False
    audit.record(user, "user.recovery_code_used", "user", user.id, user.district_id, now=now,
                 left=recovery_codes_left(user))
    return True


def verify(user, code, address, now=None):
    """The second step of a sign-in: limited like passwords (a wrong code counts as a wrong password for
    this address and account, accounts.throttled)."""
    now = now or utcnow()
    if accounts.throttled(user, address, now):
        return False
    if _check_and_commit(user, code, now):
        return True
    accounts.record_failure(user, now, address, step="code")
    return False


@transaction
def _check_and_commit(user, code, now):
    return check_code(user, code, now)


def recovery_codes_left(user):
    return db.session.scalar(db.select(db.func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)))


def _new_recovery_codes(user):
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_digest(raw)))
    return codes


@transaction
def enrol(user, secret, code, now=None):
    """Turn two-factor sign-in on with `secret` once the user proves their app has it (a code from it).
    Returns the recovery codes, shown once: only their digests are kept."""
    now = now or utcnow()
    user = db.session.scalar(db.select(User).where(User.id == user.id).with_for_update())
    step = _matching_step(secret, _clean(code), now) if secret else None
    if step is None:
        raise Invalid(_l("Please correct the marked fields."),
                      {"code": _l("That code does not match. Enter the 6 digits your app shows now.")})
    user.totp_secret, user.totp_enabled_at, user.totp_last_step = secret, now, step
    codes = _new_recovery_codes(user)
    audit.record(user, "user.two_factor_enrol", "user", user.id, user.district_id, now=now)
    return codes


@transaction
def reset(user_id, actor, now=None):
    """An administrator turns a user's two-factor sign-in off (a lost phone): the user enrols again at their
    next sign-in; their sessions and API tokens end now."""
    now = now or utcnow()
    user = scope.get_scoped(User, user_id, actor, lock=True)
    user.totp_secret = user.totp_enabled_at = user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    accounts.end_sessions(user)
    accounts.revoke_all(user)
    audit.record(actor, "user.two_factor_reset", "user", user.id, user.district_id, now=now)
    return user
