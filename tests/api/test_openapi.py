"""The OpenAPI document is generated from the code, valid, and describes every endpoint and its security."""
from openapi_spec_validator import validate

ENDPOINTS = {
    ("/api/v1/auth/token", "post"), ("/api/v1/auth/token", "delete"),
    ("/api/v1/patients", "post"), ("/api/v1/patients", "get"), ("/api/v1/patients/search", "post"),
    ("/api/v1/patients/{patient_id}", "get"), ("/api/v1/tasks/claim", "post"),
    ("/api/v1/tasks/{task_id}/attempts", "post"), ("/api/v1/tasks/{task_id}/call", "post"),
    ("/api/v1/escalations", "get"),
    ("/api/v1/escalations/{esc_id}", "get"), ("/api/v1/escalations/{esc_id}/actions", "post"),
    ("/api/v1/escalations/{esc_id}/dispatch", "post"), ("/api/v1/escalations/{esc_id}/reassign", "post"),
}


def spec(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def test_document_is_valid_openapi_3(client):
    document = spec(client)
    validate(document)
    assert document["openapi"].startswith("3.")
    assert document["info"] == {"title": "Sampark API", "version": "v1"}


def test_every_endpoint_is_documented(client):
    paths = spec(client)["paths"]
    documented = {(path, method) for path, item in paths.items() for method in item if method != "parameters"}
    assert documented == ENDPOINTS


def test_bearer_scheme_marks_every_endpoint_but_sign_in(client):
    document = spec(client)
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for path, method in ENDPOINTS:
        operation = document["paths"][path][method]
        if (path, method) == ("/api/v1/auth/token", "post"):
            assert "security" not in operation
            assert "429" in operation["responses"]
            assert "401" in operation["responses"]
        else:
            assert operation["security"] == [{"bearerAuth": []}], path
            assert {"401", "403"} <= set(operation["responses"]), path


def test_schemas_carry_the_documented_shapes(client):
    document = spec(client)
    schemas = document["components"]["schemas"]
    assert set(schemas["Error"]["properties"]) == {"code", "message", "errors"}
    assert {"name", "age", "sex", "phone", "setting", "positive_date"} <= set(schemas["PatientCreate"]["required"])
    assert "ambulance" in schemas["AttemptCreate"]["properties"]["needs"]["items"]["enum"]
    attempts = document["paths"]["/api/v1/tasks/{task_id}/attempts"]["post"]
    assert {"200", "201", "409", "422"} <= set(attempts["responses"])
    assert "Roles: admin, nodal_officer, volunteer." in attempts["description"]
    assert "204" in document["paths"]["/api/v1/tasks/claim"]["post"]["responses"]
