"""The pages people work from ask the database a fixed number of questions, however many rows they show: the
count of SQL statements of one request is the same with a few rows and with four times as many (no query per
row, an "N+1"), and stays under a ceiling that a new feature must not quietly raise."""
from datetime import timedelta

import pytest
from sqlalchemy import event

from callcenter.clock import utcnow
from callcenter.extensions import db
from callcenter.services.calls import queue
from callcenter.services.desks import escalations

from ..factories import make_attempt, make_checkin, make_district, make_patient, make_task, make_user

CEILING = 45  # statements in one request, sign-in checks and the view record included


class Counter:
    def __init__(self):
        self.count = 0

    def __call__(self, *args, **kwargs):
        self.count += 1


def statements(app, client, path):
    app.extensions.pop("sampark.poll_views", None)  # a poll writes its view record each time here (shown.py)
    counter = Counter()
    event.listen(db.engine, "before_cursor_execute", counter)
    try:
        response = client.get(path, headers={"Accept": "application/json"} if path.endswith(".json") else {})
    finally:
        event.remove(db.engine, "before_cursor_execute", counter)
    assert response.status_code == 200, path
    return counter.count


def _patients(district, n, start):
    """n patients, in every setting (a hospital's or care centre's own: one more row to load for each)."""
    settings = ("home", "hospital", "ccc")
    return [make_patient(district, name=f"Rogi {start + i}", age=40 + i % 30, setting=settings[i % 3])
            for i in range(n)]


def _tasks(district, volunteer, n, start):
    for patient in _patients(district, n, start):
        make_task(patient)
        make_attempt(patient, volunteer, utcnow() - timedelta(days=1), outcome="connected", spo2=95)


def _escalations(district, n, start, desk="control_room"):
    for i, patient in enumerate(_patients(district, n, start)):
        kind, severity = ("ambulance", "emergency") if i % 2 else ("medicine", "routine")
        if desk != "control_room":
            kind, severity = ("doctor", "urgent") if desk == "doctor" else ("counselling", "routine")
        escalations.raise_escalation(patient, kind, desk, severity, "call")
    db.session.commit()


def _history(district, volunteer, patient, n):
    for i in range(n):
        make_attempt(patient, volunteer, utcnow() - timedelta(days=1, hours=i), outcome="connected", spo2=94)
        make_checkin(patient, utcnow() - timedelta(hours=i + 1), spo2=95)


def _act_now(district, n, start):
    """Rows for every list of the dashboard's "act now" strip: late emergencies, unreachable patients with field
    visits, volunteers calling now who hold calls (and so appear in the reassign form)."""
    now = utcnow()
    for i, patient in enumerate(_patients(district, n, start)):
        caller = make_user("volunteer", district, username=f"caller{start + i}")
        esc = escalations.raise_escalation(patient, "ambulance", "control_room", "emergency", "call",
                                           now=now - timedelta(hours=1))
        db.session.commit()
        assert esc.respond_by < now
        make_task(patient, status="unreachable", slot=2, closed_at=now - timedelta(minutes=i))
        escalations.raise_escalation(patient, "field_visit", "control_room", "routine", "call")
        make_task(patient, status="claimed", slot=3, claimed_by_id=caller.id, claimed_at=now - timedelta(minutes=5))
        make_attempt(patient, caller, now - timedelta(minutes=10))
    db.session.commit()


# page, the role asking it, what makes n more rows of it
PAGES = {
    "queue console": ("/queue/", "volunteer", lambda w, n, s: _tasks(w["district"], w["volunteer"], n, s)),
    "desk": ("/desk/", "control_room", lambda w, n, s: _escalations(w["district"], n, s)),
    "desk poll": ("/desk/console.json", "control_room", lambda w, n, s: _escalations(w["district"], n, s)),
    "doctor's referrals": ("/desk/referrals?desk=doctor", "doctor",
                           lambda w, n, s: _escalations(w["district"], n, s, desk="doctor")),
    "dashboard": ("/dashboard/", "nodal_officer", lambda w, n, s: _tasks(w["district"], w["volunteer"], n, s)),
    "dashboard: act now": ("/dashboard/", "nodal_officer", lambda w, n, s: _act_now(w["district"], n, s)),
    "dashboard list: calls due": ("/dashboard/list/tasks", "nodal_officer",
                                  lambda w, n, s: _tasks(w["district"], w["volunteer"], n, s)),
    "dashboard list: patients": ("/dashboard/list/patients?which=active", "nodal_officer",
                                 lambda w, n, s: _tasks(w["district"], w["volunteer"], n, s)),
    "patient record": ("/patients/{patient}", "nodal_officer",
                       lambda w, n, s: _history(w["district"], w["volunteer"], w["patient"], n)),
    "call screen": ("/queue/task/{task}", "volunteer",
                    lambda w, n, s: _history(w["district"], w["volunteer"], w["patient"], n)),
}


@pytest.mark.parametrize("name", list(PAGES))
def test_a_page_asks_the_same_number_of_questions_for_more_rows(app, client, login, name):
    path, role, more = PAGES[name]
    district = make_district()
    volunteer = make_user("volunteer", district)
    patient = make_patient(district, name="Sunita Sahu")
    task = make_task(patient)
    world = {"district": district, "volunteer": volunteer, "patient": patient}
    user = volunteer if role == "volunteer" else make_user(role, district)
    login(user)
    if name == "call screen":  # the volunteer takes the call first (the page is theirs while it lasts)
        assert queue.claim_next_task(volunteer).id == task.id
        db.session.commit()
    path = path.format(patient=patient.id, task=task.id)
    more(world, 3, 0)
    statements(app, client, path)  # warm: the first request of a session may set it up
    few = statements(app, client, path)
    more(world, 9, 100)
    many = statements(app, client, path)
    assert many == few, f"{name}: {few} statements with 3 rows, {many} with 12: one more per row"
    assert few <= CEILING, f"{name}: {few} statements"
