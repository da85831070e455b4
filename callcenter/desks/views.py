"""Desks for the control room, doctors and counsellors: their open escalations and the actions on them."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.access import roles_required
from ..models import Role
from ..rules.routing import Desk
from ..services import discharge, escalations, records
from ..services.errors import Conflict, Forbidden, Invalid
from .forms import EscalationActionForm, ReviewDecisionForm

bp = Blueprint("desks", __name__, url_prefix="/desk")
DESK_USERS = (Role.CONTROL_ROOM, Role.DOCTOR, Role.COUNSELLOR, Role.NODAL_OFFICER, Role.ADMIN)
REVIEWERS = tuple(discharge.REVIEWER_ROLES)


@bp.route("/")
@roles_required(*DESK_USERS)
def desk():
    desks = escalations.desks_for(current_user)
    chosen = request.args.get("desk") or desks[0]
    if chosen not in desks:
        abort(403)
    items = escalations.desk_queue(current_user, Desk(chosen))
    return render_template("desks/desk.html", desks=desks, chosen=chosen, items=items,
                           form=EscalationActionForm())


@bp.route("/escalation/<int:esc_id>", methods=["GET"])
@roles_required(*DESK_USERS)
def detail(esc_id):
    esc = escalations.get_for_desk(esc_id, current_user)
    records.log_view(current_user, esc.patient, "escalation")
    return render_template("desks/detail.html", esc=esc, history=records.recent_history(esc.patient),
                           form=EscalationActionForm())


@bp.route("/escalation/<int:esc_id>/act", methods=["POST"])
@roles_required(*DESK_USERS)
def act(esc_id):
    form = EscalationActionForm()
    back = url_for(".detail", esc_id=esc_id) if request.args.get("from") == "detail" else \
        url_for(".desk", desk=form.desk.data or None)
    if not form.validate_on_submit():
        flash(_("The form expired or was incomplete; please try again."), "warning")
        return redirect(back)
    try:
        escalations.act(esc_id, current_user, form.action.data, form.text.data, form.version.data)
    except (Conflict, Invalid, Forbidden) as exc:
        flash(str(exc.message), "danger")
    else:
        flash(_("Saved."), "success")
    return redirect(back)


@bp.route("/reviews")
@roles_required(*REVIEWERS)
def reviews():
    return render_template("desks/reviews.html", reviews=discharge.pending_reviews(current_user),
                           form=ReviewDecisionForm())


@bp.route("/reviews/<int:review_id>", methods=["POST"])
@roles_required(*REVIEWERS)
def decide_review(review_id):
    form = ReviewDecisionForm()
    if not form.validate_on_submit():
        flash(_("The form expired or was incomplete; please try again."), "warning")
        return redirect(url_for(".reviews"))
    try:
        review = discharge.decide(review_id, current_user, form.decision.data == "discharge", form.note.data)
    except (Conflict, Invalid) as exc:
        flash(str(exc.message), "danger")
    else:
        if review.status == "discharged":
            flash(_("%(name)s is discharged; their follow-up calls have ended.", name=review.patient.name),
                  "success")
        else:
            flash(_("%(name)s stays in isolation and will be reviewed again.", name=review.patient.name), "info")
    return redirect(url_for(".reviews"))
