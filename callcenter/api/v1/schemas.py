"""Request and response shapes. They parse types: every rule and its message lives in the services, and the
rules are written into the document (metadata) so that it tells the truth. Refused here, before a service:
what the database cannot hold (text with a NUL or another control character, integers past the id columns),
a phone number's spelling and a value outside a documented list, so that what the document calls invalid is.
"""
import re
from datetime import timezone

import marshmallow as ma
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import fields
from marshmallow.validate import Length, OneOf, Range, Regexp

from ...clock import local_to_utc
from ...models import Comorbidity, Desk, DispatchKind, EscalationStatus, Outcome, Setting, Sex
from ...rules import vitals
from ...rules.routing import NeedKind, Symptom
from ...services.calls.calls import MAX_CALLBACK_AHEAD
from ...services.desks import escalations
from ...services.records.patients import IDENTITY_MESSAGES

# marshmallow's own messages, in the reader's language.
FIELD_MESSAGES = {"required": _l("This field is required."), "null": _l("This field cannot be empty.")}
INVALID = {
    fields.Integer: _l("Enter a whole number."),
    fields.Float: _l("Enter a number."),
    fields.String: _l("Enter text."),
    fields.Date: _l("Enter a date as YYYY-MM-DD."),
    fields.DateTime: _l("Enter a date and time in ISO 8601 (YYYY-MM-DDTHH:MM, India time unless an offset is given)."),
    fields.List: _l("Send a list."),
}


DB_INT_MAX = 2**31 - 1  # PostgreSQL's integer, the type of the id columns: a larger id is no record's
# C0 controls but tab, CR and LF (notes have lines), and DEL: PostgreSQL refuses NUL in text. Lone UTF-16
# surrogates (JSON can escape one, "\ud800") cannot be encoded for any database.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
# A mobile as people write it (98260 12345, 098260-12345, +91 (98260) 12345); the service checks the number.
PHONE_SPELLING = r"^\+?[0-9 ().-]{10,30}$"
OPTIONAL_PHONE_SPELLING = r"^(\+?[0-9 ().-]{10,30})?$"
E164_INDIA = r"^\+91[0-9]{10}$"  # how every phone number is stored and sent back


def values(enum):
    return [str(v) for v in enum]


def no_control_characters(value):
    if CONTROL_CHARACTERS.search(value):
        raise ma.ValidationError(_("Remove the control characters (such as NUL) from this text."))


class Schema(ma.Schema):
    error_messages = {"unknown": _l("Unknown field."), "type": _l("Send a JSON object.")}

    def on_bind_field(self, field_name, field_obj):
        messages = dict(FIELD_MESSAGES)
        invalid = next((INVALID[c] for c in type(field_obj).__mro__ if c in INVALID), None)
        if invalid is not None:
            messages["invalid"] = invalid
        field_obj.error_messages = {**field_obj.error_messages, **messages}
        if isinstance(field_obj, fields.String) and no_control_characters not in field_obj.validators:
            field_obj.validators.append(no_control_characters)


def in_range(low, high):
    return Range(min=low, max=high, error=_l("Must be between {min} and {max}."))


def record_id(**kw):
    """An id sent by the client: a whole number the id columns can hold (a larger one is refused, not looked up)."""
    return fields.Integer(strict=True, validate=in_range(0, DB_INT_MAX), **kw)


def mobile(pattern=PHONE_SPELLING, **kw):
    """A mobile number sent by the client: its spelling is checked here, the number by the service."""
    return fields.String(validate=Regexp(pattern, error=IDENTITY_MESSAGES["phone_invalid"]), **kw)


def stored_phone(**kw):
    return fields.String(metadata={"pattern": E164_INDIA, "description": "E.164, e.g. +919826012345"}, **kw)


class UtcDateTime(fields.DateTime):
    """The database keeps naive UTC; the wire carries an offset. An input without one is India time."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return super()._serialize(value, attr, obj, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        dt = super()._deserialize(value, attr, data, **kwargs)
        try:
            if dt.tzinfo is None:
                return local_to_utc(dt)
            return dt.astimezone(timezone.utc).replace(tzinfo=None)
        except OverflowError:  # the year 1 or 9999 moved past the calendar's end by the offset
            raise self.make_error("invalid") from None


def one_of(choices):
    return OneOf(choices, error=_l("Must be one of: {choices}."))


def documented(enum, **kw):
    """A string whose allowed values are documented; the service checks them and says what is wrong."""
    return fields.String(metadata={"enum": values(enum)}, **kw)


class ErrorSchema(Schema):
    code = fields.Integer(metadata={"description": "HTTP status code"})
    message = fields.String(metadata={"description": "What went wrong, in the user's language"})
    errors = fields.Dict(keys=fields.String(), values=fields.String(),
                         metadata={"description": "Field name → message"})


# --- sign-in ---

class TokenRequestSchema(Schema):
    username = fields.String(required=True)
    password = fields.String(required=True, load_only=True)
    otp = fields.String(load_only=True, metadata={
        "description": "Two-factor code: the 6 digits the user's authenticator app shows now, or one of their "
                       "recovery codes. Required for users with two-factor sign-in (administrators, nodal "
                       "officers and the control room always have it); each code works once."})


class UserSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    full_name = fields.String()
    role = fields.String()
    district_id = fields.Integer(allow_none=True, metadata={"description": "null: state level, every district"})
    language = fields.String()


class TokenSchema(Schema):
    token = fields.String(metadata={"description": "Send as `Authorization: Bearer <token>`; shown once"})
    expires_at = UtcDateTime()
    user = fields.Nested(UserSchema)


# --- patients ---

class PatientCreateSchema(Schema):
    name = fields.String(required=True, metadata={"minLength": 1, "description": "Not blank; 120 characters at "
                                                  "most once runs of spaces are made one"})
    age = fields.Integer(required=True, strict=True,
                         metadata={"minimum": vitals.AGE_MIN, "maximum": vitals.AGE_MAX})
    sex = documented(Sex, required=True)
    phone = mobile(required=True, metadata={"description": "Indian mobile, any common spelling (98260 12345, "
                                           "098260-12345, +91 98260 12345); sent back in E.164"})
    attendant_phone = mobile(OPTIONAL_PHONE_SPELLING, allow_none=True,
                            metadata={"description": "Indian mobile, any common spelling; empty or null: none"})
    language = fields.String(load_default="hi", metadata={"enum": ["hi", "en"]})
    district_id = record_id(allow_none=True,
                            metadata={"description": "Required for state-level users; others get their own"})
    village_id = record_id(allow_none=True, metadata={"description": "A village or ward of the patient's district"})
    address = fields.String(load_default="", metadata={"description": "500 characters at most, spaces around "
                                                       "left out"})
    setting = documented(Setting, required=True)
    facility_id = record_id(allow_none=True, metadata={
        "description": "Required for hospital and CCC (a facility of that kind in the district), absent for home"})
    positive_date = fields.Date(required=True, metadata={"description": "Not in the future"})
    symptom_onset_date = fields.Date(allow_none=True, metadata={"description": "Not in the future"})
    isolation_start_date = fields.Date(allow_none=True, metadata={"description": "Not in the future"})
    comorbidities = fields.List(documented(Comorbidity), load_default=list)
    abha_number = fields.String(allow_none=True, metadata={"description": "14 digits, XX-XXXX-XXXX-XXXX"})
    lab_id = fields.String(allow_none=True, validate=Length(max=40, error=_l("At most {max} characters.")))


class PatientSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    age = fields.Integer()
    sex = fields.String()
    phone = stored_phone()
    attendant_phone = stored_phone(allow_none=True)
    language = fields.String()
    district_id = fields.Integer()
    village_id = fields.Integer(allow_none=True)
    address = fields.String()
    setting = fields.String()
    facility_id = fields.Integer(allow_none=True)
    positive_date = fields.Date()
    symptom_onset_date = fields.Date(allow_none=True)
    isolation_start_date = fields.Date(allow_none=True)
    comorbidities = fields.List(fields.String(), attribute="comorbidity_list")
    abha_number = fields.String(attribute="abha_display", metadata={"description": "XX-XXXX-XXXX-XXXX or empty"})
    lab_id = fields.String(allow_none=True)
    status = fields.String()
    sms_opt_out = fields.Boolean()
    phone_invalid = fields.Boolean()
    created_at = UtcDateTime()
    ended_at = UtcDateTime(allow_none=True)


class PatientSummarySchema(Schema):
    """What a call or a desk needs to know about the patient, and no more."""
    id = fields.Integer()
    name = fields.String()
    age = fields.Integer()
    sex = fields.String()
    call_phone = fields.String(metadata={"pattern": E164_INDIA,
                                         "description": "The number to call (the attendant's for hospital patients)"})
    language = fields.String()
    setting = fields.String()
    facility_id = fields.Integer(allow_none=True)
    village_id = fields.Integer(allow_none=True)
    comorbidities = fields.List(fields.String(), attribute="comorbidity_list")
    positive_date = fields.Date()
    symptom_onset_date = fields.Date(allow_none=True)


class PatientQuerySchema(Schema):
    phone = mobile(metadata={"description": "Exact mobile number, any common spelling"})
    q = fields.String(metadata={"description": "Part of the name, or an exact lab ID"})
    page = fields.Integer(load_default=1, validate=in_range(1, DB_INT_MAX))
    page_size = fields.Integer(load_default=10, validate=in_range(1, 100))


PAGINATION_HEADER = {
    "description": 'The page\'s place in the list, as JSON text (an HTTP header is a string), e.g. {"total": 24, '
                   '"total_pages": 3, "first_page": 1, "last_page": 3, "page": 2, "previous_page": 1, '
                   '"next_page": 3}; a page past the last has only total and total_pages.',
    "schema": {"type": "string", "pattern": "^\\{.*\\}$"},
}


# --- tasks and attempts ---

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


# --- escalations ---

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
