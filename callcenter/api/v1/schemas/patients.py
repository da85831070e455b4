"""Patients: registration, the record, search."""

from flask_babel import lazy_gettext as _l
from marshmallow import fields
from marshmallow.validate import Length

from ....models import Comorbidity, Setting, Sex
from ....rules import vitals
from ....rules.identity import mask_phone
from ....services.calls import bridges
from .common import (
    DB_INT_MAX,
    E164_INDIA,
    MASKED_INDIA,
    OPTIONAL_PHONE_SPELLING,
    Schema,
    UtcDateTime,
    documented,
    in_range,
    mobile,
    record_id,
    stored_phone,
)

# marshmallow's own messages, in the reader's language.


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
    call_phone = fields.Method("_call_phone", metadata={
        "pattern": f"{E164_INDIA}|{MASKED_INDIA}",
        "description": "The number to call (the attendant's for hospital patients); masked (+91 98••• ••210) when "
                       "click-to-call is configured: then POST /tasks/{task_id}/call rings you and bridges to it"})

    def _call_phone(self, patient):
        return mask_phone(patient.call_phone) if bridges.enabled() else patient.call_phone
    language = fields.String()
    setting = fields.String()
    facility_id = fields.Integer(allow_none=True)
    village_id = fields.Integer(allow_none=True)
    comorbidities = fields.List(fields.String(), attribute="comorbidity_list")
    positive_date = fields.Date()
    symptom_onset_date = fields.Date(allow_none=True)


class PatientPageSchema(Schema):
    page = fields.Integer(load_default=1, validate=in_range(1, DB_INT_MAX))
    page_size = fields.Integer(load_default=10, validate=in_range(1, 100))


class PatientQuerySchema(PatientPageSchema):
    """A search: in a POST's body, never in the address (an access log would keep the number)."""
    phone = mobile(metadata={"description": "Exact mobile number, any common spelling"})
    q = fields.String(metadata={"description": "Part of the name, or an exact lab ID"})


PAGINATION_HEADER = {
    "description": 'The page\'s place in the list, as JSON text (an HTTP header is a string), e.g. {"total": 24, '
                   '"total_pages": 3, "first_page": 1, "last_page": 3, "page": 2, "previous_page": 1, '
                   '"next_page": 3}; a page past the last has only total and total_pages.',
    "schema": {"type": "string", "pattern": "^\\{.*\\}$"},
}
