"""Field visits for patients nobody could reach by phone: the list per block (and its printable sheet),
and recording what a visit found."""
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import labels
from ..auth.access import roles_required
from ..clock import utcnow
from ..forms import apply_service_errors
from ..input_checks import db_int
from ..services.core.errors import Conflict, Invalid
from ..services.desks import field_visits
from ..services.records import records
from .forms import FieldVisitForm
from .views import bp

VISIT_USERS = tuple(sorted(field_visits.VISIT_ROLES))


def _block_filter():
    return request.args.get("block", type=db_int)


def _visit_list(template, purpose):
    block_id = _block_filter()
    groups = field_visits.open_visits(current_user, block_id)
    # The list shows names, phones and addresses: a view of each patient's record (DPDP access log).
    records.log_views(current_user, [v.patient for g in groups for v in g.visits], purpose)
    blocks = field_visits.blocks(current_user)
    return render_template(template, groups=groups, blocks=blocks, block_id=block_id,
                           chosen=next((b for b in blocks if b.id == block_id), None),
                           no_block=field_visits.NO_BLOCK,
                           total=sum(len(g.visits) for g in groups), printed_at=utcnow())


@bp.route("/field-visits")
@roles_required(*VISIT_USERS)
def field_visit_list():
    return _visit_list("desks/field_visits.html", "field_visit")


@bp.route("/field-visits/print")
@roles_required(*VISIT_USERS)
def field_visit_sheet():
    return _visit_list("desks/field_visits_print.html", "field_visit_print")


@bp.route("/field-visits/<int:esc_id>", methods=["GET", "POST"])
@roles_required(*VISIT_USERS)
def field_visit(esc_id):
    esc = field_visits.get_visit(esc_id, current_user)  # NotFound outside the district
    form = FieldVisitForm()
    if request.method == "GET":
        form.version.data = esc.version
    elif form.validate_on_submit():
        try:
            done = field_visits.record(esc_id, current_user, form.result.data, form.note.data,
                                       send_to=form.send_to.data, version=form.version.data)
        except Invalid as exc:
            apply_service_errors(form, exc)
        except Conflict as exc:
            flash(str(exc.message), "danger")
            return redirect(url_for(".field_visit_list"))
        else:
            flash(_saved_message(done), "success")
            return redirect(url_for(".field_visit_list"))
    records.log_view(current_user, esc.patient, "field_visit")
    return render_template("desks/field_visit.html", esc=esc, form=form, history=records.recent_history(esc.patient))


def _saved_message(done):
    esc = done.escalation
    parts = [_("Field visit recorded for %(name)s: %(result)s.", name=esc.patient.name,
               result=labels.FIELD_VISIT_RESULTS[esc.outcome])]
    if done.raised is not None:
        parts.append(_("Sent to: %(desk)s.", desk=labels.DESKS[done.raised.desk]))
    if done.ended:
        parts.append(_("The follow-up has ended; the patient's open calls are cancelled."))
    return " ".join(parts)

