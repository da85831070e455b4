"""Sign-in (password, then a code where two-factor sign-in is on), sign-out, two-factor enrolment, the
language switch and the home page that sends each role to its work."""
import time
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from ..forms import apply_service_errors
from ..models import Role
from ..services.core import accounts, two_factor
from ..services.core.errors import Invalid
from . import sessions
from .access import public, signed_in
from .forms import CodeForm, EnrolForm, LanguageForm, LoginForm
from .limits import sign_in_limit

bp = Blueprint("auth", __name__)
sessions.init(bp)

HOME_BY_ROLE = {
    Role.VOLUNTEER: "queue.console",
    Role.CONTROL_ROOM: "desks.desk",
    Role.DOCTOR: "desks.desk",
    Role.COUNSELLOR: "desks.desk",
    Role.NODAL_OFFICER: "dashboard.index",
    Role.ADMIN: "dashboard.index",
}
# Between the password and the code: who, which session epoch, since when, and where to go afterwards.
PENDING = "pending_sign_in"
PENDING_SECONDS = 10 * 60
PENDING_MAX_CODES = 5  # wrong codes before the password has to be entered again
ENROL_SECRET = "enrol_secret"


def safe_next(target):
    """Only same-site relative paths: no open redirects after sign-in (and nothing a browser or proxy could
    read differently: no backslash, control character or space)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if any(ch == "\\" or ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return None
    try:
        parts = urlsplit(target)
    except ValueError:
        return None
    return target if not parts.scheme and not parts.netloc else None


def _address():
    return request.remote_addr


@bp.route("/")
@public("sends a signed-in user to their work, anyone else to the sign-in page")
def home():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(url_for(HOME_BY_ROLE[current_user.role]))


def _finish(user, next_url):
    sessions.start(user)
    accounts.sign_in(user, _address())
    return redirect(safe_next(next_url) or url_for("auth.home"))


@bp.route("/login", methods=["GET", "POST"])
@public("the sign-in page")
@sign_in_limit
def login():
    form = LoginForm(next=safe_next(request.args.get("next")))
    if form.validate_on_submit():
        user = accounts.authenticate(form.username.data, form.password.data, address=_address())
        if user is None:
            flash(_("Wrong username or password."), "danger")
        elif user.two_factor_enabled or two_factor.required(user):
            session.pop(ENROL_SECRET, None)
            session[PENDING] = {"id": user.id, "epoch": user.session_epoch, "at": int(time.time()),
                                "next": safe_next(form.next.data), "wrong": 0}
            return redirect(url_for("auth.code" if user.two_factor_enabled else "auth.two_factor_setup"))
        else:
            return _finish(user, form.next.data)
    return render_template("auth/login.html", form=form)


def _pending_user():
    """The user who gave the right password in this browser a moment ago, or None."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None
    return accounts.user_for_session(f"{pending.get('id')}:{pending.get('epoch')}")


def _start_again():
    session.pop(PENDING, None)
    session.pop(ENROL_SECRET, None)
    flash(_("Please sign in again."), "warning")
    return redirect(url_for("auth.login"))


@bp.route("/login/code", methods=["GET", "POST"])
@public("the second step of signing in: the right password given a moment ago in this browser is the key")
@sign_in_limit
def code():
    user = _pending_user()
    if user is None or not user.two_factor_enabled:
        return _start_again()
    form = CodeForm()
    if form.validate_on_submit():
        if two_factor.verify(user, form.code.data, _address()):
            return _finish(user, session.pop(PENDING)["next"])
        pending = dict(session[PENDING], wrong=session[PENDING]["wrong"] + 1)
        if pending["wrong"] >= PENDING_MAX_CODES:
            return _start_again()
        session[PENDING] = pending
        form.code.errors.append(_("That code is not right, or was used already. Wait for the next code and "
                                  "try again."))
        return render_template("auth/code.html", form=form), 200
    return render_template("auth/code.html", form=form)


@bp.route("/login/two-factor", methods=["GET", "POST"])
@public("two-factor enrolment: during sign-in (the right password given a moment ago in this browser is the "
        "key) or for a signed-in user who turns it on")
@sign_in_limit
def two_factor_setup():
    user = current_user if current_user.is_authenticated else _pending_user()
    if user is None:
        return _start_again()
    if user.two_factor_enabled:
        flash(_("Two-factor sign-in is already on for your account. To move it to a new phone, ask an "
                "administrator to reset it."), "info")
        return redirect(url_for("auth.home" if current_user.is_authenticated else "auth.code"))
    secret = session.get(ENROL_SECRET) or two_factor.new_secret()
    session[ENROL_SECRET] = secret
    form = EnrolForm()
    if form.validate_on_submit():
        try:
            codes = two_factor.enrol(user, secret, form.code.data)
        except Invalid as exc:
            apply_service_errors(form, exc)
        else:
            session.pop(ENROL_SECRET, None)
            next_url = url_for("auth.home")
            if not current_user.is_authenticated:
                next_url = safe_next(session.pop(PENDING)["next"]) or next_url
                sessions.start(user)
                accounts.sign_in(user, _address())
            return render_template("auth/recovery_codes.html", codes=codes, next_url=next_url)
    uri = two_factor.provisioning_uri(user, secret)
    return render_template("auth/two_factor_setup.html", form=form, qr=two_factor.qr_svg(uri), secret=secret,
                           required=two_factor.required(user), signed_in=current_user.is_authenticated)


@bp.route("/logout", methods=["POST"])
@signed_in
def logout():
    accounts.sign_out(current_user)  # every session of this user ends, on every device
    logout_user()
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/language", methods=["POST"])
@public("the language switch, on the sign-in page too")
def language():
    form = LanguageForm()
    if form.validate_on_submit():
        if current_user.is_authenticated:
            accounts.set_language(current_user, form.language.data)
        session["lang"] = form.language.data
    return redirect(safe_next(form.next.data) or url_for("auth.home"))
