"""The outbox page (nodal officer, administrator) and Twilio's delivery and call status callbacks.

Registered on the check-ins blueprint (imported at the end of views.py).
"""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import AnyOf

from .. import gateway as gateways
from ..auth.access import roles_required
from ..gateway.twilio_backend import TwilioGateway, outbox_status
from ..input_checks import db_int
from ..models import OutboxStatus, Role
from ..services.outbox.reads import drain_forecast, latest
from ..services.outbox.status import RESOLVABLE, apply_status, resolve
from ..services.records import records
from .blueprint import bp
from .security import twilio_signed

OFFICERS = (Role.NODAL_OFFICER, Role.ADMIN)
PAGE = 100


class ResolveForm(FlaskForm):
    action = HiddenField(validators=[AnyOf(list(RESOLVABLE))])


@bp.route("/outbox")
@roles_required(*OFFICERS)
def outbox_page():
    status = request.args.get("status") or None
    if status not in {s.value for s in OutboxStatus}:
        status = None
    before = request.args.get("before", type=db_int)
    messages = latest(current_user, status=status, before=before, limit=PAGE + 1)
    older = messages[PAGE - 1].id if len(messages) > PAGE else None
    records.log_list_view(current_user, [m.patient_id for m in messages[:PAGE]], "outbox")
    return render_template("checkins/outbox.html", messages=messages[:PAGE], status=status, older=older,
                           console=gateways.uses_console(), resolvable=RESOLVABLE, form=ResolveForm(),
                           forecast=drain_forecast())


@bp.route("/outbox/<int:message_id>/resolve", methods=["POST"])
@roles_required(*OFFICERS)
def outbox_resolve(message_id):
    """Settle a message by hand: send again (it never reached the provider) or cancel."""
    form = ResolveForm()
    if not form.validate_on_submit():
        abort(400)
    if resolve(message_id, form.action.data, current_user) is None:
        flash(_("That message cannot be changed now; it may already be settled."), "warning")
    elif form.action.data == "resend":
        flash(_("The message will be sent again on the next pass."), "success")
    else:
        flash(_("The message will not be sent."), "success")
    return redirect(request.referrer or url_for(".outbox_page"))


@bp.route("/twilio/status", methods=["POST"])
@twilio_signed
def twilio_status():
    """Delivery (SMS) and call status callbacks. ?m=<message id> names our message, which settles one
    whose provider id we never recorded (a sender that died after handing it over)."""
    form = request.form
    if form.get("CallSid"):
        kind, sid, raw = "call", form["CallSid"], form.get("CallStatus", "")
    elif form.get("MessageSid") or form.get("SmsSid"):
        kind, sid = "sms", form.get("MessageSid") or form["SmsSid"]
        raw = form.get("MessageStatus") or form.get("SmsStatus", "")
    else:
        return "", 204
    code = form.get("ErrorCode", "")
    error = f"{raw} (Twilio error {code})" if code else raw
    apply_status(sid, outbox_status(kind, raw), TwilioGateway.name,
                        message_id=request.args.get("m", type=int), error=error)
    return "", 204  # whatever happened: Twilio must not retry a callback we have read
