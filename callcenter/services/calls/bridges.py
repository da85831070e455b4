"""Click-to-call with masked numbers: the provider rings the user's own phone (their profile's mobile, or the
desk phone CLICK_TO_CALL_DESK_PHONE), then the patient, and bridges them behind the centre's number. Neither
sees the other's number; the status callback records the real outcome and duration, which pre-fills the
volunteer's form. With the console backend the bridge is simulated (the demo), and ended by hand.
"""
import logging

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ... import gateway as gateways
from ... import public_urls
from ...clock import utcnow
from ...extensions import db
from ...models import BridgedCall, Outcome, Role
from ..core import audit
from ..core.errors import Forbidden, Invalid
from . import households, queue

log = logging.getLogger(__name__)

REQUESTED, ENDED = "requested", ("completed", "busy", "no-answer", "failed", "canceled")
# The provider's end of a call → the attempt outcome it suggests (the volunteer can still change it).
OUTCOMES = {"busy": Outcome.BUSY, "no-answer": Outcome.NO_ANSWER, "failed": Outcome.SWITCHED_OFF,
            "canceled": Outcome.NO_ANSWER}


def enabled(app=None):
    """True when CLICK_TO_CALL_BACKEND names a backend that can bridge calls (console simulates, Exotel bridges).
    Then the call screens offer *Call patient* and show the patient's number masked."""
    config = (app or current_app).config
    if not config.get("CLICK_TO_CALL_BACKEND"):
        return False
    try:
        return gateways.backend_class(config["CLICK_TO_CALL_BACKEND"]).can_bridge
    except (gateways.ConfigurationError, ImportError, AttributeError):
        return False


def simulated(app=None):
    return gateways.backend_name("click_to_call", app) == "console"


def user_phone(user):
    return (user.phone or "").strip() or (current_app.config.get("CLICK_TO_CALL_DESK_PHONE") or "").strip()


def callback_url(gateway, bridge_id):
    return public_urls.webhook_url(gateway.status_endpoint, **gateway.callback_values(), b=bridge_id)


def check_volunteers_call(user, patient, task):
    """A volunteer bridges only to a patient of the call they hold now (its patient, or a household member it
    covers): they see no number, but may not ring anyone else. Forbidden otherwise."""
    if user.role != Role.VOLUNTEER:
        return
    if not queue.holds(user, task) or patient.id not in {member.id for member, _task in households.call_members(task)}:
        raise Forbidden(_l("You can call only the patient of the call you hold."))


def start(user, patient, task=None, escalation=None, now=None):
    """Ask the provider to bridge `user` to `patient`. Returns the BridgedCall (status "requested", or "failed"
    with the reason in `error`). Raises Invalid when the user has no phone to ring."""
    now = now or utcnow()
    agent = user_phone(user)
    if not agent:
        raise Invalid(_l("Your profile has no mobile number to ring: ask an administrator to add it."))
    gateway = gateways.for_channel("click_to_call")
    bridge = BridgedCall(patient_id=patient.id, user_id=user.id, district_id=patient.district_id,
                         task_id=task.id if task else None, escalation_id=escalation.id if escalation else None,
                         provider=gateway.name, status=REQUESTED, recording_url="", error="", requested_at=now)
    db.session.add(bridge)
    db.session.flush()
    audit.record(user, "call.bridge", "patient", patient.id, patient.district_id, now=now, bridge_id=bridge.id,
                 task_id=bridge.task_id, escalation_id=bridge.escalation_id, provider=gateway.name)
    db.session.commit()  # the row exists before the provider is asked: its callback always finds it
    to_phone = patient.call_phone
    try:
        result = gateway.connect(agent, to_phone, status_callback=callback_url(gateway, bridge.id),
                                 record=bool(current_app.config.get("CALL_RECORDING")))
    except gateways.GatewayError as exc:
        bridge = db.session.get(BridgedCall, bridge.id)
        bridge.status, bridge.error, bridge.ended_at = "failed", str(exc)[:500], now
        db.session.commit()
        log.warning("click-to-call %s failed at the provider: %s", bridge.id, type(exc).__name__)
        return bridge
    bridge = db.session.get(BridgedCall, bridge.id)
    bridge.provider_sid = result.sid
    if bridge.status == REQUESTED:
        bridge.status = "ringing"
    db.session.commit()
    return bridge


def _locked(bridge_id):
    return db.session.scalar(select(BridgedCall).where(BridgedCall.id == bridge_id).with_for_update()
                             .execution_options(populate_existing=True))


def apply_callback(bridge_id, sid, status, form, now=None):
    """The provider's terminal status for a bridge. Written once: a repeated or late callback, one naming
    another call, or one for a bridge that does not exist changes nothing. Returns the bridge or None."""
    now = now or utcnow()
    status = (status or "").lower()
    try:
        bridge = _locked(bridge_id)
        if bridge is None or status not in ENDED or bridge.ended_at is not None:
            db.session.rollback()
            return None
        if bridge.provider_sid not in (None, sid):
            db.session.rollback()
            return None
        try:
            duration = max(0, int(form.get("ConversationDuration") or form.get("DialCallDuration") or 0))
        except ValueError:
            duration = 0
        bridge.provider_sid = sid
        bridge.status, bridge.ended_at, bridge.duration_seconds = status, now, duration
        talked = status == "completed" and duration > 0
        bridge.outcome = Outcome.CONNECTED if talked else OUTCOMES.get(status, Outcome.NO_ANSWER)
        if current_app.config.get("CALL_RECORDING"):
            bridge.recording_url = (form.get("RecordingUrl") or "")[:500]
        audit.record(None, "call.bridge_ended", "patient", bridge.patient_id, bridge.district_id, now=now,
                     bridge_id=bridge.id, status=status, duration=duration)
        db.session.commit()
        return bridge
    except BaseException:
        db.session.rollback()
        raise


def end_simulated(bridge_id, user, answered=True, now=None):
    """The console backend's bridge, ended by hand in the demo: the callback a provider would send."""
    now = now or utcnow()
    bridge = db.session.get(BridgedCall, bridge_id)
    if bridge is None or bridge.user_id != user.id or bridge.provider != "console":
        return None
    duration = int((now - bridge.requested_at).total_seconds()) if answered else 0
    return apply_callback(bridge_id, bridge.provider_sid, "completed" if answered else "no-answer",
                          {"ConversationDuration": str(max(duration, 1 if answered else 0))}, now=now)


def latest(user, patient_id, task_id=None):
    """This user's latest bridge to this patient (for this task): what the call screen shows and pre-fills."""
    stmt = select(BridgedCall).where(BridgedCall.user_id == user.id, BridgedCall.patient_id == patient_id)
    if task_id is not None:
        stmt = stmt.where(BridgedCall.task_id == task_id)
    return db.session.scalar(stmt.order_by(BridgedCall.id.desc()).limit(1))


def attach(attempt, now=None):
    """The volunteer saved the call: its provider-side record (outcome, duration) is tied to the attempt, the
    latest bridge of this user on this task that ended and is not tied to another. Returns the bridge or None."""
    bridge = db.session.scalar(
        select(BridgedCall).where(BridgedCall.user_id == attempt.user_id, BridgedCall.task_id == attempt.task_id,
                                  BridgedCall.attempt_id.is_(None), BridgedCall.ended_at.is_not(None))
        .order_by(BridgedCall.id.desc()).limit(1).with_for_update())
    if bridge is None:
        db.session.rollback()
        return None
    bridge.attempt_id = attempt.id
    db.session.commit()
    return bridge
