"""Sign-in, sign-out, sessions that end, and the language switch."""
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from callcenter.auth.views import safe_next
from callcenter.extensions import db
from callcenter.models import AuditLog, User

from ..conftest import csrf_token, two_factor_code
from ..conftest import sign_in as sign_in_as
from ..factories import PASSWORD, make_user

ROOT = Path(__file__).resolve().parents[2]


def sign_in(client, username, password, next_url=None):
    """The password step, and the code step for a user with two-factor sign-in (as conftest.sign_in)."""
    data = {"username": username, "password": password, "csrf_token": csrf_token(client)}
    if next_url:
        data["next"] = next_url
    response = client.post("/login", data=data)
    if response.status_code == 302 and response.headers["Location"].endswith("/login/code"):
        user = db.session.scalar(db.select(User).where(User.username == username))
        response = client.post("/login/code", data={"code": two_factor_code(user),
                                                     "csrf_token": csrf_token(client, "/login/code")})
    return response


def test_each_role_lands_on_its_work(client, district):
    homes = {"volunteer": "/queue/", "control_room": "/desk/", "doctor": "/desk/", "counsellor": "/desk/",
             "nodal_officer": "/dashboard/", "admin": "/dashboard/"}
    for role, home in homes.items():
        user = make_user(role, district)
        assert sign_in(client, user.username, PASSWORD).status_code == 302
        assert client.get("/").headers["Location"].endswith(home)
        client.post("/logout", data={"csrf_token": csrf_token(client, home)})


def test_wrong_password_and_unknown_user_get_the_same_message(client, district):
    user = make_user("volunteer", district)
    for username, password in ((user.username, "nope"), ("nobody", PASSWORD)):
        response = sign_in(client, username, password)
        assert response.status_code == 200
        assert "Wrong username or password." in response.get_data(as_text=True)


def test_inactive_user_cannot_sign_in(client, district):
    user = make_user("volunteer", district)
    user.active = False
    db.session.commit()
    assert "Wrong username or password." in sign_in(client, user.username, PASSWORD).get_data(as_text=True)


def test_login_without_csrf_token_is_refused(client, district):
    user = make_user("volunteer", district)
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)
    assert client.get("/queue/").status_code == 302


def test_no_open_redirect_after_sign_in(client, district):
    user = make_user("volunteer", district)
    response = sign_in(client, user.username, PASSWORD, next_url="https://evil.example/")
    assert response.headers["Location"] == "/"
    client.post("/logout", data={"csrf_token": csrf_token(client, "/queue/")})
    response = sign_in(client, user.username, PASSWORD, next_url="/queue/")
    assert response.headers["Location"] == "/queue/"


def test_sign_in_and_out_are_audited(client, district):
    user = make_user("volunteer", district)
    sign_in(client, user.username, PASSWORD)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/queue/")})
    actions = db.session.scalars(db.select(AuditLog.action).where(AuditLog.user_id == user.id)).all()
    assert actions == ["user.login", "user.logout"]


def test_language_choice_is_kept_per_user(client, login, district):
    user = make_user("volunteer", district, language="en")
    login(user)
    client.post("/language", data={"language": "hi", "csrf_token": csrf_token(client, "/queue/"),
                                   "next": "/queue/"})
    assert db.session.get(User, user.id).language == "hi"
    assert '<html lang="hi">' in client.get("/queue/").get_data(as_text=True)


def test_language_switch_before_sign_in(client):
    client.post("/language", data={"language": "hi", "csrf_token": csrf_token(client)})
    assert '<html lang="hi">' in client.get("/login").get_data(as_text=True)


def test_control_characters_in_next_are_refused_not_a_500(client, district):
    user = make_user("volunteer", district)
    for target in ("/queue/\r\nSet-Cookie: evil=1", "/queue/\x00", "/\\evil.example", "/ queue"):
        assert safe_next(target) is None, target
        response = sign_in(client, user.username, PASSWORD, next_url=target)
        # Signed in and sent home, never to `target`; or a clear 400 for a NUL byte (an input check)
        assert (response.status_code, response.headers.get("Location")) in ((302, "/"), (400, None)), target
        if response.status_code == 302:
            client.post("/logout", data={"csrf_token": csrf_token(client, "/queue/")})
    assert client.get("/login", query_string={"next": "/queue/\r\nX: y"}).status_code in (200, 400)
    assert safe_next("/queue/?day=2021-05-12#top") == "/queue/?day=2021-05-12#top"


def _stolen(app, client):
    """Another browser holding a copy of the client's session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    assert thief.get("/queue/").status_code == 200
    return thief


def test_signing_out_ends_every_session_of_the_user(app, client, district):
    user = make_user("volunteer", district)
    assert sign_in(client, user.username, PASSWORD).status_code == 302
    thief = _stolen(app, client)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/queue/")})
    assert thief.get("/queue/").status_code == 302  # the copied cookie no longer signs anyone in
    assert client.get("/queue/").status_code == 302


def test_a_new_password_or_deactivation_ends_the_users_sessions(app, client, login, district):
    user = make_user("volunteer", district)
    assert sign_in(client, user.username, PASSWORD).status_code == 302
    thief = _stolen(app, client)
    admin_client = app.test_client()
    sign_in_as(admin_client, make_user("admin", district))
    page = f"/admin/users/{user.id}"
    assert admin_client.post(page, data={"password": "river-lamp-orchard", "reset": "1",
                                         "csrf_token": csrf_token(admin_client, page)}).status_code == 302
    assert thief.get("/queue/").status_code == 302 and client.get("/queue/").status_code == 302
    assert sign_in(client, user.username, "river-lamp-orchard").status_code == 302
    thief = _stolen(app, client)
    assert admin_client.post(page, data={"full_name": "", "role": "volunteer", "district": district.name,
                                         "phone": "", "submit": "1",  # "active" unticked
                                         "csrf_token": csrf_token(admin_client, page)}).status_code == 302
    assert thief.get("/queue/").status_code == 302 and client.get("/queue/").status_code == 302


def test_a_session_ends_after_the_idle_time_and_the_lifetime(app, client, district, monkeypatch):
    user = make_user("volunteer", district)
    sign_in(client, user.username, PASSWORD)
    with client.session_transaction() as s:
        s["seen_at"] -= 29 * 60
    assert client.get("/queue/").status_code == 200  # 29 idle minutes: still signed in
    with client.session_transaction() as s:
        s["seen_at"] -= 31 * 60
    response = client.get("/queue/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    # A role may be given longer, up to the maximum of 8 hours.
    monkeypatch.setitem(app.config, "SESSION_IDLE_MINUTES_BY_ROLE", {"volunteer": 24 * 60})
    sign_in(client, user.username, PASSWORD)
    with client.session_transaction() as s:
        s["seen_at"] -= 7 * 3600
    assert client.get("/queue/").status_code == 200
    with client.session_transaction() as s:
        s["seen_at"] -= 9 * 3600
    assert client.get("/queue/").status_code == 302
    # However active, a session ends after PERMANENT_SESSION_LIFETIME (12 hours).
    sign_in(client, user.username, PASSWORD)
    with client.session_transaction() as s:
        s["signed_in_at"] -= 12 * 3600 + 60
    assert client.get("/queue/").status_code == 302


def test_a_background_poll_does_not_write_the_session_cookie(client, district):
    """A console polls every few seconds; a poll answered just after a form's save must not put back the cookie
    from before the save (its flashed "Saved." was lost that way, seen in a browser test)."""
    user = make_user("doctor", district)
    sign_in(client, user.username, PASSWORD)
    poll = {"Accept": "application/json"}
    assert client.get("/desk/").status_code == 200  # the console's page (it makes the forms' CSRF token)
    assert "Set-Cookie" not in client.get("/desk/console.json", headers=poll).headers
    assert "Set-Cookie" not in client.get("/desk/").headers  # nothing changed: nothing written
    with client.session_transaction() as s:
        s["seen_at"] -= 60
    # A minute on: a page notes the activity, a poll does not yet (a poll notes it every 5 minutes) …
    assert "Set-Cookie" not in client.get("/desk/console.json", headers=poll).headers
    assert "Set-Cookie" in client.get("/desk/").headers
    with client.session_transaction() as s:
        s["seen_at"] -= 6 * 60
    # … so a console left open alone still keeps its session (up to the idle limit's quarter between notes).
    response = client.get("/desk/console.json", headers=poll)
    assert response.status_code == 200 and "Set-Cookie" in response.headers


def test_the_session_cookie_lives_hours_not_a_month(client, district):
    user = make_user("volunteer", district)
    response = sign_in(client, user.username, PASSWORD)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", cookie).group(1))
    assert timedelta(hours=11) < expires - datetime.now(timezone.utc) <= timedelta(hours=12, minutes=1)


@pytest.mark.parametrize("env,secure", [
    ({"PUBLIC_URL": "https://sampark.example.gov.in"}, True),
    ({"PUBLIC_URL": "http://10.0.0.5:5000"}, True),  # plain HTTP elsewhere: sign-in fails until HTTPS (or =0)
    ({"PUBLIC_URL": "http://127.0.0.1:5000"}, False),  # bin/start on this machine
    ({"PUBLIC_URL": "https://sampark.example.gov.in", "SAMPARK_ENV": "development"}, False),
    ({"PUBLIC_URL": "https://sampark.example.gov.in", "SESSION_COOKIE_SECURE": "0"}, False),
    ({}, False),
])
def test_cookies_are_secure_by_default_outside_development(env, secure):
    clean = {k: v for k, v in os.environ.items()
             if k not in ("PUBLIC_URL", "SAMPARK_ENV", "SESSION_COOKIE_SECURE")}
    out = subprocess.run([sys.executable, "-c", "import config; c = config.Config; "
                          "print(c.SESSION_COOKIE_SECURE, c.REMEMBER_COOKIE_SECURE)"],
                         env={**clean, **env}, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.split() == [str(secure), str(secure)]


def test_a_session_from_before_epochs_or_a_forged_id_signs_no_one_in(app, district):
    """A signed-in browser's cookie with only the user id changed: an id without the current epoch (as
    cookies from before this change carry), a wrong epoch or garbage signs no one in."""
    user = make_user("volunteer", district)
    for stale in (str(user.id), f"{user.id}:", f"{user.id}:1", "x:0", f"{user.id}:0:0", "", None):
        c = app.test_client()
        sign_in(c, user.username, PASSWORD)
        assert c.get("/queue/").status_code == 200
        with c.session_transaction() as s:
            s["_user_id"] = stale
        response = c.get("/queue/")
        assert response.status_code == 302 and "/login" in response.headers["Location"], stale
