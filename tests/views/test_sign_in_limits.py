"""Wrong passwords lock an account for a while; admins edit users, set new passwords and deactivate."""
from datetime import timedelta

from callcenter.clock import utcnow
from callcenter.extensions import db
from callcenter.models import ApiToken, AuditLog, User
from callcenter.services import accounts
from callcenter.services.errors import TooManyAttempts

from ..conftest import csrf_token
from ..factories import PASSWORD, make_district, make_user


def sign_in(client, username, password):
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_token(client)})


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(client, district):
    user = make_user("volunteer", district)
    for _ in range(accounts.MAX_FAILED_SIGN_INS):
        assert "Wrong username or password." in sign_in(client, user.username, "guess").get_data(as_text=True)
    locked = sign_in(client, user.username, PASSWORD)
    assert locked.status_code == 429
    assert "Too many wrong passwords for this account. Try again in 15 minutes" in locked.get_data(as_text=True)
    assert client.get("/queue/").status_code == 302  # not signed in
    failures = db.session.scalars(db.select(AuditLog).where(AuditLog.action == "user.login_failed")).all()
    assert len(failures) == accounts.MAX_FAILED_SIGN_INS and {f.entity_id for f in failures} == {user.id}


def test_the_lock_lifts_after_the_window(district):
    user = make_user("volunteer", district)
    now = utcnow()
    for minute in range(accounts.MAX_FAILED_SIGN_INS):
        assert accounts.authenticate(user.username, "guess", now=now + timedelta(minutes=minute)) is None
    last = now + timedelta(minutes=accounts.MAX_FAILED_SIGN_INS - 1)
    try:
        accounts.authenticate(user.username, PASSWORD, now=last + timedelta(minutes=1))
    except TooManyAttempts as exc:
        # The oldest failure in the window leaves it 15 minutes after it was made.
        assert 0 < exc.retry_after_seconds <= 11 * 60 + 1
    else:
        raise AssertionError("the account should be locked")
    # Once the first failures have left the window there are fewer than five: the right password works.
    assert accounts.authenticate(user.username, PASSWORD, now=now + timedelta(minutes=15, seconds=1)) == user


def test_a_successful_sign_in_clears_earlier_failures(client, district):
    user = make_user("volunteer", district)
    for _ in range(accounts.MAX_FAILED_SIGN_INS - 1):
        sign_in(client, user.username, "guess")
    assert sign_in(client, user.username, PASSWORD).status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/queue/")})
    for _ in range(accounts.MAX_FAILED_SIGN_INS - 1):
        sign_in(client, user.username, "guess")
    assert sign_in(client, user.username, PASSWORD).status_code == 302


def test_unknown_usernames_record_nothing(client, district):
    for _ in range(accounts.MAX_FAILED_SIGN_INS + 1):
        assert "Wrong username or password." in sign_in(client, "nobody", "guess").get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditLog)) == 0


def test_api_sign_in_is_locked_too(client, district):
    user = make_user("volunteer", district)
    for _ in range(accounts.MAX_FAILED_SIGN_INS):
        r = client.post("/api/v1/auth/token", json={"username": user.username, "password": "guess"})
        assert r.status_code == 401
    r = client.post("/api/v1/auth/token", json={"username": user.username, "password": PASSWORD})
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) > 0
    assert "Too many wrong passwords" in r.get_json()["message"]


def test_api_token_can_be_revoked(client, district):
    user = make_user("volunteer", district)
    token = client.post("/api/v1/auth/token", json={"username": user.username, "password": PASSWORD}
                        ).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/patients", headers=headers).status_code != 401
    assert client.delete("/api/v1/auth/token", headers=headers).status_code == 204
    assert client.get("/api/v1/patients", headers=headers).status_code == 401
    assert client.delete("/api/v1/auth/token", headers=headers).status_code == 401
    assert db.session.scalar(db.select(AuditLog.action).where(AuditLog.action == "api.token_revoke"))


def test_admin_resets_a_password_which_lifts_the_lock_and_revokes_tokens(client, login, district):
    admin = make_user("admin", district)
    user = make_user("volunteer", district)
    accounts.issue_token(user)
    for _ in range(accounts.MAX_FAILED_SIGN_INS):
        accounts.authenticate(user.username, "guess")
    login(admin)
    page = f"/admin/users/{user.id}"
    short = client.post(page, data={"password": "short", "reset": "1", "csrf_token": csrf_token(client, page)})
    assert "At least 8 characters." in short.get_data(as_text=True)
    ok = client.post(page, data={"password": "a-new-secret", "reset": "1",
                                 "csrf_token": csrf_token(client, page)})
    assert ok.status_code == 302
    assert db.session.scalars(db.select(ApiToken.revoked)).all() == [True]
    assert accounts.authenticate(user.username, "a-new-secret") is not None
    assert db.session.scalar(db.select(AuditLog).where(AuditLog.action == "user.password")).user_id == admin.id


def test_admin_edits_and_deactivates_a_user(client, login, district):
    admin = make_user("admin", district)
    user = make_user("volunteer", district)
    accounts.issue_token(user)
    login(admin)
    page = f"/admin/users/{user.id}"
    form = {"full_name": "Asha Verma", "role": "control_room", "district": district.name, "phone": "98260 12345",
            "submit": "1", "csrf_token": csrf_token(client, page)}  # "active" left unticked
    assert client.post(page, data=form).status_code == 302
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert (user.full_name, user.role, user.phone, user.active) == ("Asha Verma", "control_room", "+919826012345",
                                                                   False)
    assert db.session.scalars(db.select(ApiToken.revoked)).all() == [True]
    assert accounts.authenticate(user.username, PASSWORD) is None
    bad = client.post(page, data=dict(form, phone="12345", csrf_token=csrf_token(client, page)))
    assert "Not a valid Indian mobile number." in bad.get_data(as_text=True)
    assert db.session.get(User, user.id).phone == "+919826012345"  # unchanged


def test_admin_cannot_lock_themselves_out_or_reach_another_district(client, login, district):
    admin = make_user("admin", district)
    other = make_user("volunteer", make_district(name="Bilaspur"))
    login(admin)
    page = f"/admin/users/{admin.id}"
    r = client.post(page, data={"full_name": "", "role": "admin", "district": district.name, "phone": "",
                                "submit": "1", "csrf_token": csrf_token(client, page)})
    assert "You cannot deactivate yourself" in r.get_data(as_text=True)
    assert db.session.get(User, admin.id).active
    assert client.get(f"/admin/users/{other.id}").status_code == 404
