"""Exotel's callbacks: SMS delivery reports and call statuses (outbox messages and click-to-call bridges).

Exotel retries a callback it got no answer to, twice: each is applied idempotently (statuses move only forward,
a bridge's outcome is written once), and the answer is 200 whatever happened, so it stops retrying.
"""
from flask import request

from ..gateway.exotel import ExotelGateway, failure_text, outbox_status
from ..services.calls import bridges
from ..services.checkins import missed_calls
from ..services.outbox.status import apply_status
from .blueprint import bp
from .exotel_security import exotel_secret


def _form():
    """Exotel posts form fields (and, for some applets, query parameters): both are read."""
    return {**request.args.to_dict(), **request.form.to_dict()}


@bp.route("/exotel/<key>/status", methods=["POST"])
@exotel_secret
def exotel_status():
    """?m=<message id>: an outbox message (SMS or IVR call); ?b=<bridge id>: a click-to-call bridge."""
    form = _form()
    if form.get("SmsSid"):
        kind, sid = "sms", form["SmsSid"]
    elif form.get("CallSid"):
        kind, sid = "call", form["CallSid"]
    else:
        return "", 200
    raw = form.get("Status", "")
    bridge_id = request.args.get("b", type=int)
    if bridge_id is not None:  # a click-to-call bridge, not an outbox message
        if kind == "call":
            bridges.apply_callback(bridge_id, sid, raw, form)
        return "", 200
    status = outbox_status(kind, raw)
    error = failure_text(form.get("DetailedStatusCode"), form.get("DetailedStatus", "")) if status == "failed" else ""
    apply_status(sid, status, ExotelGateway.name, message_id=request.args.get("m", type=int), error=error or raw)
    return "", 200


@bp.route("/exotel/<key>/missed", methods=["GET", "POST"])
@exotel_secret
def exotel_missed_call():
    """The missed-call number's Passthru (an incoming-call flow that hangs up, or Exotel's missed-call service):
    a patient's number gets an IVR check-in call back through the outbox; an unknown one is kept for the inbox."""
    form = _form()
    sid, caller = form.get("CallSid", ""), form.get("CallFrom") or form.get("From", "")
    if sid and caller:
        missed_calls.receive(sid, caller, form.get("CallTo") or form.get("To", ""))
    return "", 200
