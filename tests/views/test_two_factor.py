"""Two-factor sign-in: the code step, enrolment (QR code, recovery codes), replays, an administrator's reset."""
import re
from datetime import timedelta

from callcenter.clock import utcnow
from callcenter.extensions import db
from callcenter.models import AuditLog, User
from callcenter.services.core import accounts, two_factor

from ..conftest import csrf_token, sign_in, two_factor_code
from ..factories import PASSWORD, TOTP_SECRET, make_user


def password_step(client, user, password=PASSWORD, next_url=None):
    data = {"username": user.username, "password": password, "csrf_token": csrf_token(client)}
    if next_url:
        data["next"] = next_url
    return client.post("/login", data=data)


def code_step(client, code):
    return client.post("/login/code", data={"code": code, "csrf_token": csrf_token(client)})  # one per session


def actions(user):
    return db.session.scalars(db.select(AuditLog.action).where(AuditLog.entity_id == user.id)
                              .order_by(AuditLog.id)).all()


def test_the_password_alone_does_not_sign_an_enrolled_admin_in(client, district):
    admin = make_user("admin", district)
    response = password_step(client, admin, next_url="/admin/users")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login/code")
    assert client.get("/dashboard/").status_code == 302  # not signed in yet
    page = client.get("/login/code").get_data(as_text=True)
    assert "Enter your code" in page and 'autocomplete="one-time-code"' in page
    wrong = code_step(client, "000000" if two_factor_code(admin) != "000000" else "111111")
    assert wrong.status_code == 200 and "That code is not right" in wrong.get_data(as_text=True)
    right = code_step(client, two_factor_code(admin))
    assert right.status_code == 302 and right.headers["Location"] == "/admin/users"  # where they were going
    assert client.get("/dashboard/").status_code == 200
    assert actions(admin) == ["user.login_failed", "user.login"]


def test_a_code_works_once(client, district):
    nodal = make_user("nodal_officer", district)
    code = two_factor_code(nodal)
    password_step(client, nodal)
    assert code_step(client, code).status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard/")})
    password_step(client, nodal)
    replay = code_step(client, code)
    assert replay.status_code == 200 and "used already" in replay.get_data(as_text=True)
    assert client.get("/dashboard/").status_code == 302


def test_codes_of_the_neighbouring_steps_are_accepted_older_ones_not(district):
    now = utcnow()
    early, late = make_user("admin", district), make_user("admin", district)
    step = timedelta(seconds=two_factor.STEP_SECONDS)
    assert not two_factor.check_code(early, two_factor.code_at(TOTP_SECRET, now - 2 * step), now)
    assert two_factor.check_code(early, two_factor.code_at(TOTP_SECRET, now - step), now)  # a slow phone
    assert two_factor.check_code(late, two_factor.code_at(TOTP_SECRET, now + step), now)  # a fast one
    assert not two_factor.check_code(late, two_factor.code_at(TOTP_SECRET, now), now)  # older than one used
    assert not two_factor.check_code(late, "12345", now) and not two_factor.check_code(late, "", now)


def test_too_many_wrong_codes_need_the_password_again(client, district):
    admin = make_user("admin", district)
    password_step(client, admin)
    right = two_factor_code(admin)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for _ in range(4):
        assert code_step(client, wrong).status_code == 200
    assert code_step(client, wrong).headers["Location"].endswith("/login")
    assert code_step(client, right).headers["Location"].endswith("/login")  # the pending sign-in is gone
    # Wrong codes count as wrong passwords for this address: the right password and code are refused now.
    assert accounts.throttled(admin, "127.0.0.1", utcnow())


def test_a_pending_sign_in_expires(client, district):
    admin = make_user("admin", district)
    password_step(client, admin)
    with client.session_transaction() as s:
        s["pending_sign_in"] = dict(s["pending_sign_in"], at=s["pending_sign_in"]["at"] - 11 * 60)
    assert code_step(client, two_factor_code(admin)).headers["Location"].endswith("/login")


def _secret_on(html):
    return re.search(r'id="totp-secret">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")


def enrol(client, page="/login/two-factor"):
    html = client.get(page).get_data(as_text=True)
    assert "<svg" in html and "Set up two-factor sign-in" in html  # the QR code, drawn inline
    secret = _secret_on(html)
    response = client.post(page, data={"code": two_factor.code_at(secret),
                                        "csrf_token": csrf_token(client, page)})
    assert response.status_code == 200, response.get_data(as_text=True)
    codes = re.findall(r'<li class="col-6">([a-z0-9]{5}-[a-z0-9]{5})</li>', response.get_data(as_text=True))
    return secret, codes


def test_a_required_role_without_enrolment_is_taken_to_enrolment(client, district):
    control = make_user("control_room", district, enrolled=False)
    response = password_step(client, control)
    assert response.headers["Location"].endswith("/login/two-factor")
    assert client.get("/desk/").status_code == 302  # not signed in before enrolling
    page = "/login/two-factor"
    html = client.get(page).get_data(as_text=True)
    assert _secret_on(html) == _secret_on(client.get(page).get_data(as_text=True))  # the same until confirmed
    assert "<img" not in html and "http" not in html.split("<main", 1)[1]  # no image service sees the secret
    bad = client.post(page, data={"code": "000000", "csrf_token": csrf_token(client, page)})
    assert "That code does not match" in bad.get_data(as_text=True)
    secret, codes = enrol(client)
    assert len(codes) == two_factor.RECOVERY_CODES == len(set(codes))
    assert client.get("/desk/").status_code == 200  # signed in
    db.session.expire_all()
    stored = db.session.get(User, control.id)
    assert stored.totp_secret == secret and stored.two_factor_enabled
    assert "user.two_factor_enrol" in actions(control)
    assert all(code.replace("-", "") not in str(r.code_hash) for r in stored_codes(control) for code in codes)
    # A recovery code instead of the app's code: once.
    client.post("/logout", data={"csrf_token": csrf_token(client, "/desk/")})
    password_step(client, control)
    assert code_step(client, codes[0].upper()).status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/desk/")})
    password_step(client, control)
    assert code_step(client, codes[0]).status_code == 200
    assert code_step(client, codes[1]).status_code == 302
    assert "user.recovery_code_used" in actions(control)


def stored_codes(user):
    from callcenter.models.users import RecoveryCode
    return db.session.scalars(db.select(RecoveryCode).where(RecoveryCode.user_id == user.id)).all()


def test_two_factor_is_optional_for_other_roles(client, district):
    volunteer = make_user("volunteer", district)
    assert password_step(client, volunteer).headers["Location"] == "/"  # signed in with the password alone
    secret, codes = enrol(client)
    assert len(codes) == two_factor.RECOVERY_CODES
    client.post("/logout", data={"csrf_token": csrf_token(client, "/queue/")})
    assert password_step(client, volunteer).headers["Location"].endswith("/login/code")  # now it is asked for
    assert code_step(client, two_factor_code(volunteer)).status_code == 302
    # Enrolled users cannot enrol again on their own (a thief with a session could move it to their phone).
    assert client.get("/login/two-factor").status_code == 302


def test_an_admin_resets_two_factor_and_the_user_enrols_again(app, client, district):
    user = make_user("control_room", district)
    sign_in(client, user)
    admin_client = app.test_client()
    admin = make_user("admin", district)
    sign_in(admin_client, admin)
    page = f"/admin/users/{user.id}"
    assert "Reset two-factor sign-in" in admin_client.get(page).get_data(as_text=True)
    response = admin_client.post(page, data={"reset_two_factor": "1", "csrf_token": csrf_token(admin_client, page)})
    assert response.status_code == 302
    db.session.expire_all()
    assert not db.session.get(User, user.id).two_factor_enabled and stored_codes(user) == []
    reset = db.session.scalar(db.select(AuditLog).where(AuditLog.action == "user.two_factor_reset"))
    assert (reset.user_id, reset.entity_id) == (admin.id, user.id)
    assert client.get("/desk/").status_code == 302  # their sessions ended
    assert password_step(client, user).headers["Location"].endswith("/login/two-factor")
    enrol(client)
    assert client.get("/desk/").status_code == 200
