"""Patient registration (nodal officer, admin)."""
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import labels, scope
from ..auth.access import roles_required
from ..extensions import db
from ..forms import apply_service_errors
from ..models import Block, Facility, Role, Village
from ..services import patients
from ..services.errors import Conflict, Invalid
from .forms import PatientForm

bp = Blueprint("intake", __name__, url_prefix="/intake")


def _fill_choices(form):
    districts = scope.districts(current_user)
    form.district_id.choices = labels.choices([("", "—")] + [(d.id, d.name) for d in districts])
    villages = db.session.execute(
        db.select(Village.id, Village.name, Block.name, Block.district_id).join(Block)
        .where(Block.district_id.in_([d.id for d in districts])).order_by(Block.name, Village.name)).all()
    form.village_id.choices = labels.choices(
        [("", "—")] + [(v_id, f"{v_name} ({b_name})") for v_id, v_name, b_name, _d in villages])
    facilities = db.session.scalars(scope.scoped(db.select(Facility).order_by(Facility.name), Facility,
                                                 current_user)).all()
    form.facility_id.choices = labels.choices([("", "—")] + [(f.id, f"{f.name} · {_kind(f)}") for f in facilities])


def _kind(facility):
    return labels.FACILITY_KINDS[facility.kind]


@bp.route("/register", methods=["GET", "POST"])
@roles_required(Role.NODAL_OFFICER, Role.ADMIN)
def register():
    form = PatientForm()
    _fill_choices(form)
    if form.validate_on_submit():
        try:
            patient = patients.register_patient(form.values(), current_user)
        except (Invalid, Conflict) as exc:
            apply_service_errors(form, exc)
        else:
            flash(_("%(name)s is registered and queued for a call today.", name=patient.name), "success")
            return redirect(url_for(".register"))
    return render_template("intake/register.html", form=form, state_level=current_user.district_id is None)
