"""The dashboard's "act now" strip (services/dashboard/act_now.py), with a pinned clock: what needs acting on
(open emergencies and anything late, emergencies first), today's calls against the volunteers calling now and
when they end at the last hour's pace, today's unreachable patients and their field visits; all scoped to the
officer's district (the state for a state-level officer) and the place filters."""
from datetime import date, datetime, timedelta

from callcenter.clock import local_to_utc, to_local, utcnow
from callcenter.extensions import db
from callcenter.models import TaskStatus
from callcenter.rules.routing import Desk, Severity
from callcenter.services.dashboard import act_now
from callcenter.services.dashboard.overview import Filters
from callcenter.services.desks import escalations

from .. import factories

DAY = date(2021, 5, 20)
T = local_to_utc(datetime(2021, 5, 20, 10, 0))  # 10:00 in the app's zone
TODAY = Filters(date_from=DAY, date_to=DAY)


def minutes(n):
    return T + timedelta(minutes=n)


def raise_at(patient, kind="ambulance", severity=Severity.EMERGENCY, desk=Desk.CONTROL_ROOM, at=T):
    esc = escalations.raise_escalation(patient, kind, desk, severity, source="call", now=at)
    db.session.commit()
    return esc


def test_the_finish_estimate_is_the_calls_left_at_the_last_hours_pace():
    assert act_now.finish_estimate(30, 12, T) == T + timedelta(hours=2.5)
    assert to_local(act_now.finish_estimate(30, 12, T)).strftime("%H:%M") == "12:30"
    assert act_now.finish_estimate(5, 0, T) is None  # nobody called in the last hour: cannot estimate
    assert act_now.finish_estimate(0, 0, T) == T     # nothing left


def test_emergencies_and_late_escalations_come_first_scoped_to_the_district():
    a, b = factories.make_district(name="Raipur"), factories.make_district(name="Durg")
    officer = factories.make_user("nodal_officer", a)
    medicine = raise_at(factories.make_patient(a, name="Kamla Dhruw"), "medicine", Severity.ROUTINE,
                        at=minutes(-150))                                         # due T-30: 30 min late
    fresh = raise_at(factories.make_patient(a, name="Sita Bai"), at=minutes(-5))   # due T+5: not late yet
    late = raise_at(factories.make_patient(a, name="Rekha Sahu"), at=minutes(-30))  # due T-20: 20 min late
    raise_at(factories.make_patient(a), "doctor", Severity.ROUTINE, Desk.DOCTOR, at=minutes(-10))  # within time
    acknowledged = raise_at(factories.make_patient(a), at=minutes(-40))
    escalations.acknowledge(acknowledged.id, factories.make_user("control_room", a), now=minutes(-35))
    db.session.commit()
    other = raise_at(factories.make_patient(b, name="Durg Patient"), at=minutes(-30))

    strip = act_now.strip(officer, TODAY, now=T)
    rows = strip["escalations"]
    # emergencies first (the late one before the one still in time), then the late routine need
    assert [r["id"] for r in rows] == [late.id, fresh.id, medicine.id]
    assert strip["escalations_total"] == 3
    assert rows[0]["late_minutes"] == 20 and rows[0]["patient"] == "Rekha Sahu" and rows[0]["desk"] == "control_room"
    assert rows[1]["late_minutes"] is None and rows[1]["left_minutes"] == 5
    assert rows[2]["late_minutes"] == 30 and rows[2]["kind"] == "medicine"

    state = act_now.strip(factories.make_user("nodal_officer"), TODAY, now=T)
    assert other.id in [r["id"] for r in state["escalations"]] and state["escalations_total"] == 4
    # the place filters, as on every figure
    assert act_now.strip(factories.make_user("nodal_officer"), TODAY.with_(district_id=b.id), now=T)[
        "escalations_total"] == 1


def test_at_most_ten_rows_and_the_count_of_all():
    a = factories.make_district()
    for i in range(12):
        raise_at(factories.make_patient(a), at=minutes(-20 - i))
    strip = act_now.strip(factories.make_user("nodal_officer", a), TODAY, now=T)
    assert len(strip["escalations"]) == act_now.LIMIT == 10 and strip["escalations_total"] == 12


def _open_tasks(patient, n, due_at):
    for slot in range(n):
        factories.make_task(patient, day=DAY, slot=10 + slot, due_at=due_at)


def test_calls_overdue_against_volunteers_calling_now_and_the_finish_time():
    a, b = factories.make_district(), factories.make_district()
    officer = factories.make_user("nodal_officer", a)
    asha = factories.make_user("volunteer", a, username="asha")
    asha.full_name = "Asha Verma"
    rahul = factories.make_user("volunteer", a, username="rahul")
    rahul.full_name = ""  # no full name: the username stands in
    idle = factories.make_user("volunteer", a, username="idle")
    meena = factories.make_user("volunteer", a, username="meena")
    meena.full_name = "Meena Kurre"
    db.session.commit()
    p1, p2, p3 = (factories.make_patient(a) for _ in range(3))
    _open_tasks(p1, 10, minutes(-60))   # overdue
    _open_tasks(p2, 10, minutes(-1))    # overdue
    _open_tasks(p3, 10, minutes(30))    # due later today
    for i in range(12):                 # 12 calls in the last hour …
        factories.make_attempt(p1, asha if i % 2 else rahul, minutes(-56 + 5 * i))
    factories.make_attempt(p1, idle, minutes(-61))  # … this one before it (and not "calling now")
    factories.make_task(p2, day=DAY, slot=50, status=TaskStatus.CLAIMED, claimed_by_id=meena.id,
                        claimed_at=minutes(-2), due_at=minutes(-3))  # held now: still to make, overdue
    other = factories.make_patient(b)   # another district's calls count for nobody here
    _open_tasks(other, 5, minutes(-60))
    factories.make_attempt(other, factories.make_user("volunteer", b), minutes(-5))

    calls = act_now.strip(officer, TODAY, now=T)["calls"]
    assert (calls.overdue, calls.remaining, calls.done_last_hour) == (21, 31, 12)
    # only the last 15 minutes' callers are "calling now"; a recorded call or a call taken counts
    assert [p["name"] for p in calls.online] == ["Asha Verma", "Meena Kurre", "rahul"]
    assert calls.per_volunteer == 7  # 21 overdue calls over three volunteers
    assert calls.finish_at == T + timedelta(hours=31 / 12)
    assert to_local(calls.finish_at).strftime("%H:%M") == "12:35"

    state = act_now.strip(factories.make_user("nodal_officer"), TODAY, now=T)["calls"]
    assert (state.overdue, state.remaining, state.done_last_hour, len(state.online)) == (26, 36, 13, 4)


def test_nobody_called_in_the_last_hour_cannot_estimate():
    a = factories.make_district()
    patient = factories.make_patient(a)
    _open_tasks(patient, 3, minutes(-5))
    factories.make_attempt(patient, factories.make_user("volunteer", a), minutes(-90))
    calls = act_now.strip(factories.make_user("nodal_officer", a), TODAY, now=T)["calls"]
    assert calls.remaining == 3 and calls.done_last_hour == 0 and calls.finish_at is None
    assert calls.online == [] and calls.per_volunteer is None


def test_unreachable_patients_with_their_field_visits():
    a, b = factories.make_district(), factories.make_district()
    officer = factories.make_user("nodal_officer", a)
    requested = factories.make_patient(a, name="Requested Visit")
    visited = factories.make_patient(a, name="Visited Already")
    none = factories.make_patient(a, name="No Visit")
    for i, p in enumerate((requested, visited, none)):
        factories.make_task(p, day=DAY, status=TaskStatus.UNREACHABLE, due_at=minutes(-10 * (i + 1)),
                            closed_at=minutes(-10 * (i + 1)))
    factories.make_task(factories.make_patient(b), day=DAY, status=TaskStatus.UNREACHABLE, closed_at=minutes(-1))
    factories.make_task(factories.make_patient(a), day=DAY - timedelta(days=1), status=TaskStatus.UNREACHABLE,
                        closed_at=minutes(-24 * 60))  # yesterday's: not today's
    open_visit = raise_at(requested, "field_visit", Severity.ROUTINE, at=minutes(-10))
    done_visit = raise_at(visited, "field_visit", Severity.ROUTINE, at=minutes(-20))
    escalations.resolve(done_visit.id, factories.make_user("control_room", a), "seen",
                        outcome="met_well", now=minutes(-5))
    db.session.commit()

    strip = act_now.strip(officer, TODAY, now=T)
    assert strip["unreachable_total"] == 3
    by_name = {r["name"]: r["visit"] for r in strip["unreachable"]}
    assert [r["name"] for r in strip["unreachable"]] == ["Requested Visit", "Visited Already", "No Visit"]
    assert by_name["Requested Visit"]["id"] == open_visit.id and by_name["Requested Visit"]["is_open"]
    assert by_name["Visited Already"]["status"] == "resolved" and by_name["Visited Already"]["outcome"] == "met_well"
    assert by_name["No Visit"] is None
    assert act_now.strip(factories.make_user("nodal_officer"), TODAY, now=T)["unreachable_total"] == 4


def test_the_dashboard_names_people_by_full_name(client, login):
    """The people table, the lists behind the figures and their exports: full name, else the username."""
    a = factories.make_district()
    named = factories.make_user("volunteer", a, username="asha_v")
    named.full_name = "Asha Verma"
    bare = factories.make_user("volunteer", a, username="rahul_s")
    bare.full_name = ""
    db.session.commit()
    patient = factories.make_patient(a)
    factories.make_attempt(patient, named, utcnow() - timedelta(minutes=5))
    factories.make_attempt(patient, bare, utcnow() - timedelta(minutes=6))
    factories.make_task(patient, slot=7, status=TaskStatus.CLAIMED, claimed_by_id=bare.id, claimed_at=utcnow())
    login(factories.make_user("nodal_officer", a))
    page = client.get("/dashboard/").get_data(as_text=True)
    people = page[page.index('id="volunteer-table"'):]
    assert '<th scope="row" class="fw-normal">Asha Verma</th>' in people
    assert '<th scope="row" class="fw-normal">rahul_s</th>' in people
    assert ">Asha Verma</option>" in page and ">asha_v</option>" not in page  # the reassign form
    calls = client.get("/dashboard/list/calls").get_data(as_text=True)
    assert "Asha Verma" in calls and "rahul_s" in calls and "asha_v" not in calls
    assert "rahul_s" in client.get("/dashboard/list/tasks?which=pending").get_data(as_text=True)
    assert "Asha Verma" in client.get("/dashboard/export/calls.csv").get_data(as_text=True)


def test_the_strips_lists_for_the_pages_refresh(client, login):
    """GET /dashboard/act-now.json: the lists alone, rendered, for officers only, scoped as the page."""
    a, b = factories.make_district(), factories.make_district()
    raise_at(factories.make_patient(a, name="Kamla Dhruw"), at=utcnow() - timedelta(minutes=30))
    raise_at(factories.make_patient(b, name="Other District"), at=utcnow() - timedelta(minutes=30))
    login(factories.make_user("control_room", a))
    assert client.get("/dashboard/act-now.json").status_code == 403
    login(factories.make_user("nodal_officer", a))
    html = client.get("/dashboard/act-now.json").get_json()["html"]
    assert "Kamla Dhruw" in html and "Other District" not in html and "min late" in html
    assert 'id="act-escalations"' in html and 'name="to_user"' not in html  # the forms are not sent again


def test_who_saw_the_strips_patients_is_recorded(client, login):
    from callcenter.models import AuditLog
    a = factories.make_district()
    late = raise_at(factories.make_patient(a, name="Kamla Dhruw"), at=utcnow() - timedelta(minutes=30))
    gone = factories.make_patient(a, name="Ramesh Yadav")
    factories.make_task(gone, status=TaskStatus.UNREACHABLE, closed_at=utcnow())
    login(factories.make_user("nodal_officer", a))
    for path in ("/dashboard/", "/dashboard/act-now.json"):
        before = db.session.scalar(db.select(db.func.max(AuditLog.id))) or 0
        assert client.get(path).status_code == 200
        rows = db.session.scalars(db.select(AuditLog).where(AuditLog.id > before,
                                                            AuditLog.action == "patient.list_view")).all()
        named = {pid for r in rows for pid in r.details["patient_ids"]}
        assert {late.patient_id, gone.id} <= named, path
