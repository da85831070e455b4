"""Deadline breaches on the nodal officer's dashboard: open escalations late now (district-scoped, filtered),
breaches kept over the date range after acknowledgement, and districts without a duty officer phone."""
from datetime import date, datetime, timedelta

from callcenter.clock import local_date, local_to_utc, utcnow
from callcenter.extensions import db
from callcenter.models import Escalation
from callcenter.rules.routing import Desk, Severity
from callcenter.services.dashboard import breaches as dashboard_breaches
from callcenter.services.dashboard.overview import Filters
from callcenter.services.desks import escalations
from jobs import escalation_deadlines

from .. import factories

DAY = date(2021, 5, 20)
T = local_to_utc(datetime(2021, 5, 20, 10, 0))
TODAY = Filters(date_from=DAY, date_to=DAY)


def minutes(n):
    return T + timedelta(minutes=n)


def raise_at(patient, kind="ambulance", severity=Severity.EMERGENCY, desk=Desk.CONTROL_ROOM, at=T):
    esc = escalations.raise_escalation(patient, kind, desk, severity, source="call", now=at)
    db.session.commit()
    return esc.id


def two_districts():
    a, b = factories.make_district(name="Raipur"), factories.make_district(name="Durg")
    a.duty_phone = "+919826011111"
    db.session.commit()
    return a, b


def test_late_open_escalations_now_are_scoped_to_the_officers_district():
    a, b = two_districts()
    late_a = raise_at(factories.make_patient(a, name="Sita Bai"))                  # due T+10
    raise_at(factories.make_patient(a), "doctor", Severity.ROUTINE, Desk.DOCTOR)   # due T+60: not late at T+30
    late_b = raise_at(factories.make_patient(b))
    officer_a = factories.make_user("nodal_officer", a)
    count, rows = dashboard_breaches.current(officer_a, TODAY, now=minutes(30))
    assert count == 1 and [r["id"] for r in rows] == [late_a]
    assert rows[0]["late_minutes"] == 20 and rows[0]["name"] == "Sita Bai" and rows[0]["district"] == "Raipur"
    state = factories.make_user("nodal_officer")
    count, rows = dashboard_breaches.current(state, TODAY, now=minutes(30))
    assert count == 2 and {r["id"] for r in rows} == {late_a, late_b}
    # the officer's filters: one district, or a setting nobody late is in
    assert dashboard_breaches.current(state, TODAY.with_(district_id=b.id), now=minutes(30))[0] == 1
    assert dashboard_breaches.current(state, TODAY.with_(setting="hospital"), now=minutes(30))[0] == 0


def test_the_most_overdue_come_first_and_acknowledged_ones_leave_the_list():
    a, _ = two_districts()
    operator = factories.make_user("control_room", a)
    first = raise_at(factories.make_patient(a), "oxygen")                 # due T+15
    second = raise_at(factories.make_patient(a), at=minutes(-10))         # due T+0
    third = raise_at(factories.make_patient(a), at=minutes(1))            # due T+11
    officer = factories.make_user("nodal_officer", a)
    assert [r["id"] for r in dashboard_breaches.current(officer, TODAY, now=minutes(20))[1]] == [second, third, first]
    escalations.acknowledge(third, operator, now=minutes(21))
    assert [r["id"] for r in dashboard_breaches.current(officer, TODAY, now=minutes(22))[1]] == [second, first]


def test_breaches_over_the_period_are_kept_after_acknowledgement():
    a, b = two_districts()
    operator = factories.make_user("control_room", a)
    acked = raise_at(factories.make_patient(a))
    raise_at(factories.make_patient(a), "medicine", Severity.ROUTINE)
    raise_at(factories.make_patient(b))
    escalation_deadlines.run(minutes(11))     # the ambulances breach
    escalation_deadlines.run(minutes(130))    # the medicine breaches
    escalations.acknowledge(acked, operator, now=minutes(131))
    officer = factories.make_user("nodal_officer", a)
    assert dashboard_breaches.in_period(officer, TODAY) == [
        {"kind": "ambulance", "breaches": 1, "still_open": 0}, {"kind": "medicine", "breaches": 1, "still_open": 1}]
    assert db.session.get(Escalation, acked).breached_at == minutes(11)
    state = factories.make_user("nodal_officer")
    assert dashboard_breaches.in_period(state, TODAY)[0] == {"kind": "ambulance", "breaches": 2, "still_open": 1}
    # another day's range holds none of them
    assert dashboard_breaches.in_period(state, Filters(date_from=DAY - timedelta(days=3),
                                                       date_to=DAY - timedelta(days=1))) == []


def test_districts_without_a_duty_phone():
    a, b = two_districts()
    assert dashboard_breaches.without_duty_phone(factories.make_user("nodal_officer", a), TODAY) == []
    assert dashboard_breaches.without_duty_phone(factories.make_user("nodal_officer", b), TODAY) == ["Durg"]
    state = factories.make_user("nodal_officer")
    assert dashboard_breaches.without_duty_phone(state, TODAY) == ["Durg"]
    assert dashboard_breaches.without_duty_phone(state, TODAY.with_(district_id=a.id)) == []


def test_the_dashboard_page_shows_the_breaches(client, login):
    a, b = two_districts()
    now = utcnow()
    mine = raise_at(factories.make_patient(a, name="Sita Bai"), at=now - timedelta(minutes=25))
    raise_at(factories.make_patient(b, name="Other District Patient"), at=now - timedelta(minutes=25))
    escalation_deadlines.run(now)
    login(factories.make_user("nodal_officer", a))
    today = local_date(now)
    html = client.get("/dashboard/", query_string={"date_from": (today - timedelta(days=1)).isoformat(),
                                                   "date_to": today.isoformat()}).get_data(as_text=True)
    assert 'id="breaches"' in html and "border-danger" in html
    assert "late and not acknowledged now: 1" in html and "breaches in the period: 1 (1 still open)" in html
    assert f'data-escalation="{mine}"' in html and "Sita Bai" in html and "15 min late" in html
    assert "Other District Patient" not in html and 'id="no-duty-phone"' not in html


def test_the_dashboard_says_when_no_duty_phone_is_set(client, login):
    _, b = two_districts()
    now = utcnow()
    raise_at(factories.make_patient(b), at=now - timedelta(minutes=30))
    escalation_deadlines.run(now)
    login(factories.make_user("nodal_officer", b))
    html = client.get("/dashboard/").get_data(as_text=True)
    assert 'id="no-duty-phone"' in html and "No duty phone set: Durg." in html
    assert "no duty phone set</span>" in html  # in the late escalation's alerts column


def test_a_quiet_dashboard(client, login):
    a, _ = two_districts()
    login(factories.make_user("nodal_officer", a))
    html = client.get("/dashboard/").get_data(as_text=True)
    assert "late and not acknowledged now: 0" in html and "Every open escalation is within its deadline." in html
    assert "border-danger" not in html
