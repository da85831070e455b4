"""The call queue: a claim, an attempt and what it raised."""

from flask_babel import lazy_gettext as _l
from marshmallow import fields
from marshmallow.validate import Length

from ....models import Outcome, Setting
from ....rules import vitals
from ....rules.routing import NeedKind, Symptom
from ....services.calls.calls import MAX_CALLBACK_AHEAD
from .common import Schema, UtcDateTime, documented, one_of, values
from .patients import PatientSummarySchema

# marshmallow's own messages, in the reader's language.


class ClaimSchema(Schema):
    setting = fields.String(allow_none=True, validate=one_of(values(Setting)),
                            metadata={"description": "Take only from this queue"})


class TaskSchema(Schema):
    id = fields.Integer()
    status = fields.String()
    setting = fields.String()
    task_date = fields.Date()
    slot = fields.Integer()
    due_at = UtcDateTime()
    priority = fields.Integer(metadata={"description": "Lower is more urgent"})
    attempts = fields.Integer()
    last_outcome = fields.String(allow_none=True)
    reason = fields.String()
    claimed_at = UtcDateTime(allow_none=True)
    patient = fields.Nested(PatientSummarySchema)


class AttemptCreateSchema(Schema):
    submission_key = fields.String(
        required=True, validate=Length(min=1, max=64, error=_l("Between {min} and {max} characters.")),
        metadata={"description": "Unique per attempt, chosen by the client; resending it records nothing new"})
    outcome = documented(Outcome, required=True)
    temperature_f = fields.Float(allow_none=True, metadata={"minimum": vitals.TEMPERATURE_F_MIN,
                                                            "maximum": vitals.TEMPERATURE_F_MAX,
                                                            "description": "Connected calls only"})
    spo2 = fields.Integer(allow_none=True, strict=True, metadata={
        "minimum": vitals.SPO2_MIN, "maximum": vitals.SPO2_MAX, "description": "Connected calls only"})
    symptoms = fields.List(documented(Symptom), load_default=list, metadata={"description": "Connected calls only"})
    needs = fields.List(documented(NeedKind), load_default=list, metadata={"description": "Connected calls only"})
    notes = fields.String(load_default="")
    callback_at = UtcDateTime(allow_none=True, metadata={
        "description": "For call_back_later: ISO 8601; without an offset it is India time (Asia/Kolkata). "
                       f"Within the next {MAX_CALLBACK_AHEAD.total_seconds() / 3600:.0f} hours."})


class AttemptSchema(Schema):
    id = fields.Integer()
    task_id = fields.Integer()
    patient_id = fields.Integer()
    user_id = fields.Integer()
    submission_key = fields.String()
    outcome = fields.String()
    temperature_f = fields.Float(allow_none=True)
    spo2 = fields.Integer(allow_none=True)
    symptoms = fields.List(fields.String(), attribute="symptom_list")
    needs = fields.Method("_needs", metadata={"type": "array", "items": {"type": "string"}})
    notes = fields.String()
    callback_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()

    def _needs(self, attempt):
        return [n.kind for n in attempt.needs]


class TaskStateSchema(Schema):
    id = fields.Integer()
    status = fields.String()
    due_at = UtcDateTime(metadata={"description": "When a requeued call falls due again"})


class EscalationBriefSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    desk = fields.String()
    severity = fields.String()
    status = fields.String()
    respond_by = UtcDateTime(allow_none=True)
    version = fields.Integer()


class LoggedCallSchema(Schema):
    created = fields.Boolean(metadata={"description": "false: this submission_key was already recorded"})
    attempt = fields.Nested(AttemptSchema)
    task = fields.Nested(TaskStateSchema, attribute="attempt.task")
    escalations = fields.List(fields.Nested(EscalationBriefSchema),
                              metadata={"description": "Raised, or noted on an open one, by this attempt"})


class BridgeSchema(Schema):
    """A click-to-call: the provider rings your phone, then the patient's, behind the centre's number."""
    bridge_id = fields.Integer(attribute="id")
    status = fields.String(metadata={"description": "requested, ringing, completed, busy, no-answer, failed …"})
    error = fields.String(metadata={"description": "Why the provider could not place it (status failed)"})
