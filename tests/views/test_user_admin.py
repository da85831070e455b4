"""Creating users: a district administrator only in their own district, a state-level user only by a
state-level administrator choosing "State level"; passwords per NIST SP 800-63B."""
import pytest

from callcenter.extensions import db
from callcenter.models import AuditLog, User
from callcenter.services.core import accounts
from callcenter.services.core.errors import Invalid

from ..conftest import csrf_token
from ..factories import make_district, make_user

GOOD = "river-lamp-orchard-77"


def create(client, **fields):
    data = {"username": "newbie", "full_name": "", "role": "volunteer", "password": GOOD, "submit": "1",
            "csrf_token": csrf_token(client, "/admin/users")}
    data.update(fields)
    return client.post("/admin/users", data=data)


def made(username="newbie"):
    return db.session.scalar(db.select(User).where(User.username == username))


@pytest.mark.parametrize("district_choice", ["", "*"])
def test_a_district_admin_cannot_create_a_state_level_user(client, login, district, district_choice):
    login(make_user("admin", district))
    response = create(client, role="admin", district=district_choice)
    assert response.status_code == 200
    assert made() is None
    html = response.get_data(as_text=True)
    # Left out: a district is a required choice; "*" (state level) is not among this admin's choices.
    assert ("Choose a district." if district_choice == "" else "Not a valid choice") in html


def test_a_district_admin_cannot_create_a_user_in_another_district(client, login, district):
    other = make_district(name="Bilaspur")
    login(make_user("admin", district))
    response = create(client, district=other.name)
    assert response.status_code == 200 and made() is None
    assert "State level" not in response.get_data(as_text=True)  # not offered either
    assert create(client, district=district.name).status_code == 302
    assert made().district_id == district.id


def test_the_service_checks_the_acting_admin_too(district):
    admin = make_user("admin", district)
    with pytest.raises(Invalid) as refused:
        accounts.create_user("boss", "admin", GOOD, district_name=None, actor=admin)
    assert "district" in refused.value.errors
    with pytest.raises(Invalid):
        accounts.create_user("boss", "admin", GOOD, district_name=accounts.STATE_LEVEL, actor=admin)
    assert made("boss") is None


def test_a_state_admin_must_choose_state_level_explicitly(client, login, district):
    login(make_user("admin"))
    left_out = create(client, role="nodal_officer", district="")
    assert left_out.status_code == 200 and made() is None
    assert "Choose a district." in left_out.get_data(as_text=True)
    assert create(client, role="nodal_officer", district="*").status_code == 302
    assert made().district_id is None
    assert db.session.scalar(db.select(AuditLog).where(AuditLog.action == "user.create")).details == \
        {"role": "nodal_officer"}


@pytest.mark.parametrize("password,message", [
    ("password", "At least 12 characters."),  # 8 characters, but an administrator needs 12
    ("12345678", "most common passwords"),
    ("newbie-2021-pass", "must not contain the username"),
    ("aaaaaaaaaaaa", "too easy to guess"),
])
def test_weak_passwords_are_refused(client, login, district, password, message):
    login(make_user("admin", district))
    role = "admin" if password == "password" else "volunteer"
    response = create(client, role=role, district=district.name, password=password)
    assert response.status_code == 200 and made() is None
    assert message in response.get_data(as_text=True)


def test_password_lengths_by_role(district):
    assert accounts.passwords.problem("orchard-lamp", "asha", "admin") is None  # 12
    assert "At least 12" in str(accounts.passwords.problem("orchard-lam", "asha", "control_room"))
    assert "At least 12" in str(accounts.passwords.problem("orchard-lam", "asha", "nodal_officer"))
    assert accounts.passwords.problem("orchard-lam", "asha", "volunteer") is None
    assert "most common" in str(accounts.passwords.problem("password", "asha", "volunteer"))
    assert "most common" in str(accounts.passwords.problem("PASSWORD", "asha", "volunteer"))
    assert "username" in str(accounts.passwords.problem("x-Asha-lamp-river", "asha", "volunteer"))
    assert "At most" in str(accounts.passwords.problem("x" * 129, "asha", "volunteer"))


def test_a_new_password_set_by_an_admin_follows_the_same_rules(client, login, district):
    login(make_user("admin", district))
    user = make_user("control_room", district)
    page = f"/admin/users/{user.id}"
    short = client.post(page, data={"password": "lamp-river9", "reset": "1", "csrf_token": csrf_token(client, page)})
    assert "At least 12 characters." in short.get_data(as_text=True)
    common = client.post(page, data={"password": "123456789012", "reset": "1",
                                     "csrf_token": csrf_token(client, page)})
    assert "too easy to guess" in common.get_data(as_text=True)
    assert client.post(page, data={"password": GOOD, "reset": "1",
                                   "csrf_token": csrf_token(client, page)}).status_code == 302
