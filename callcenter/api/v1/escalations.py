"""Desks: escalations for the control room, doctors and counsellors, and the actions on them."""
from ...services.desks import dispatch, escalations
from ...services.records import records
from .blueprint import Blueprint
from .schemas.escalations import (
    DispatchCreateSchema,
    EscalationActionSchema,
    EscalationDetailSchema,
    EscalationQuerySchema,
    EscalationSchema,
    ReassignSchema,
)
from .security import api_user, token_required

blp = Blueprint("api_escalations", __name__, url_prefix="/escalations",
                description="Needs someone other than the volunteer must act on.")
# Anyone who works a desk; which desks, and so which escalations, is the service's call.
DESK_USERS = frozenset().union(*escalations.DESK_ROLES.values(), escalations.SUPERVISORS)


@blp.route("", methods=["GET"])
@token_required(DESK_USERS)
@blp.arguments(EscalationQuerySchema, location="query")
@blp.response(200, EscalationSchema(many=True))
def desk_queue(query):
    """A desk's escalations: emergencies first, then oldest first"""
    user = api_user()
    desk = query.get("desk") or next(iter(escalations.desks_for(user)), None)
    status = query["status"]
    found = escalations.desk_queue(user, desk, include_closed=status == "all",
                                   status=None if status in ("open", "all") else status)
    records.log_list_view(user, [esc.patient_id for esc in found], "api:escalations")
    return found


@blp.route("/<int:esc_id>", methods=["GET"])
@token_required(DESK_USERS)
@blp.response(200, EscalationDetailSchema)
@blp.alt_response(404, response="NOT_FOUND")
def read(esc_id):
    """One escalation with its notes and the patient's call details"""
    esc = escalations.get_for_desk(esc_id, api_user())
    records.log_view(api_user(), esc.patient, "escalation")
    return esc


@blp.route("/<int:esc_id>/actions", methods=["POST"])
@token_required(DESK_USERS)
@blp.arguments(EscalationActionSchema)
@blp.response(200, EscalationDetailSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
def act(action, esc_id):
    """Acknowledge, start, note, resolve or cancel

    Send the version you saw: 409 if someone changed the escalation since, or if the step is not allowed
    from its current status (e.g. resolving it twice).
    """
    return escalations.act(esc_id, api_user(), action["action"], action["text"], action.get("version"),
                           outcome=action.get("outcome"), facility_id=action.get("facility_id"))


@blp.route("/<int:esc_id>/dispatch", methods=["POST"])
@token_required(dispatch.DISPATCH_ROLES)
@blp.arguments(DispatchCreateSchema)
@blp.response(201, EscalationDetailSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
def send_help(data, esc_id):
    """Send help: an ambulance or a delivery

    The escalation must be acknowledged (or already in progress); it becomes in progress. An ambulance
    needs vehicle_number, driver_phone, destination_facility_id and eta; a delivery or other help needs
    delivered_by and delivery_at. The patient is told by SMS unless they opted out.
    """
    version = data.pop("version", None)
    sent = dispatch.dispatch(esc_id, api_user(), data, version=version)
    return sent.escalation


@blp.route("/<int:esc_id>/reassign", methods=["POST"])
@token_required(DESK_USERS)
@blp.arguments(ReassignSchema)
@blp.response(200, EscalationDetailSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
def reassign(data, esc_id):
    """Hand an open escalation to another user of its desk in the same district"""
    return escalations.reassign(esc_id, api_user(), data["owner_id"], data["text"], version=data.get("version"))
