"""The call queue: take the next call, ring the patient (click-to-call), record an attempt."""
from flask import Response
from flask_babel import lazy_gettext as _l

from ... import scope
from ...models import CallTask
from ...services.calls import bridges, calls, queue
from ...services.core.errors import Conflict, Forbidden
from .blueprint import Blueprint
from .schemas.tasks import AttemptCreateSchema, BridgeSchema, ClaimSchema, LoggedCallSchema, TaskSchema
from .security import api_user, token_required

blp = Blueprint("api_tasks", __name__, url_prefix="/tasks", description="The volunteer's call queue.")


@blp.route("/claim", methods=["POST"])
@token_required(queue.CALLER_ROLES)
@blp.arguments(ClaimSchema, required=False)
@blp.response(200, TaskSchema)
@blp.alt_response(204, description="No call is due in this queue now.", success=True)
def claim(args):
    """Take the most urgent due call (or the one you already hold)"""
    task = queue.claim_and_show(api_user(), setting=args.get("setting"))
    if task is None:
        return Response(status=204)
    return task


@blp.route("/<int:task_id>/attempts", methods=["POST"])
@token_required(queue.CALLER_ROLES)
@blp.arguments(AttemptCreateSchema)
@blp.response(201, LoggedCallSchema)
@blp.alt_response(200, schema=LoggedCallSchema, success=True,
                  description="This submission_key was already recorded: the first answer again.")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
def log_attempt(report, task_id):
    """Record what happened on a call you hold

    Needs, warning signs, wrong numbers and repeated failures raise escalations in the same transaction.
    Resending the same submission_key (a retry after a lost answer) records nothing and returns 200.
    """
    key = report.pop("submission_key")
    logged = calls.log_attempt(task_id, api_user(), report, key)
    return logged, 201 if logged.created else 200


@blp.route("/<int:task_id>/call", methods=["POST"])
@token_required(queue.CALLER_ROLES)
@blp.response(201, BridgeSchema)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
def call_patient(task_id):
    """Ring your phone and bridge it to the patient of a call you hold (click-to-call)

    With click-to-call configured, patients' numbers come masked: this is how the call is made. 409 when it is
    not configured; 403 for a call you do not hold; 400 when your profile has no mobile number to ring.
    """
    user = api_user()
    task = scope.get_scoped(CallTask, task_id, user)  # (first: another district's task is not found, whatever)
    if not bridges.enabled():
        raise Conflict(_l("Click-to-call is not configured: call the number shown."))
    if not queue.holds(user, task):
        raise Forbidden(_l("You can call only the patient of the call you hold."))
    return bridges.start(user, task.patient, task=task), 201
