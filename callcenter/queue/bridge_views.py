"""*Call patient*: click-to-call from the volunteer's call screen, the doctor's and counsellor's referral and the
control room's escalation (services/calls/bridges.py). Registered on the queue blueprint (views.py imports it)."""
from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import AnyOf, Optional

from .. import scope
from ..auth.access import roles_required
from ..auth.views import safe_next
from ..input_checks import optional_db_int
from ..models import BridgedCall, CallTask, Escalation, Patient, Role
from ..services.calls import bridges
from ..services.core.errors import Forbidden, Invalid

BRIDGE_ROLES = (Role.VOLUNTEER, Role.DOCTOR, Role.COUNSELLOR, Role.CONTROL_ROOM, Role.NODAL_OFFICER, Role.ADMIN)


class BridgeForm(FlaskForm):
    patient_id = HiddenField()
    task_id = HiddenField(validators=[Optional()])
    escalation_id = HiddenField(validators=[Optional()])
    next = HiddenField()


class EndSimulatedForm(FlaskForm):
    answered = HiddenField(validators=[AnyOf(["1", "0"])])
    next = HiddenField()


def _back(form):
    return redirect(safe_next(form.next.data) or request.referrer or url_for("queue.console"))


def _record(model, raw):
    ident = optional_db_int(raw)
    return scope.get_scoped(model, ident, current_user) if ident is not None else None


def register(bp):
    @bp.app_context_processor
    def click_to_call_globals():
        def latest_bridge(patient_id, task_id=None):
            return bridges.latest(current_user, patient_id, task_id)
        return {"click_to_call_enabled": bridges.enabled, "latest_bridge": latest_bridge}

    @bp.route("/bridge", methods=["POST"])
    @roles_required(*BRIDGE_ROLES)
    def bridge():
        """Ask the provider to ring the user's phone and bridge it to the patient (numbers masked both ways)."""
        form = BridgeForm()
        if not form.validate_on_submit() or optional_db_int(form.patient_id.data) is None:
            abort(400)
        if not bridges.enabled():
            abort(404)
        patient = _record(Patient, form.patient_id.data)
        task, escalation = _record(CallTask, form.task_id.data), _record(Escalation, form.escalation_id.data)
        if (task and task.patient_id != patient.id) or (escalation and escalation.patient_id != patient.id):
            abort(400)
        try:
            bridges.check_volunteers_call(current_user, patient, task)
            made = bridges.start(current_user, patient, task=task, escalation=escalation)
        except (Invalid, Forbidden) as exc:
            flash(str(exc.message), "danger")
            return _back(form)
        if made.status == "failed":
            flash(_("The call could not be placed: %(reason)s", reason=made.error), "danger")
        elif bridges.simulated():
            flash(_("Demo: your phone would ring now, then the patient's. End the simulated call below."), "info")
        else:
            flash(_("Your phone will ring now. Answer it and you will be connected to the patient; "
                    "they see the centre's number."), "success")
        return _back(form)

    @bp.route("/bridge/<int:bridge_id>/end", methods=["POST"])
    @roles_required(*BRIDGE_ROLES)
    def end_simulated_bridge(bridge_id):
        """The demo's (console backend's) bridge, ended by its user: answered or not."""
        form = EndSimulatedForm()
        if not form.validate_on_submit():
            abort(400)
        made = scope.get_scoped(BridgedCall, bridge_id, current_user)
        if made.user_id != current_user.id or not bridges.simulated():
            abort(404)
        bridges.end_simulated(made.id, current_user, answered=form.answered.data == "1")
        return _back(form)
