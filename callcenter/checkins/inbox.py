"""The inbox: SMS a volunteer must read (not understood, unknown or shared numbers), and, with the console
backend, a "simulate reply" form that goes through the same path as /twilio/sms."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import gateway, labels
from ..auth.access import roles_required
from ..models import Role
from ..rules.routing import Severity, route
from ..services.checkins import inbound
from ..services.core import settings as app_settings
from ..services.core.errors import Conflict
from ..services.records import records
from .blueprint import bp
from .forms import HandledForm, SimulateReplyForm

SIMULATE_ROLES = (Role.NODAL_OFFICER, Role.ADMIN)


def can_simulate():
    return gateway.uses_console() and current_user.role in SIMULATE_ROLES


@bp.route("/inbox")
@roles_required(*inbound.INBOX_ROLES)
def inbox():
    show = "all" if request.args.get("show") == "all" else "open"
    if show == "all" and current_user.role not in inbound.ALL_MESSAGES_ROLES:
        abort(403)
    simulate = SimulateReplyForm(formdata=None, from_phone=request.args.get("phone", "")) if can_simulate() else None
    messages = inbound.inbox(current_user, show)
    records.log_list_view(current_user, [m.patient_id for m in messages], f"inbox:{show}")
    return render_template("checkins/inbox.html", messages=messages, show=show,
                           urgent={m.id for m in messages if _urgent(m)},
                           open_count=inbound.open_count(current_user), handled_form=HandledForm(),
                           simulate=simulate, record_roles=getattr(records, "RECORD_ROLES", ()),
                           need_labels=labels.NEEDS, symptom_labels=labels.SYMPTOMS,
                           all_roles=inbound.ALL_MESSAGES_ROLES)


@bp.post("/inbox/<int:message_id>/handled")
@roles_required(*inbound.INBOX_ROLES)
def handled(message_id):
    if HandledForm().validate_on_submit():
        inbound.mark_handled(message_id, current_user)
        flash(_("Marked as handled."), "success")
    return redirect(url_for(".inbox", show=request.args.get("show")))


@bp.post("/inbox/<int:message_id>/call")
@roles_required(*inbound.INBOX_ROLES)
def ask_for_call(message_id):
    if HandledForm().validate_on_submit():
        try:
            queued = inbound.ask_for_call(message_id, current_user)
        except Conflict as exc:
            flash(str(exc.message), "warning")
        else:
            flash(_("A volunteer call is queued for this patient.") if queued
                  else _("This patient is on a call right now, or no longer followed up."), "info")
    return redirect(url_for(".inbox", show=request.args.get("show")))


@bp.post("/inbox/simulate")
@roles_required(*SIMULATE_ROLES)
def simulate():
    if not can_simulate():
        flash(_("Simulated replies work only with the console messaging backend."), "warning")
        return redirect(url_for(".inbox"))
    form = SimulateReplyForm()
    if form.validate_on_submit():
        phone = inbound.normalise_phone(form.from_phone.data)
        if not inbound.may_simulate_from(current_user, phone):
            # The same answer for a stranger's number and another district's patient: no hint whose it is.
            flash(_("A simulated reply can only come from a number of a patient of your district."), "warning")
            return redirect(url_for(".inbox", show="all"))
        received = inbound.simulate_sms(current_user, phone, form.body.data or "")
        reply = received.reply or _("(no reply: the number has opted out of SMS)")
        flash(_("Simulated SMS stored. Reply: %(reply)s", reply=reply), "info")
    else:
        flash(_("Enter the phone number the SMS comes from."), "warning")
    return redirect(url_for(".inbox", show="all"))


def _urgent(message):
    """What the message asks for would be an emergency (shown first to whoever reads an unknown sender's SMS)."""
    parsed = message.parsed or {}
    try:
        routings = route(parsed.get("needs") or (), parsed.get("symptoms") or (), parsed.get("spo2"),
                         app_settings.thresholds())
    except ValueError:
        return False
    return any(r.severity == Severity.EMERGENCY for r in routings)
