"""Free beds per facility of the district, kept by the control room."""
from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.access import roles_required
from ..forms import apply_service_errors
from ..services.core.errors import Conflict, Invalid
from ..services.desks import beds
from .forms import BedsForm
from .views import bp

BED_USERS = tuple(sorted(beds.BED_ROLES))


def _form_for(facility):
    return BedsForm(formdata=None, free_general=facility.free_general, free_oxygen=facility.free_oxygen,
                    free_icu=facility.free_icu, stamp=beds.stamp(facility))


def _page(failed_id=None, failed_form=None):
    rows = beds.facilities(current_user)
    forms = {r.facility.id: failed_form if r.facility.id == failed_id else _form_for(r.facility) for r in rows}
    return render_template("desks/beds.html", rows=rows, forms=forms, totals=beds.totals(rows), kinds=beds.KINDS,
                           failed_id=failed_id)


@bp.route("/beds")
@roles_required(*BED_USERS)
def bed_list():
    return _page()


@bp.route("/beds/<int:facility_id>", methods=["POST"])
@roles_required(*BED_USERS)
def update_beds(facility_id):
    form = BedsForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            flash(_("The form expired or was incomplete; please try again."), "warning")
            return redirect(url_for(".bed_list"))
        return _page(facility_id, form)
    try:
        facility = beds.update(facility_id, current_user, form.values(), form.stamp.data)
    except Invalid as exc:
        apply_service_errors(form, exc)
        return _page(facility_id, form)
    except Conflict as exc:
        flash(str(exc.message), "danger")
    else:
        flash(_("Free beds of %(name)s saved.", name=facility.name), "success")
    return redirect(url_for(".bed_list") + f"#facility-{facility_id}")
