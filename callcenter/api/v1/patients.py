"""Patients: register, read, search; scoped to the user's district."""
import json

from ...services.records import patients, records
from .blueprint import Blueprint
from .schemas.patients import PAGINATION_HEADER, PatientCreateSchema, PatientQuerySchema, PatientSchema
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
@blp.arguments(PatientQuerySchema, location="query")
@blp.response(200, PatientSchema(many=True), headers={"X-Pagination": PAGINATION_HEADER})
def search(query):
    """Find patients in your district by phone and/or name, newest first"""
    # Paged here, not by @blp.paginate: its page has no upper bound (a page past what the database can
    # count was a 500; the schema refuses it with 422), and its header was documented as an object.
    page, size = query["page"], query["page_size"]
    found, total = patients.search_patients(api_user(), query.get("phone"), query.get("q"),
                                            offset=(page - 1) * size, limit=size)
    return found, {"X-Pagination": json.dumps(Blueprint._make_pagination_metadata(page, size, total))}


@blp.route("/<int:patient_id>", methods=["GET"])
@token_required()
@blp.response(200, PatientSchema)
@blp.alt_response(404, response="NOT_FOUND")
def read(patient_id):
    """One patient (404 outside your district; volunteers: only the patient on their current call)"""
    return records.open_patient(api_user(), patient_id, "api")
