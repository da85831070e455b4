"""Sign-in, sign-out, the language switch and the home page that sends each role to its work."""
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ..models import Role
from ..services import accounts, audit
from ..services.errors import TooManyAttempts
from ..services.tx import transaction
from .access import public, signed_in
from .forms import LanguageForm, LoginForm

bp = Blueprint("auth", __name__)

HOME_BY_ROLE = {
    Role.VOLUNTEER: "queue.console",
    Role.CONTROL_ROOM: "desks.desk",
    Role.DOCTOR: "desks.desk",
    Role.COUNSELLOR: "desks.desk",
    Role.NODAL_OFFICER: "dashboard.index",
    Role.ADMIN: "dashboard.index",
}


def safe_next(target):
    """Only same-site relative paths: no open redirects after sign-in."""
    if target and urlsplit(target).netloc == "" and target.startswith("/") and not target.startswith("//"):
        return target
    return None


@bp.route("/")
@public("sends a signed-in user to their work, anyone else to the sign-in page")
def home():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(url_for(HOME_BY_ROLE[current_user.role]))


@transaction
def _audit_login(user, action):
    audit.record(user, action, "user", user.id, user.district_id)


@bp.route("/login", methods=["GET", "POST"])
@public("the sign-in page")
def login():
    form = LoginForm(next=request.args.get("next"))
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(form.username.data, form.password.data)
        except TooManyAttempts as exc:
            flash(str(exc.message), "danger")
            return render_template("auth/login.html", form=form), 429
        if user is None:
            flash(_("Wrong username or password."), "danger")
        else:
            login_user(user)
            _audit_login(user, "user.login")
            return redirect(safe_next(form.next.data) or url_for("auth.home"))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@signed_in
def logout():
    _audit_login(current_user, "user.logout")
    logout_user()
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
