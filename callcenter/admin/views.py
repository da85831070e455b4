"""Administration: settings (thresholds, timings) and users."""
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import labels, scope
from ..auth.access import roles_required
from ..extensions import db
from ..forms import apply_service_errors
from ..models import Role, User
from ..services import accounts
from ..services import settings as app_settings
from ..services.errors import Conflict, Invalid
from .forms import SettingsForm, UserForm

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/settings", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
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
    return render_template("admin/settings.html", form=form, defaults=app_settings.defaults())


@bp.route("/users", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def users():
    form = UserForm()
    form.district.choices = labels.choices([("", _("State level (all districts)"))] + [
        (d.name, d.name) for d in scope.districts(current_user)])
    if form.validate_on_submit():
        try:
            user = accounts.create_user(form.username.data, form.role.data, form.password.data,
                                        district_name=form.district.data or None,
                                        full_name=form.full_name.data, actor=current_user)
        except (Invalid, Conflict) as exc:
            apply_service_errors(form, exc)
        else:
            flash(_("User %(name)s created.", name=user.username), "success")
            return redirect(url_for(".users"))
    people = db.session.scalars(scope.scoped(db.select(User).order_by(User.role, User.username), User,
                                             current_user)).all()
    return render_template("admin/users.html", form=form, people=people)
