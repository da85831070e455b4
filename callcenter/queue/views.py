"""The volunteer console: queues with live counts, take the next call, record it."""
import uuid

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import inspect
from sqlalchemy.orm import joinedload

from .. import labels, scope
from ..auth.access import roles_required
from ..clock import utcnow
from ..forms import apply_service_errors
from ..models import CallTask, Role, Setting, TaskStatus
from ..services.calls import bridges, calls, households, queue
from ..services.core import settings as app_settings
from ..services.core.errors import Conflict, Invalid
from ..services.records import records
from ..templating import local_datetime
from . import bridge_views
from .forms import CallForm, HouseholdCallForm, ReleaseForm, TakeForm

bp = Blueprint("queue", __name__, url_prefix="/queue")
CALLERS = (Role.VOLUNTEER, Role.NODAL_OFFICER, Role.ADMIN)
bridge_views.register(bp)  # *Call patient* (click-to-call), used from the desks' call screens too


@bp.route("/")
@roles_required(*CALLERS)
def console():
    held = queue.current_claim(current_user)
    if held is not None:  # "your call with …": the patient is named
        records.log_list_view(current_user, [held.patient_id], "queue")
    return render_template("queue/console.html", counts=queue.queue_counts(current_user), held=held,
                           take_form=TakeForm(), settings=list(Setting))


@bp.route("/counts.json")
@roles_required(*CALLERS)
def counts():
    return jsonify(queue.queue_counts(current_user))


@bp.route("/take", methods=["POST"])
@roles_required(*CALLERS)
def take():
    form = TakeForm()
    if not form.validate_on_submit():
        flash(_("The form expired; please try again."), "warning")
        return redirect(url_for(".console"))
    setting = form.setting.data if form.setting.data in set(Setting) else None
    return _take_next(setting)


def _take_next(setting):
    """The next call of this queue (`setting`, or all), or the console saying there is none. The call's
    address carries the queue, so that "Save and take next" goes on in the same one."""
    task = queue.claim_next_task(current_user, setting=setting)
    if task is None:
        flash(_("No calls are due in this queue right now."), "info")
        return redirect(url_for(".console"))
    # (the id as the session knows it: the committed task is not read again for it)
    return redirect(url_for(".call", task_id=inspect(task).identity[0], queue=setting))


@bp.route("/task/<int:task_id>", methods=["GET", "POST"])
@roles_required(*CALLERS)
def call(task_id):
    task = scope.get_scoped(CallTask, task_id, current_user, options=[joinedload(CallTask.patient)])
    members = households.call_members(task)
    # A household form posted stays a household form, even if the household changed meanwhile
    # (the service then refuses it rather than record a member's readings as someone else's).
    household = "members-0-patient_id" in request.form if request.method == "POST" else len(members) > 1
    form = HouseholdCallForm() if household else CallForm()
    if request.method == "GET":
        form.submission_key.data = uuid.uuid4().hex
        for patient, _task in members if household else ():
            form.members.append_entry({"patient_id": patient.id})
    mine = _mine(task)
    if not mine and request.method == "GET":
        return _not_yours(task)
    if form.validate_on_submit():
        try:
            logged = calls.log_attempt(task.id, current_user, form.report(), form.submission_key.data)
        except Invalid as exc:
            if household:
                exc = Invalid(exc.message, form.apply_member_errors(exc.errors))
            apply_service_errors(form, exc)
        except Conflict as exc:
            if not mine and calls.saved_by(task, current_user) is not None:
                return _not_yours(task)  # the form sent again after Back: it was saved the first time
            flash(str(exc.message), "danger")
            return redirect(url_for(".console"))
        else:
            if logged.created and bridges.enabled():
                bridges.attach(logged.attempt)  # the provider's outcome and duration, kept with the attempt
            flash(_saved_message(logged, members), "success" if logged.created else "info")
            if request.form.get("then") == "next":  # "Save and take next call"
                chosen = request.args.get("queue")
                return _take_next(chosen if chosen in set(Setting) else None)
            return redirect(url_for(".console"))
    if not mine:
        # A form posted for a call this user no longer (or never) held: the service has refused or re-answered
        # it above; the call screen itself, with the patient's details, is only for the one on the call.
        return _not_yours(task)
    if request.method == "GET" and form.outcome.data is None:
        bridged = bridges.latest(current_user, task.patient_id, task.id)
        if bridged is not None and bridged.outcome:
            form.outcome.data = bridged.outcome  # what the provider saw; the volunteer may change it
    if household:
        return _household_screen(task, members, form)
    patient = task.patient
    records.log_view(current_user, patient, "call")
    history, thresholds = records.recent_history(patient), app_settings.thresholds()
    return render_template("queue/call.html", task=task, patient=patient, form=form, history=history,
                           why=queue.why_first(task, history, thresholds), release_form=ReleaseForm(),
                           thresholds=thresholds)


def _household_screen(task, members, form):
    # Only the people this call covers are shown: a posted id of anyone else (a member who left the household,
    # or a forged one) shows nobody; the service has refused the form already.
    people = {patient.id: patient for patient, _task in members}
    records.log_views(current_user, list(people.values()), "call")
    histories = {pid: records.recent_history(p) for pid, p in people.items()}
    thresholds = app_settings.thresholds()
    why = queue.why_first(task, histories[task.patient_id], thresholds) if task.patient_id in histories else []
    # (None when the household broke up after the form was shown)
    return render_template("queue/household_call.html", task=task, patient=task.patient,
                           household=households.of(task.patient), people=people, form=form,
                           release_form=ReleaseForm(), histories=histories, why=why, thresholds=thresholds)


@bp.route("/task/<int:task_id>/release", methods=["POST"])
@roles_required(*CALLERS)
def release(task_id):
    if ReleaseForm().validate_on_submit():
        try:
            queue.release_task(task_id, current_user)
            flash(_("The call went back to the queue."), "info")
        except Conflict as exc:
            flash(str(exc.message), "warning")
    return redirect(url_for(".console"))


def _not_yours(task):
    """Back to the console, saying why: this user already saved the call (Back or reload after saving), or it
    is not theirs."""
    saved = calls.saved_by(task, current_user)
    if saved is None:
        flash(_("This call is not assigned to you."), "warning")
    else:
        same_day = local_datetime(saved.created_at, "yyyy-MM-dd") == local_datetime(utcnow(), "yyyy-MM-dd")
        flash(_("This call was already saved at %(time)s.",
                time=local_datetime(saved.created_at, "HH:mm" if same_day else "d MMM, HH:mm")), "info")
    return redirect(url_for(".console"))


def _mine(task):
    return queue.holds(current_user, task)


def _saved_message(logged, members):
    if not logged.created:
        return _("This call was already saved; it was recorded once.")
    task = logged.attempt.task
    household = len(logged.members) > 1
    # (Names from what the call screen loaded: after the commit the database may be gone, errors.py.)
    named = {patient.id: patient.name for patient, _task in members}
    names = ", ".join(named[pid] for pid in logged.members if pid in named) if household else task.patient.name
    parts = [_("Call saved for %(n)s household members: %(names)s.", n=len(logged.members), names=names)
             if household else _("Call with %(name)s saved.", name=names)]
    if logged.escalations:
        parts.append(_("Sent to: %(desks)s.", desks=", ".join(
            f"{labels.DESKS[e.desk]} ({e.patient.name + ': ' if household else ''}"
            f"{labels.ESCALATION_KINDS.get(e.kind, e.kind)}, {labels.SEVERITIES[e.severity]})"
            for e in logged.escalations)))
    if task.status == TaskStatus.PENDING:
        parts.append(_("The patient will be called again at %(time)s.", time=local_datetime(task.due_at, "HH:mm")))
    elif task.status == TaskStatus.UNREACHABLE:
        parts.append(_("The patient is marked unreachable for today."))
    return " ".join(parts)
