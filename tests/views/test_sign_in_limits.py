"""Wrong passwords lock an account for a while (from the guessing address; answered as a wrong password);
admins edit users, set new passwords and deactivate."""
import difflib
import os
import re
import secrets
import time
from datetime import timedelta

import pytest

from callcenter.clock import utcnow
from callcenter.extensions import db, limiter
from callcenter.models import ApiToken, AuditLog, User
from callcenter.services.core import accounts

from ..conftest import csrf_token
from ..factories import PASSWORD, make_district, make_user


def sign_in(client, username, password):
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_token(client)})


def _answer(response, username):
    """What a person sees of a sign-in answer: the status and the page, without its (per-request) CSRF token
    and the username typed (the form shows it again)."""
    html = re.sub(r'name="csrf_token" type="hidden" value="[^"]+"', "", response.get_data(as_text=True))
    return response.status_code, html.replace(f'value="{username}"', 'value="…"')


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(client, district):
    """...from that address, answered exactly as a wrong password: no message, status or page tells a
    locked account (so an existing username) from an unknown one."""
    user = make_user("volunteer", district)
    for _ in range(accounts.MAX_FAILED_SIGN_INS):
        assert "Wrong username or password." in sign_in(client, user.username, "guess").get_data(as_text=True)
    locked = sign_in(client, user.username, PASSWORD)
    unknown = sign_in(client, "nobody-at-all", PASSWORD)
    other = make_user("volunteer", district)
    wrong = sign_in(client, other.username, "guess")
    answers = [_answer(locked, user.username), _answer(unknown, "nobody-at-all"), _answer(wrong, other.username)]
    for answer in answers[1:]:  # (on a difference, the lines that differ rather than the first 400 characters)
        assert answer == answers[0], "\n".join(difflib.unified_diff(
            answers[0][1].splitlines(), answer[1].splitlines(), lineterm="", n=1))
    assert locked.status_code == 200 and "Wrong username or password." in locked.get_data(as_text=True)
    assert "Too many" not in locked.get_data(as_text=True)
    assert client.get("/queue/").status_code == 302  # not signed in
    failures = db.session.scalars(db.select(AuditLog).where(AuditLog.action == "user.login_failed")).all()
    assert [f.entity_id for f in failures] == [user.id] * accounts.MAX_FAILED_SIGN_INS + [other.id]


def test_the_lock_lifts_after_the_window(district):
    user = make_user("volunteer", district)
    now = utcnow()
    for minute in range(accounts.MAX_FAILED_SIGN_INS):
        assert accounts.authenticate(user.username, "guess", now=now + timedelta(minutes=minute)) is None
    last = now + timedelta(minutes=accounts.MAX_FAILED_SIGN_INS - 1)
    # Locked: the right password gets the same answer as a wrong one.
    assert accounts.authenticate(user.username, PASSWORD, now=last + timedelta(minutes=1)) is None
    assert accounts.throttled(user, None, last + timedelta(minutes=1))
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
    """The API answers a locked account exactly as a wrong password: 401, the same message."""
    user = make_user("volunteer", district)
    for _ in range(accounts.MAX_FAILED_SIGN_INS):
        r = client.post("/api/v1/auth/token", json={"username": user.username, "password": "guess"})
        assert r.status_code == 401
    r = client.post("/api/v1/auth/token", json={"username": user.username, "password": PASSWORD})
    unknown = client.post("/api/v1/auth/token", json={"username": "nobody-at-all", "password": "guess"})
    assert (r.status_code, r.get_json(), r.headers.get("WWW-Authenticate")) == \
        (unknown.status_code, unknown.get_json(), unknown.headers.get("WWW-Authenticate")) == \
        (401, {"code": 401, "message": "Wrong username or password."}, "Bearer")


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


def _post_login(client, username, password, address):
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_token(client)}, environ_base={"REMOTE_ADDR": address})


def test_guessing_from_one_address_does_not_lock_the_owner_out(app, district):
    """Anyone could lock `admin` out by typing wrong passwords: the limit is per address and account."""
    user = make_user("volunteer", district, username="admin-like")
    attacker, owner = app.test_client(), app.test_client()
    for _ in range(accounts.MAX_FAILED_SIGN_INS * 2):
        assert _post_login(attacker, user.username, "guess", "127.0.0.66").status_code == 200
    assert _post_login(attacker, user.username, PASSWORD, "127.0.0.66").status_code == 200  # refused there
    assert _post_login(owner, user.username, PASSWORD, "127.0.0.10").status_code == 302  # the owner, elsewhere
    # The attacker's refused tries were not counted: they cannot push the account-wide count up either.
    failures = db.session.scalar(db.select(db.func.count()).select_from(AuditLog)
                                 .where(AuditLog.action == "user.login_failed"))
    assert failures == accounts.MAX_FAILED_SIGN_INS


def test_a_guess_spread_over_many_addresses_meets_the_account_limit_but_not_at_the_owners_office(district):
    user = make_user("volunteer", district)
    now = utcnow()
    accounts.sign_in(user, "127.0.0.10", now=now - timedelta(days=3))  # the owner's office, a few days ago
    spread = range(accounts.MAX_FAILED_SIGN_INS_ACCOUNT // (accounts.MAX_FAILED_SIGN_INS - 1) + 1)
    for n in spread:
        for _ in range(accounts.MAX_FAILED_SIGN_INS - 1):  # under each address's own limit
            assert accounts.authenticate(user.username, "guess", now=now, address=f"127.1.0.{n}") is None
    assert accounts.authenticate(user.username, PASSWORD, now=now, address="127.2.0.1") is None  # a new place
    assert accounts.authenticate(user.username, PASSWORD, now=now, address="127.0.0.10") == user  # the office
    later = now + accounts.FAILED_SIGN_IN_WINDOW + timedelta(seconds=1)
    assert accounts.authenticate(user.username, PASSWORD, now=later, address="127.2.0.1") == user


def test_an_unknown_username_takes_as_long_as_a_real_one(app, district, monkeypatch):
    """The time of the answer must not tell which usernames exist (production hashes with scrypt). Taken in
    turns, the median of several, as the machine may be busy with other work."""
    monkeypatch.setitem(app.config, "PASSWORD_HASH_METHOD", "scrypt")
    user = make_user("volunteer", district)
    spent = {"real": [], "unknown": []}
    for n in range(7):
        for kind, username in (("real", user.username), ("unknown", "nobody-at-all")):
            start = time.perf_counter()
            assert accounts.authenticate(username, "guess", address=f"127.3.{n}.1") is None
            spent[kind].append(time.perf_counter() - start)
    real, unknown = (sorted(spent[k])[3] for k in ("real", "unknown"))
    assert real > 0.01  # scrypt, really
    assert 0.5 < unknown / real < 2, (unknown, real)  # without the dummy hash: about 0.01


def test_sign_ins_per_address_are_limited_across_usernames(app, client, district, monkeypatch):
    monkeypatch.setitem(app.config, "SIGN_IN_RATE_LIMIT", "3 per minute")
    for n in range(3):
        assert _post_login(client, f"someone{n}", "guess", "127.0.0.5").status_code == 200
    refused = _post_login(client, "someone-else", "guess", "127.0.0.5")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Too many requests" in refused.get_data(as_text=True)
    # The API's token and the code step share the address's count; another address is not affected.
    api = client.post("/api/v1/auth/token", json={"username": "x", "password": "y"},
                      environ_base={"REMOTE_ADDR": "127.0.0.5"})
    assert api.status_code == 429 and api.get_json()["code"] == 429
    code = client.post("/login/code", data={"code": "123456", "csrf_token": csrf_token(client)},
                       environ_base={"REMOTE_ADDR": "127.0.0.5"})
    assert code.status_code == 429
    assert _post_login(client, "someone", "guess", "127.0.0.6").status_code == 200
    assert client.get("/login", environ_base={"REMOTE_ADDR": "127.0.0.5"}).status_code == 200  # reading is free


REDIS_URL = os.environ.get("SAMPARK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_limits(app):
    """The limiter on the real Redis server (as RATELIMIT_STORAGE_URI in production); yields a client address
    of this test's own, so parallel runs on one Redis never share a count. Skipped without Redis, except on CI."""
    import redis
    server = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        server.ping()
    except redis.exceptions.RedisError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {REDIS_URL} is not answering ({exc}); this test must run on CI", pytrace=False)
        pytest.skip(f"Redis at {REDIS_URL} is not answering: {exc}")
    address = "127.{}.{}.{}".format(*(secrets.randbelow(250) + 1 for _ in range(3)))
    app.config["RATELIMIT_STORAGE_URI"] = REDIS_URL
    limiter.init_app(app)
    try:
        yield address
    finally:
        for key in server.scan_iter(match=f"*{address}*"):
            server.delete(key)
        server.close()
        app.config["RATELIMIT_STORAGE_URI"] = "memory://"
        limiter.init_app(app)


def test_the_address_limit_is_shared_through_redis(app, client, redis_limits, monkeypatch):
    """Every worker and instance sees the same count: a new connection to Redis (another worker, or this one
    restarted) carries on where the last one stopped."""
    import redis
    monkeypatch.setitem(app.config, "SIGN_IN_RATE_LIMIT", "3 per minute")
    address = redis_limits
    assert [_post_login(client, "someone", "guess", address).status_code for _ in range(2)] == [200, 200]
    limiter.init_app(app)  # a fresh storage connection, as a second worker has
    assert _post_login(client, "someone", "guess", address).status_code == 200
    assert _post_login(client, "someone", "guess", address).status_code == 429
    server = redis.Redis.from_url(REDIS_URL)
    assert any(b"sign-in" in key for key in server.scan_iter(match=f"*{address}*"))
    server.close()
