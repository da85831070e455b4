"""Patients: register, read, search; scoped to the user's district."""
import json

from flask import request
from flask_babel import lazy_gettext as _l

from ...services.core.errors import Invalid
from ...services.records import patients, records
from .blueprint import Blueprint
from .schemas.patients import (
    PAGINATION_HEADER,
    PatientCreateSchema,
    PatientPageSchema,
    PatientQuerySchema,
    PatientSchema,
)
from .security import api_user, token_required

blp = Blueprint("api_patients", __name__, url_prefix="/patients", description="Patient records.")


@blp.route("", methods=["POST"])
@token_required(patients.REGISTRAR_ROLES)
@blp.arguments(PatientCreateSchema)
@blp.response(201, PatientSchema)
@blp.alt_response(409, response="CONFLICT")
def create(data):
    """Register a patient and queue their first call for today"""
    return patients.register_patient(data, api_user())


@blp.route("", methods=["GET"])
@token_required()
@blp.arguments(PatientPageSchema, location="query")
@blp.response(200, PatientSchema(many=True), headers={"X-Pagination": PAGINATION_HEADER})
def list_patients(query):
    """Patients in your district, newest first, a page at a time (to find someone: POST /patients/search)"""
    searched = set(request.args) - {"page", "page_size"}
    if searched:  # a search in the address: refused, not ignored (the old form of search)
        raise Invalid(_l("Search with POST /api/v1/patients/search: a number or a name in the address is "
                         "written to access logs."), {k: _l("Unknown field.") for k in sorted(searched)})
    return _page(query, None, None)


@blp.route("/search", methods=["POST"])
@token_required()
@blp.arguments(PatientQuerySchema)
@blp.response(200, PatientSchema(many=True), headers={"X-Pagination": PAGINATION_HEADER})
def search(query):
    """Find patients in your district by phone and/or name, newest first

    A POST with the search in its body: a phone number or a name in the address would be written to every
    access log on its way (DPDP: no phone number in a log).
    """
    return _page(query, query.get("phone"), query.get("q"))


def _page(query, phone, q):
    # Paged here, not by @blp.paginate: its page has no upper bound (a page past what the database can
    # count was a 500; the schema refuses it with 422), and its header was documented as an object.
    page, size = query["page"], query["page_size"]
    found, total = patients.search_patients(api_user(), phone, q, offset=(page - 1) * size, limit=size)
    return found, {"X-Pagination": json.dumps(Blueprint._make_pagination_metadata(page, size, total))}


@blp.route("/<int:patient_id>", methods=["GET"])
@token_required()
@blp.response(200, PatientSchema)
@blp.alt_response(404, response="NOT_FOUND")
def read(patient_id):
    """One patient (404 outside your district; volunteers: only the patient on their current call)"""
    return records.open_patient(api_user(), patient_id, "api")
