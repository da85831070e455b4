"""Every API operation fuzzed from the app's own OpenAPI document (schemathesis), signed in with real tokens.

Each operation runs with the roles that may use it, against a district seeded with patients, tasks and
escalations; path ids and some fields are steered to the seeded records so that requests reach the
services, not only the 404s. Valid (positive) and invalid (negative) requests alike must get no server error
and an answer the document describes: status code, content type, body schema and headers.

Reproducible: hypothesis is derandomized. SAMPARK_FUZZ_EXAMPLES sets the examples per operation and role
(default 20, for CI); e.g. SAMPARK_FUZZ_EXAMPLES=1000 for a long local run.
"""
import logging
import os
from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup, ServerError
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from callcenter.clock import local_date, to_local, utcnow
from callcenter.extensions import db
from callcenter.models import Desk, Severity, TaskStatus
from callcenter.services.desks import escalations

from .. import factories
from .conftest import FUZZ_TOTALS, sign_in_token

EXAMPLES = int(os.environ.get("SAMPARK_FUZZ_EXAMPLES", "20"))
PER_REQUEST = timedelta(seconds=10)  # generous: a request this slow is a hang or a pathological input
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance, negative_data_rejection]

IDS = {"patient_id", "task_id", "esc_id", "facility_id", "destination_facility_id", "village_id", "district_id",
       "owner_id", "version"}
ID_MAX = 2**31 - 1
OFTEN = st.sampled_from([True, True, True, False])  # steered three times in four
VOLUNTEER, CONTROL_ROOM, NODAL = "volunteer", "control_room", "nodal_officer"
# Each operation with the roles that may use it (None: no token). Others get 403 before anything is read.
OPERATIONS = {
    "POST /api/v1/auth/token": [None],
    "DELETE /api/v1/auth/token": [VOLUNTEER],
    "POST /api/v1/patients": [NODAL],
    "GET /api/v1/patients": [VOLUNTEER, CONTROL_ROOM, NODAL],
    "POST /api/v1/patients/search": [VOLUNTEER, CONTROL_ROOM, NODAL],
    "GET /api/v1/patients/{patient_id}": [VOLUNTEER, CONTROL_ROOM, NODAL],
    "POST /api/v1/tasks/claim": [VOLUNTEER, NODAL],
    "POST /api/v1/tasks/{task_id}/attempts": [VOLUNTEER, NODAL],
    "POST /api/v1/tasks/{task_id}/call": [VOLUNTEER, NODAL],
    "GET /api/v1/escalations": [CONTROL_ROOM, NODAL],
    "GET /api/v1/escalations/{esc_id}": [CONTROL_ROOM, NODAL],
    "POST /api/v1/escalations/{esc_id}/actions": [CONTROL_ROOM, NODAL],
    "POST /api/v1/escalations/{esc_id}/dispatch": [CONTROL_ROOM, NODAL],
    "POST /api/v1/escalations/{esc_id}/reassign": [CONTROL_ROOM, NODAL],
}


@pytest.fixture(scope="module")
def schema(app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def test_every_operation_is_fuzzed(schema):
    assert {op.ok().label for op in schema.get_all_operations()} == set(OPERATIONS)


def seed_world():
    """A district with its people, patients, today's calls (one held by the volunteer) and escalations of
    each state; a second district whose records must stay out of reach. Returns ids to steer requests to."""
    district, other = factories.make_district(), factories.make_district()
    users = {role: factories.make_user(role, district) for role in (VOLUNTEER, CONTROL_ROOM, NODAL)}
    colleague = factories.make_user(CONTROL_ROOM, district)
    factories.make_user("doctor", district)
    patients = [factories.make_patient(district, setting=s) for s in ("home", "home", "ccc", "hospital")]
    stranger = factories.make_patient(other)
    tasks = [factories.make_task(p) for p in [*patients, stranger]]
    held = [factories.make_task(p, slot=2, status=TaskStatus.CLAIMED, claimed_by_id=users[role].id,
                                claimed_at=utcnow()) for p, role in ((patients[1], VOLUNTEER), (patients[2], NODAL))]
    raised = [escalations.raise_escalation(patients[0], "ambulance", Desk.CONTROL_ROOM, Severity.EMERGENCY, "call"),
              escalations.raise_escalation(patients[1], "medicine", Desk.CONTROL_ROOM, Severity.ROUTINE, "call"),
              escalations.raise_escalation(patients[2], "food", Desk.CONTROL_ROOM, Severity.ROUTINE, "call"),
              escalations.raise_escalation(patients[3], "doctor", Desk.DOCTOR, Severity.ROUTINE, "call"),
              escalations.raise_escalation(stranger, "oxygen", Desk.CONTROL_ROOM, Severity.EMERGENCY, "call")]
    db.session.commit()
    escalations.acknowledge(raised[1].id, users[CONTROL_ROOM])
    escalations.acknowledge(raised[2].id, users[CONTROL_ROOM])
    escalations.start(raised[2].id, users[CONTROL_ROOM])
    facilities = [f.id for d in (district, other) for f in (factories.facility(d, "hospital"),
                                                            factories.facility(d, "ccc"))]
    soon = to_local(utcnow() + timedelta(hours=2)).replace(microsecond=0).isoformat()
    past = (local_date() - timedelta(days=2)).isoformat()
    ids = {
        "patient_id": [p.id for p in [*patients, stranger]],
        "task_id": [t.id for t in [*tasks, *held]] + [t.id for t in held] * 2,
        "esc_id": [e.id for e in raised],
        "facility_id": facilities, "destination_facility_id": facilities,
        "village_id": [factories.village(district).id, factories.village(other).id],
        "district_id": [district.id, other.id],
        "owner_id": [colleague.id, users[CONTROL_ROOM].id, users[VOLUNTEER].id],
        "version": [1, 2, 3],
        "phone": [factories.phone()], "attendant_phone": [factories.phone()], "driver_phone": [factories.phone()],
        "callback_at": [soon], "eta": [soon], "delivery_at": [soon],
        "vehicle_number": ["CG 04 AB 1234"], "abha_number": ["91-1234-5678-9012"],
        "positive_date": [past], "symptom_onset_date": [past], "isolation_start_date": [past],
    }
    return users, ids


def steer(data, case, ids, negative):
    """Now and then replace a generated id or value by a seeded one, so the request gets past the lookups.

    In a negative case only ids that are plain ids already: the value schemathesis made invalid stays so."""
    def may(name, value):
        return name in ids and (not negative or (name in IDS and type(value) is int and 0 <= value <= ID_MAX))

    for name, value in list((case.path_parameters or {}).items()):
        if may(name, value) and data.draw(OFTEN):
            case.path_parameters[name] = data.draw(st.sampled_from(ids[name]))
    if isinstance(case.body, dict):
        for name, value in list(case.body.items()):
            if may(name, value) and data.draw(OFTEN):
                case.body[name] = data.draw(st.sampled_from(ids[name]))


class _Errors(logging.Handler):
    """The app logs each unhandled error with its traceback: keep the last line to say what broke."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.last = None

    def emit(self, record):
        if record.exc_info:
            self.last = f"{record.exc_info[0].__name__}: {record.exc_info[1]}"[:300]


@pytest.mark.parametrize("label,role", [(label, role) for label, roles in OPERATIONS.items() for role in roles])
def test_operation(app, client, schema, label, role):
    users, ids = seed_world()
    headers = {"Authorization": f"Bearer {sign_in_token(client, users[role])}"} if role else None
    operation = schema.find_operation_by_label(label)
    # The token is a given of each case, not generated (nor left out as "negative" data).
    cases = {mode: operation.as_strategy(mode, headers=headers) for mode in GenerationMode}
    found, errors = {}, _Errors()

    @settings(max_examples=EXAMPLES, deadline=PER_REQUEST, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck), phases=["explicit", "generate"])
    @given(data=st.data())
    def fuzz(data):
        mode = data.draw(st.sampled_from(list(GenerationMode)))
        case = data.draw(cases[mode])
        steer(data, case, ids, negative=mode == GenerationMode.NEGATIVE)
        errors.last = None
        response = case.call(session=client)
        FUZZ_TOTALS["requests"] += 1
        FUZZ_TOTALS["server_errors"] += response.status_code >= 500
        FUZZ_TOTALS["statuses"][response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            FUZZ_TOTALS["violations"] += any(not isinstance(f, ServerError) for f in group.exceptions)
            for failure in group.exceptions:
                key = (type(failure).__name__, failure.title, response.status_code)
                if key not in found:
                    found[key] = (f"{failure.title}: {failure.message[:500]}\n  {errors.last or ''}\n  "
                                  f"{case.as_curl_command()[:1000]}")

    app.logger.addHandler(errors)
    try:
        fuzz()
    finally:
        app.logger.removeHandler(errors)
    assert not found, "\n\n".join(found.values())
