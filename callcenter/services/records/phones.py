"""A patient's number shown in full off the screens where someone is acting on that patient (their call, an
open escalation, a referral): a "show number" that is recorded with the page it was asked from (DPDP: least
exposure, access logs)."""
import re

from flask_babel import lazy_gettext as _l

from ... import scope
from ...models import Patient
from ..core import audit
from ..core.errors import Forbidden, NotFound
from ..core.tx import transaction
from .records import may_open_record

FIELDS = ("phone", "attendant_phone")
PAGE = re.compile(r"^[a-z_:]{1,40}$")  # a page's name ("record", "dashboard:tasks"), nothing a person typed


@transaction
def reveal(user, patient_id, field, page):
    """(patient, the number in E.164) for a user who may open the record; audited as patient.reveal_phone."""
    if not may_open_record(user):
        raise Forbidden(_l("Volunteers see a patient only on their current call."))
    patient = scope.get_scoped(Patient, patient_id, user)
    number = getattr(patient, field) if field in FIELDS else None
    if not number:
        raise NotFound(_l("This patient has no such number."))
    audit.record(user, "patient.reveal_phone", "patient", patient.id, patient.district_id, field=field,
                 page=page if PAGE.match(page or "") else "")
    return patient, number
