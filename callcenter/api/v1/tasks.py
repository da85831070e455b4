"""The call queue: take the next call, record an attempt."""
from flask import Response

from ...services.calls import calls, queue
from .blueprint import Blueprint
from .schemas.tasks import AttemptCreateSchema, ClaimSchema, LoggedCallSchema, TaskSchema
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
