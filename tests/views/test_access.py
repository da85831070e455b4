"""Role checks: each role is refused where it does not belong; anonymous users are sent to sign in."""
import pytest

from ..conftest import csrf_token
from ..factories import make_user

ROLES = ["volunteer", "control_room", "doctor", "counsellor", "nodal_officer", "admin"]
# (method, path) → the roles allowed
RULES = {
    ("GET", "/queue/"): {"volunteer", "nodal_officer", "admin"},
    ("GET", "/queue/counts.json"): {"volunteer", "nodal_officer", "admin"},
    ("POST", "/queue/take"): {"volunteer", "nodal_officer", "admin"},
    ("GET", "/desk/"): {"control_room", "doctor", "counsellor", "nodal_officer", "admin"},
    ("GET", "/dashboard/"): {"nodal_officer", "admin"},
    ("GET", "/intake/register"): {"nodal_officer", "admin"},
    ("GET", "/admin/users"): {"admin"},
}
# State-wide: the settings and the jobs are for state-level administrators only.
STATE_ONLY = [("GET", "/admin/settings"), ("GET", "/dashboard/jobs")]


@pytest.mark.parametrize("role", ROLES)
def test_each_role_only_where_it_belongs(client, login, district, role):
    login(make_user(role, district))
    token = csrf_token(client)
    for (method, path), allowed in RULES.items():
        status = client.open(path, method=method, data={"csrf_token": token} if method == "POST" else None).status_code
        if role in allowed:
            assert status in (200, 302), (role, path, status)
        else:
            assert status == 403, (role, path, status)


@pytest.mark.parametrize("method,path", STATE_ONLY)
@pytest.mark.parametrize("role", ROLES)
def test_state_wide_pages_are_for_state_level_administrators(client, login, district, method, path, role):
    login(make_user(role, district))
    assert client.open(path, method=method).status_code == 403, (role, path)


@pytest.mark.parametrize("method,path", STATE_ONLY)
def test_a_state_level_administrator_opens_state_wide_pages(client, login, method, path):
    login(make_user("admin"))
    assert client.open(path, method=method).status_code == 200


def test_anonymous_users_are_sent_to_sign_in(client):
    for method, path in [*RULES, *STATE_ONLY]:
        response = client.open(path, method=method)
        if method == "GET":
            assert response.status_code == 302 and "/login" in response.headers["Location"], path


def test_doctor_cannot_open_the_control_room_desk(client, login, district):
    login(make_user("doctor", district))
    assert client.get("/desk/?desk=control_room").status_code == 403
    assert client.get("/desk/?desk=doctor").status_code == 200


def test_forbidden_page_is_translated(client, login, district):
    login(make_user("volunteer", district, language="hi"))
    response = client.get("/admin/settings")
    assert response.status_code == 403
    assert '<html lang="hi">' in response.get_data(as_text=True)
