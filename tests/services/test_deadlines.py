"""Response deadlines per escalation kind: the pure rule, its settings, raise_escalation setting respond_by
(and tightening it when a report is repeated as an emergency), and the districts' duty officer phones."""
from datetime import datetime, timedelta

import pytest

from callcenter.extensions import db
from callcenter.models import AppSetting, AuditLog, District, Escalation
from callcenter.rules.deadlines import DEFAULT_DEADLINE_MINUTES, DeadlineRule
from callcenter.rules.routing import Desk, Severity
from callcenter.services.core import settings
from callcenter.services.core.errors import Invalid, NotFound
from callcenter.services.desks import deadlines, escalations

from ..conftest import csrf_token
from ..factories import make_district, make_patient, make_user

T = datetime(2021, 5, 20, 4, 0)  # naive UTC, as stored
RULE = DeadlineRule()


# ── the pure rule ─────────────────────────────────────────────────────────────────────────────────────

@pytest.mark.parametrize("kind, severity, minutes", [
    ("ambulance", Severity.EMERGENCY, 10),
    ("warning_sign", Severity.EMERGENCY, 10),
    ("oxygen", Severity.EMERGENCY, 15),
    ("hospital_bed", Severity.EMERGENCY, 15),
    ("doctor", Severity.ROUTINE, 60),
    ("medicine", Severity.ROUTINE, 120),
    ("counselling", Severity.ROUTINE, 240),
    ("field_visit", Severity.ROUTINE, 24 * 60),
    ("phone_check", Severity.ROUTINE, 24 * 60),
    # an emergency of a slower kind waits at most the emergency minutes
    ("medicine", Severity.EMERGENCY, 15),
    ("field_visit", Severity.EMERGENCY, 15),
    # a kind the rule does not know takes "other"'s deadline
    ("something_new", Severity.ROUTINE, 240),
])
def test_default_deadline_per_kind(kind, severity, minutes):
    assert RULE.respond_by(kind, severity, T) == T + timedelta(minutes=minutes)


def test_zero_means_no_deadline_except_for_an_emergency():
    rule = DeadlineRule({**DEFAULT_DEADLINE_MINUTES, "food": 0}, emergency_minutes=12)
    assert rule.respond_by("food", Severity.ROUTINE, T) is None
    assert rule.respond_by("food", Severity.EMERGENCY, T) == T + timedelta(minutes=12)
    assert rule.respond_by("ambulance", Severity.EMERGENCY, T) == T + timedelta(minutes=10)  # its own is shorter
    assert rule.respond_by("oxygen", Severity.EMERGENCY, T) == T + timedelta(minutes=12)  # capped


def test_a_repeat_never_gives_more_time():
    earlier = T + timedelta(minutes=5)
    assert RULE.tightened(earlier, "medicine", Severity.EMERGENCY, T) == earlier
    assert RULE.tightened(T + timedelta(hours=2), "medicine", Severity.EMERGENCY, T) == T + timedelta(minutes=15)
    assert RULE.tightened(None, "medicine", Severity.EMERGENCY, T) == T + timedelta(minutes=15)
    rule = DeadlineRule({**DEFAULT_DEADLINE_MINUTES, "food": 0})
    assert rule.tightened(earlier, "food", Severity.ROUTINE, T) == earlier
    assert rule.tightened(None, "food", Severity.ROUTINE, T) is None


# ── settings and raise_escalation ─────────────────────────────────────────────────────────────────────

def _raise(patient, kind, desk, severity, now=T):
    esc = escalations.raise_escalation(patient, kind, desk, severity, source="call", now=now)
    db.session.commit()
    return esc


@pytest.mark.parametrize("kind, desk, severity, minutes", [
    ("ambulance", Desk.CONTROL_ROOM, Severity.EMERGENCY, 10),
    ("oxygen", Desk.CONTROL_ROOM, Severity.EMERGENCY, 15),
    ("doctor", Desk.DOCTOR, Severity.ROUTINE, 60),
    ("counselling", Desk.COUNSELLOR, Severity.ROUTINE, 240),
    ("field_visit", Desk.CONTROL_ROOM, Severity.ROUTINE, 1440),
])
def test_raise_sets_respond_by_for_every_kind_with_a_deadline(district, kind, desk, severity, minutes):
    esc = _raise(make_patient(district), kind, desk, severity)
    assert db.session.get(Escalation, esc.id).respond_by == T + timedelta(minutes=minutes)


def test_deadlines_are_admin_settings(district):
    admin = make_user("admin")
    settings.update({"deadline_minutes.doctor": 30, "deadline_minutes.food": 0, "emergency_ack_minutes": 8},
                    admin, now=T)
    assert db.session.get(AppSetting, "deadline_minutes.doctor").value == "30"
    assert settings.deadline_rule().minutes["doctor"] == 30
    p = make_patient(district)
    assert _raise(p, "doctor", Desk.DOCTOR, Severity.ROUTINE).respond_by == T + timedelta(minutes=30)
    assert _raise(p, "food", Desk.CONTROL_ROOM, Severity.ROUTINE).respond_by is None
    assert _raise(p, "ambulance", Desk.CONTROL_ROOM, Severity.EMERGENCY).respond_by == T + timedelta(minutes=8)
    actions = db.session.scalars(db.select(AuditLog.details).where(AuditLog.action == "setting.update")).all()
    assert {"key": "deadline_minutes.doctor", "old": 60, "new": 30} in [
        {k: d[k] for k in ("key", "old", "new")} for d in actions]


def test_out_of_range_deadline_is_refused(district):
    with pytest.raises(Invalid) as exc:
        settings.update({"deadline_minutes.ambulance": -1, "realert_minutes": 0}, make_user("admin"))
    assert set(exc.value.errors) == {"deadline_minutes.ambulance", "realert_minutes"}
    assert settings.deadline_rule().minutes["ambulance"] == 10


def test_a_routine_escalation_reported_again_as_an_emergency_gets_a_tighter_deadline(district):
    p = make_patient(district)
    first = _raise(p, "medicine", Desk.CONTROL_ROOM, Severity.ROUTINE)
    assert first.respond_by == T + timedelta(minutes=120)
    later = T + timedelta(minutes=30)
    again = _raise(p, "medicine", Desk.CONTROL_ROOM, Severity.EMERGENCY, now=later)
    assert again.id == first.id and again.severity == Severity.EMERGENCY
    assert db.session.get(Escalation, first.id).respond_by == later + timedelta(minutes=15)
    # reported again, still an emergency: the deadline does not move
    _raise(p, "medicine", Desk.CONTROL_ROOM, Severity.EMERGENCY, now=later + timedelta(minutes=10))
    assert db.session.get(Escalation, first.id).respond_by == later + timedelta(minutes=15)


def test_an_emergency_repeat_never_moves_a_deadline_later(district):
    p = make_patient(district)
    settings.update({"deadline_minutes.test": 5}, make_user("admin"), now=T)
    first = _raise(p, "test", Desk.CONTROL_ROOM, Severity.ROUTINE)
    _raise(p, "test", Desk.CONTROL_ROOM, Severity.EMERGENCY, now=T + timedelta(minutes=3))
    assert db.session.get(Escalation, first.id).respond_by == T + timedelta(minutes=5)


def test_the_settings_page_edits_the_deadlines(client, login, district):
    admin = make_user("admin")  # settings hold for the whole state
    login(admin)
    html = client.get("/admin/settings").get_data(as_text=True)
    assert 'name="deadline_minutes.ambulance"' in html and 'name="realert_minutes"' in html
    form = {k: str(v) for k, v in settings.all_settings().items() if not k.startswith("calls_per_day.")}
    form.update({"csrf_token": csrf_token(client, "/admin/settings"), "deadline_minutes.counselling": "120",
                 "realert_minutes": "5", "checkin_ok_deprioritises": "y"})
    response = client.post("/admin/settings", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert db.session.get(AppSetting, "deadline_minutes.counselling").value == "120"
    assert db.session.get(AppSetting, "realert_minutes").value == "5"
    form.update({"csrf_token": csrf_token(client, "/admin/settings"), "deadline_minutes.counselling": "99999"})
    html = client.post("/admin/settings", data=form).get_data(as_text=True)
    assert "Must be between 0 and 10080." in html
    assert db.session.get(AppSetting, "deadline_minutes.counselling", populate_existing=True).value == "120"


# ── the duty officer's phone ──────────────────────────────────────────────────────────────────────────

def test_duty_phone_is_stored_e164_and_audited(district):
    admin = make_user("admin", district)
    deadlines.set_duty_phone(district.id, "098260 12345", admin)
    assert db.session.get(District, district.id).duty_phone == "+919826012345"
    log = db.session.scalar(db.select(AuditLog).where(AuditLog.action == "district.duty_phone"))
    assert (log.entity_id, log.user_id, log.details) == (district.id, admin.id, {"old": None, "new": "+919826012345"})
    deadlines.set_duty_phone(district.id, "", admin)  # cleared
    assert db.session.get(District, district.id).duty_phone is None


@pytest.mark.parametrize("bad", ["12345", "+14155552671", "1234567890", "98260123456"])
def test_a_bad_duty_phone_is_refused_and_the_old_one_stays(district, bad):
    admin = make_user("admin", district)
    deadlines.set_duty_phone(district.id, "9826012345", admin)
    with pytest.raises(Invalid) as exc:
        deadlines.set_duty_phone(district.id, bad, admin)
    assert "duty_phone" in exc.value.errors
    assert db.session.get(District, district.id, populate_existing=True).duty_phone == "+919826012345"


def test_a_district_admin_cannot_set_another_districts_phone(district):
    other = make_district()
    with pytest.raises(NotFound):
        deadlines.set_duty_phone(other.id, "9826012345", make_user("admin", district))
    assert db.session.get(District, other.id).duty_phone is None


def test_districts_page_sets_and_refuses_duty_phones(client, login, district):
    other = make_district()
    login(make_user("admin", district))
    html = client.get("/admin/districts").get_data(as_text=True)
    assert district.name in html and other.name not in html and "No duty phone set" in html
    token = csrf_token(client, "/admin/districts")
    response = client.post("/admin/districts", data={"csrf_token": token, "district_id": district.id,
                                                     "duty_phone": "+91 98260 12345"})
    assert response.status_code == 302
    assert db.session.get(District, district.id).duty_phone == "+919826012345"
    response = client.post("/admin/districts", data={"csrf_token": token, "district_id": district.id,
                                                     "duty_phone": "12345"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Not a valid Indian mobile number." in html
    assert 'value="12345"' in html and "is-invalid" in html
    assert db.session.get(District, district.id, populate_existing=True).duty_phone == "+919826012345"
    # another district's id from a district admin: not found, nothing changed
    response = client.post("/admin/districts", data={"csrf_token": token, "district_id": other.id,
                                                     "duty_phone": "9826012345"})
    assert response.status_code == 404
    assert db.session.get(District, other.id).duty_phone is None


def test_only_admins_open_the_districts_page(client, login, district):
    login(make_user("nodal_officer", district))
    assert client.get("/admin/districts").status_code == 403
