"""Administration: settings (thresholds, timings), users and the districts' duty officer phones."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import labels, scope
from ..auth.access import STATE, roles_required
from ..forms import apply_service_errors
from ..models import Role
from ..services.core import accounts, two_factor
from ..services.core import settings as app_settings
from ..services.core.errors import Conflict, Invalid
from ..services.desks import deadlines
from .audit import bp as audit_bp
from .forms import DutyPhoneForm, EditUserForm, PasswordResetForm, SettingsForm, TwoFactorResetForm, UserForm
from .forms import sections as settings_sections

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.register_blueprint(audit_bp)  # /admin/audit/, and `flask audit verify`


@bp.route("/settings", methods=["GET", "POST"])
@roles_required(Role.ADMIN, scope=STATE)  # thresholds and timings hold for the whole state
def settings():
    form = SettingsForm(data=app_settings.all_settings())
    if form.validate_on_submit():
        try:
            app_settings.update(form.values(), current_user)
        except Invalid as exc:
            apply_service_errors(form, exc)
        else:
            flash(_("Settings saved."), "success")
            return redirect(url_for(".settings"))
    return render_template("admin/settings.html", form=form, defaults=app_settings.defaults(),
                           sections=settings_sections(form))


@bp.route("/districts", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def districts():
    """Each district's duty officer phone: overdue escalations are texted there (services/desks/deadlines.py)."""
    form = DutyPhoneForm()
    if form.validate_on_submit():
        try:
            district = deadlines.set_duty_phone(form.district_id.data, form.duty_phone.data, current_user)
        except Invalid as exc:
            apply_service_errors(form, exc)
        else:
            flash(_("Duty officer phone saved for %(name)s.", name=district.name), "success")
            return redirect(url_for(".districts"))
    return render_template("admin/districts.html", districts=scope.districts(current_user), form=form)


@bp.route("/users", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def users():
    form = UserForm()
    form.district.choices = _district_choices(placeholder=True)
    if form.validate_on_submit():
        try:
            user = accounts.create_user(form.username.data, form.role.data, form.password.data,
                                        district_name=form.district.data,
                                        full_name=form.full_name.data, actor=current_user)
        except (Invalid, Conflict) as exc:
            apply_service_errors(form, exc)
        else:
            flash(_("User %(name)s created.", name=user.username), "success")
            return redirect(url_for(".users"))
    people = accounts.users(current_user)
    return render_template("admin/users.html", form=form, people=people)


def _district_choices(placeholder=False):
    """The districts this admin may give a user; "State level" (value accounts.STATE_LEVEL) for state-level
    admins only. `placeholder`: start with an empty choice, so that the district must be chosen."""
    first = [("", _("Choose…"))] if placeholder else []
    state_level = [(accounts.STATE_LEVEL, _("State level (all districts)"))] if current_user.district_id is None \
        else []
    return labels.choices(first + state_level + [(d.name, d.name) for d in scope.districts(current_user)])


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_user(user_id):
    """Edit a user's details, deactivate them, or set a new password (two forms on one page)."""
    person = accounts.get_user(user_id, current_user)
    # Two forms on one page: only the one that was sent reads the request (the other keeps its values).
    details = {"full_name": person.full_name, "role": person.role, "phone": person.phone or "",
               "active": person.active, "district": person.district.name if person.district else accounts.STATE_LEVEL}
    form = EditUserForm(formdata=request.form if "submit" in request.form else None, data=details)
    form.district.choices = _district_choices()
    password_form = PasswordResetForm(formdata=request.form if "reset" in request.form else None)
    two_factor_form = TwoFactorResetForm(formdata=request.form if "reset_two_factor" in request.form else None)
    if two_factor_form.is_submitted() and "reset_two_factor" in request.form and two_factor_form.validate():
        two_factor.reset(user_id, current_user)
        flash(_("Two-factor sign-in reset for %(name)s: they set it up again when they next sign in.",
                name=person.username), "success")
        return redirect(url_for(".edit_user", user_id=user_id))
    if password_form.is_submitted() and "reset" in request.form and password_form.validate():
        try:
            accounts.reset_password(user_id, current_user, password_form.password.data)
        except Invalid as exc:
            apply_service_errors(password_form, exc)
        else:
            flash(_("New password set for %(name)s; they are signed out everywhere and their API tokens no "
                    "longer work.", name=person.username), "success")
            return redirect(url_for(".users"))
    elif form.is_submitted() and "submit" in request.form and form.validate():
        try:
            accounts.update_user(user_id, current_user, form.full_name.data, form.role.data,
                                 form.district.data or None, form.phone.data, form.active.data)
        except Invalid as exc:
            apply_service_errors(form, exc)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for(".users"))
    return render_template("admin/user_edit.html", person=person, form=form, password_form=password_form,
                           two_factor_form=two_factor_form, two_factor_required=two_factor.required(person))
