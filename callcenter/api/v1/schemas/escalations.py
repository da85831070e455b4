"""Escalations: the desk's queue, one escalation, its actions, help sent."""

from marshmallow import fields

from ....models import Desk, DispatchKind, EscalationStatus
from ....services.desks import escalations
from .common import (
    OPTIONAL_PHONE_SPELLING,
    Schema,
    UtcDateTime,
    documented,
    mobile,
    one_of,
    record_id,
    stored_phone,
    values,
)
from .patients import PatientSummarySchema

# marshmallow's own messages, in the reader's language.


# "open" covers every open status; "all" adds the closed ones; any other is that one status.
STATUS_FILTERS = ["open", "all", *(s for s in values(EscalationStatus) if s != EscalationStatus.OPEN)]


class EscalationQuerySchema(Schema):
    desk = fields.String(validate=one_of(values(Desk)), metadata={"description": "Default: your first desk"})
    status = fields.String(validate=one_of(STATUS_FILTERS), load_default="open",
                           metadata={"description": "open: open, acknowledged or in progress (default)"})


class NoteSchema(Schema):
    at = UtcDateTime()
    user_id = fields.Integer(allow_none=True)
    text = fields.String()


class EscalationSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    desk = fields.String()
    severity = fields.String()
    status = fields.String()
    summary = fields.String()
    reasons = fields.List(fields.List(fields.Raw()),
                          metadata={"description": 'Why, e.g. [["need","ambulance"],["spo2",91]]'})
    source = fields.String()
    district_id = fields.Integer()
    created_at = UtcDateTime()
    created_by_id = fields.Integer(allow_none=True)
    respond_by = UtcDateTime(allow_none=True)
    owner_id = fields.Integer(allow_none=True)
    acknowledged_at = UtcDateTime(allow_none=True)
    started_at = UtcDateTime(allow_none=True)
    closed_at = UtcDateTime(allow_none=True)
    resolution = fields.String()
    outcome = fields.String(allow_none=True, metadata={"enum": list(escalations.OUTCOMES),
                                                       "description": "What came of a resolved escalation"})
    breached_at = UtcDateTime(allow_none=True, metadata={"description": "When its response deadline was missed"})
    version = fields.Integer(metadata={"description": "Send back with an action to detect someone else's change"})
    patient = fields.Nested(PatientSummarySchema)


class DispatchSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"enum": values(DispatchKind)})
    vehicle_number = fields.String()
    driver_phone = stored_phone(allow_none=True)
    destination_facility_id = fields.Integer(allow_none=True)
    eta = UtcDateTime(allow_none=True)
    delivered_by = fields.String()
    delivery_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()
    created_by_id = fields.Integer(allow_none=True)


class EscalationDetailSchema(EscalationSchema):
    notes = fields.List(fields.Nested(NoteSchema))
    dispatches = fields.List(fields.Nested(DispatchSchema))


class DispatchCreateSchema(Schema):
    kind = documented(DispatchKind, required=True)
    vehicle_number = fields.String(load_default="", metadata={"description": "Ambulance: e.g. CG 04 AB 1234"})
    driver_phone = mobile(OPTIONAL_PHONE_SPELLING, load_default="",
                         metadata={"description": "Ambulance: the driver's Indian mobile, any common spelling"})
    destination_facility_id = record_id(allow_none=True, load_default=None, metadata={
        "description": "Ambulance: a hospital or care centre of the escalation's district"})
    eta = UtcDateTime(allow_none=True, load_default=None, metadata={
        "description": "Ambulance: when it reaches the patient (ISO 8601; without an offset, India time)"})
    delivered_by = fields.String(load_default="", metadata={"description": "Delivery or other: who brings it"})
    delivery_at = UtcDateTime(allow_none=True, load_default=None, metadata={
        "description": "Delivery or other: when it reaches the patient"})
    note = fields.String(load_default="")
    version = record_id(allow_none=True, metadata={"description": "The version you saw; 409 if it has changed since"})


class ReassignSchema(Schema):
    owner_id = record_id(required=True, metadata={"description": "An active user of the same desk and district"})
    text = fields.String(required=True, metadata={"description": "Why (not blank)"})
    version = record_id(allow_none=True, metadata={"description": "The version you saw; 409 if it has changed since"})


class EscalationActionSchema(Schema):
    action = fields.String(required=True, validate=one_of(list(escalations.ACTIONS)))
    text = fields.String(load_default="", metadata={"description": "Required for note, resolve and cancel"})
    version = record_id(allow_none=True, metadata={"description": "The version you saw; 409 if it has changed since"})
    outcome = fields.String(allow_none=True, load_default=None, validate=one_of(list(escalations.OUTCOMES)),
                            metadata={"description": "resolve: what came of it"})
    facility_id = record_id(allow_none=True, load_default=None, metadata={
        "description": "resolve with outcome admitted: where (default: the ambulance's destination)"})
