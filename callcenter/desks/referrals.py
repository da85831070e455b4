"""The doctor's and counsellor's desks: patients referred to them and their follow-ups due, the call
screen that records a consultation, and the emergency or transfer a doctor orders from there."""
import uuid

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user

from .. import labels
from ..auth.access import roles_required
from ..forms import apply_service_errors, facility_choices
from ..models import Role
from ..records.forms import TransferForm
from ..services.core.errors import Conflict, Forbidden, Invalid
from ..services.desks import consultations
from ..services.records import records, transfers
from .forms import ConsultationForm, DeskEmergencyForm
from .views import bp

REFERRAL_USERS = (Role.DOCTOR, Role.COUNSELLOR, Role.NODAL_OFFICER, Role.ADMIN)
TRANSFER_USERS = tuple(r for r in REFERRAL_USERS if r in transfers.TRANSFER_ROLES)


def _desk_or_403(desk):
    if desk not in consultations.referral_desks(current_user):
        abort(403)
    return desk


@bp.route("/referrals")
@roles_required(*REFERRAL_USERS)
def referrals():
    desks = consultations.referral_desks(current_user)
    chosen = _desk_or_403(request.args.get("desk") or desks[0])
    items = consultations.referral_queue(current_user, chosen)
    records.log_list_view(current_user, [item.patient.id for item in items], f"referrals:{chosen}")
    return render_template("desks/referrals.html", desks=desks, chosen=chosen, items=items)


@bp.route("/referrals/<desk>/patient/<int:patient_id>", methods=["GET", "POST"])
@roles_required(*REFERRAL_USERS)
def consult(desk, patient_id):
    _desk_or_403(desk)
    context = consultations.call_context(current_user, desk, patient_id)  # NotFound outside the district
    form = ConsultationForm()
    if request.method == "GET":
        form.submission_key.data = uuid.uuid4().hex
    elif form.validate_on_submit():
        try:
            recorded = consultations.record(patient_id, current_user, desk, form.report(), form.submission_key.data)
        except Invalid as exc:
            apply_service_errors(form, exc)
        except (Conflict, Forbidden) as exc:
            flash(str(exc.message), "danger")
            return redirect(url_for(".referrals", desk=desk))
        else:
            flash(_saved_message(recorded), "success" if recorded.created else "info")
            return redirect(url_for(".referrals", desk=desk))
    return _render(context, form=form)


def _render(context, form=None, emergency_form=None, transfer_form=None):
    patient = context["patient"]
    records.log_view(current_user, patient, "consultation")
    transfer_form = transfer_form or TransferForm(formdata=None)
    may_transfer = transfers.may_transfer(current_user, patient)
    if may_transfer:
        facility_choices(transfer_form.to_facility_id, transfers.destinations(patient))
    return render_template("desks/consultation.html", **context, history=records.recent_history(patient),
                           form=form, emergency_form=emergency_form or DeskEmergencyForm(formdata=None),
                           transfer_form=transfer_form, may_transfer=may_transfer)


def _saved_message(recorded):
    if not recorded.created:
        return _("This consultation was already saved; it was recorded once.")
    parts = [_("Consultation saved.")]
    if recorded.resolved:
        parts.append(_("The referral is closed."))
    if recorded.follow_up is not None:
        parts.append(_("Next call on %(day)s is on your desk's list.",
                       day=format_date(recorded.follow_up.task_date, "d MMM yyyy")))
    return " ".join(parts)


@bp.route("/referrals/<desk>/patient/<int:patient_id>/emergency", methods=["POST"])
@roles_required(*REFERRAL_USERS)
def desk_emergency(desk, patient_id):
    _desk_or_403(desk)
    context = consultations.call_context(current_user, desk, patient_id)
    form = DeskEmergencyForm()
    if form.validate_on_submit():
        try:
            esc = consultations.raise_emergency(patient_id, current_user, desk, form.kind.data, form.note.data)
        except Invalid as exc:
            apply_service_errors(form, exc)
        except Conflict as exc:
            flash(str(exc.message), "danger")
            return redirect(url_for(".consult", desk=desk, patient_id=patient_id))
        else:
            flash(_("The control room has it as an emergency (%(kind)s).",
                    kind=labels.ESCALATION_KINDS.get(esc.kind, esc.kind)), "success")
            return redirect(url_for(".consult", desk=desk, patient_id=patient_id))
    return _render(context, form=_fresh_form(), emergency_form=form)


@bp.route("/referrals/<desk>/patient/<int:patient_id>/transfer", methods=["POST"])
@roles_required(*TRANSFER_USERS)
def desk_transfer(desk, patient_id):
    _desk_or_403(desk)
    context = consultations.call_context(current_user, desk, patient_id)
    form = TransferForm()
    facility_choices(form.to_facility_id, transfers.destinations(context["patient"]))
    if form.validate_on_submit():
        try:
            move = transfers.transfer(patient_id, current_user, form.to_setting.data, form.to_facility_id.data,
                                      form.reason.data)
        except Invalid as exc:
            apply_service_errors(form, exc)
        except (Conflict, Forbidden) as exc:
            flash(str(exc.message), "danger")
            return redirect(url_for(".consult", desk=desk, patient_id=patient_id))
        else:
            place = str(labels.SETTINGS[move.to_setting])
            if move.to_facility is not None:
                place = f"{place} · {move.to_facility.name}"
            flash(_("%(name)s moved to %(place)s.", name=context["patient"].name, place=place), "success")
            return redirect(url_for(".consult", desk=desk, patient_id=patient_id))
    return _render(context, form=_fresh_form(), transfer_form=form)


def _fresh_form():
    form = ConsultationForm(formdata=None)
    form.submission_key.data = uuid.uuid4().hex
    return form
