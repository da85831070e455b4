"""Sign-in, sign-out and the language switch."""
from callcenter.extensions import db
from callcenter.models import AuditLog, User

from ..conftest import csrf_token, two_factor_code
from ..factories import PASSWORD, make_user


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
