"""Token sign-in and the bearer check every other endpoint makes."""
from datetime import datetime, timedelta

import pytest

from callcenter.clock import utcnow
from callcenter.extensions import db
from callcenter.models import ApiToken, AuditLog

from ..conftest import two_factor_code
from ..factories import PASSWORD, make_district, make_patient, make_task, make_user
from .conftest import bearer


def test_sign_in_returns_a_working_token(api, district):
    user = make_user("volunteer", district, username="asha")
    before = utcnow()
    response = api("POST", "/api/v1/auth/token", json={"username": "Asha ", "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["user"] == {"id": user.id, "username": "asha", "full_name": "Test volunteer", "role": "volunteer",
                            "district_id": district.id, "language": "en"}
    expires = datetime.fromisoformat(body["expires_at"])
    assert expires.utcoffset() == timedelta(0)
    assert timedelta(hours=11, minutes=59) < expires.replace(tzinfo=None) - before <= timedelta(hours=12, seconds=5)
    stored = db.session.scalars(db.select(ApiToken)).one()
    assert stored.user_id == user.id and body["token"] not in stored.token_hash  # only a digest is kept
    assert db.session.scalar(db.select(AuditLog).where(AuditLog.action == "api.token")).user_id == user.id

    make_task(make_patient(district, name="Kiran Netam"))
    claim = api("POST", "/api/v1/tasks/claim", headers={"Authorization": f"Bearer {body['token']}"})
    assert claim.status_code == 200 and claim.get_json()["patient"]["name"] == "Kiran Netam"


@pytest.mark.parametrize("username,password", [("asha", "wrong-password"), ("nobody", PASSWORD)])
def test_bad_credentials_get_one_401_answer(api, district, username, password):
    make_user("volunteer", district, username="asha")
    response = api("POST", "/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 401
    assert response.get_json() == {"code": 401, "message": "Wrong username or password."}
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert db.session.scalar(db.select(db.func.count()).select_from(ApiToken)) == 0


def test_inactive_user_cannot_sign_in(api, district):
    user = make_user("volunteer", district, username="gone")
    user.active = False
    db.session.commit()
    response = api("POST", "/api/v1/auth/token", json={"username": "gone", "password": PASSWORD})
    assert response.status_code == 401


def test_sign_in_without_fields_is_422_with_field_messages(api):
    response = api("POST", "/api/v1/auth/token", json={"username": "asha", "extra": 1})
    assert response.status_code == 422
    assert response.get_json() == {
        "code": 422, "message": "Please correct the marked fields.",
        "errors": {"password": "This field is required.", "extra": "Unknown field."}}


def test_malformed_json_is_400_json(api):
    response = api("POST", "/api/v1/auth/token", data="{not json", content_type="application/json")
    assert response.status_code == 400
    body = response.get_json()
    assert body["code"] == 400 and body["errors"] == {"_body": "Invalid JSON body."}


def test_no_token_is_401(api):
    response = api("GET", "/api/v1/patients")
    assert response.status_code == 401
    assert response.get_json()["message"] == "Sign in first: send your token as 'Authorization: Bearer <token>'."
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Basic dXNlcjpwYXNz", "Bearer "])
def test_bad_header_is_401(api, district, header):
    response = api("GET", "/api/v1/patients", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.get_json()["code"] == 401


def test_expired_and_revoked_tokens_are_401(api, district):
    user = make_user("nodal_officer", district)
    expired = bearer(user, now=utcnow() - timedelta(hours=13))
    response = api("GET", "/api/v1/patients", headers=expired)
    assert response.status_code == 401
    assert response.get_json()["message"] == "This token is not valid or has expired; sign in again."
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'

    fresh = bearer(user)
    assert api("GET", "/api/v1/patients", headers=fresh).status_code == 200
    for token in db.session.scalars(db.select(ApiToken)):
        token.revoked = True
    db.session.commit()
    assert api("GET", "/api/v1/patients", headers=fresh).status_code == 401


def test_token_of_deactivated_user_is_401(api, district):
    user = make_user("nodal_officer", district)
    headers = bearer(user)
    user.active = False
    db.session.commit()
    assert api("GET", "/api/v1/patients", headers=headers).status_code == 401


def test_session_cookie_does_not_sign_in_to_the_api(api, login, district):
    login(make_user("nodal_officer", district))  # signed in to the pages
    response = api("GET", "/api/v1/patients")
    assert response.status_code == 401


def test_wrong_role_is_403_before_the_body_is_read(api, district):
    response = api("POST", "/api/v1/patients", user=make_user("volunteer", district), json={"nonsense": True})
    assert response.status_code == 403
    assert response.get_json() == {"code": 403, "message": "Your role cannot use this."}


def test_messages_follow_the_token_users_language(api, district):
    other = make_patient(make_district())
    hindi = make_user("volunteer", district, language="hi")
    response = api("GET", f"/api/v1/patients/{other.id}", user=hindi)
    assert response.status_code == 404
    assert response.get_json()["message"] == "नहीं मिला, या यह आपके जिले का नहीं है।"


def test_unknown_api_path_and_wrong_method_are_json(api, district):
    missing = api("GET", "/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.get_json() == {"code": 404, "message": "Page not found."}
    wrong = api("GET", "/api/v1/auth/token")
    assert wrong.status_code == 405 and wrong.get_json()["code"] == 405
    assert "POST" in wrong.headers["Allow"]


def test_roles_with_two_factor_sign_in_send_the_code(api, district):
    admin = make_user("admin", district, username="boss")
    missing = api("POST", "/api/v1/auth/token", json={"username": "boss", "password": PASSWORD})
    assert missing.status_code == 401 and "otp" in missing.get_json()["message"]
    right = two_factor_code(admin)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    refused = api("POST", "/api/v1/auth/token", json={"username": "boss", "password": PASSWORD, "otp": wrong})
    assert refused.status_code == 401
    assert refused.get_json()["message"] == "Wrong or already used two-factor code."
    ok = api("POST", "/api/v1/auth/token", json={"username": "boss", "password": PASSWORD, "otp": right})
    assert ok.status_code == 200 and ok.get_json()["user"]["role"] == "admin"
    replay = api("POST", "/api/v1/auth/token", json={"username": "boss", "password": PASSWORD, "otp": right})
    assert replay.status_code == 401
    # The code is asked for only after the right password: a wrong one gets the one answer for everything.
    guess = api("POST", "/api/v1/auth/token", json={"username": "boss", "password": "guess", "otp": right})
    assert guess.get_json() == {"code": 401, "message": "Wrong username or password."}
    assert db.session.scalar(db.select(db.func.count()).select_from(ApiToken)) == 1


def test_a_required_role_without_two_factor_cannot_get_a_token(api, district):
    make_user("control_room", district, username="desk", enrolled=False)
    response = api("POST", "/api/v1/auth/token", json={"username": "desk", "password": PASSWORD})
    assert response.status_code == 403 and "sign in on the web once" in response.get_json()["message"]
    assert db.session.scalar(db.select(db.func.count()).select_from(ApiToken)) == 0


def test_the_token_request_documents_otp(api):
    spec = api("GET", "/api/v1/openapi.json").get_json()
    schema = spec["components"]["schemas"]["TokenRequest"]
    assert "otp" in schema["properties"] and "otp" not in schema.get("required", [])
    assert "authenticator" in schema["properties"]["otp"]["description"]
