"""The call loop asks the database a fixed, small number of questions (issue 20): taking a call and saving it, on the
volunteer's pages and through the API, each counted statement by statement (a count, not a timing).

What is left in each, on PostgreSQL: the sign-in's user (the API: its token with the user, one statement), the
work itself, the audit rows (one INSERT however many) and the chain at the commit (one call of audit_chain_append;
SQLite: the unchained ids with the head, and the UPDATE). A process reads the settings once per
SETTINGS_CACHE_SECONDS and releases a district's stale claims at most every 30 s: the first request of a test pays
both, a running process's cycle neither (the last test).
Before issue 20 a take was 14 statements, a save 16, an API claim 25 and an API save 17.
"""
import re

import pytest
from sqlalchemy import event

from callcenter.extensions import db
from callcenter.models import AuditLog, CallAttempt, CallTask, TaskStatus

from ..conftest import csrf_token
from ..factories import make_patient, make_task, make_user
from .conftest import bearer

# statements of each step, at most: (PostgreSQL, SQLite)
CEILINGS = {"take": (6, 7), "save": (9, 10), "api claim": (8, 10), "api save": (8, 9)}


def statements(fn):
    seen = []
    listener = lambda conn, cursor, statement, *args: seen.append(" ".join(statement.split()))  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        response = fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    return response, seen


def ceiling(step, is_postgres):
    return CEILINGS[step][0 if is_postgres else 1]


# A need adds its escalation: the check for an open one of its kind, its row, the need's row; and its audit row
# (on PostgreSQL inserted in one statement with the call's).
NEED_STATEMENTS = (3, 4)


@pytest.mark.parametrize("outcome, needs", [("connected", []), ("no_answer", []), ("connected", ["medicine"])])
def test_take_and_save_on_the_volunteers_pages(client, login, district, is_postgres, outcome, needs):
    volunteer = make_user("volunteer", district)
    tasks = [make_task(make_patient(district), priority=p) for p in (1, 2)]
    login(volunteer)
    client.get("/queue/")
    token = csrf_token(client, "/queue/")
    response, take = statements(lambda: client.post("/queue/take", data={"csrf_token": token, "setting": ""}))
    assert response.status_code == 302 and response.location.endswith(f"/queue/task/{tasks[0].id}")
    assert len(take) <= ceiling("take", is_postgres), "\n".join(take)
    assert not [s for s in take if s.startswith("SELECT call_task.id, call_task.patient_id")][1:], \
        "the claimed task is read once (the UPDATE returns it)"

    page = client.get(response.location).get_data(as_text=True)
    key = re.search(r'name="submission_key"[^>]*value="([^"]*)"', page).group(1)
    form = {"csrf_token": token, "submission_key": key, "outcome": outcome, "needs": needs}
    if outcome == "connected":
        form.update(spo2="97")
    response, save = statements(lambda: client.post(response.location, data=form))
    assert response.status_code == 302 and response.location.endswith("/queue/")
    most = ceiling("save", is_postgres) + NEED_STATEMENTS[0 if is_postgres else 1] * len(needs)
    assert len(save) <= most, "\n".join(save)
    attempt = db.session.scalars(db.select(CallAttempt)).one()
    assert (attempt.task_id, attempt.outcome, attempt.user_id) == (tasks[0].id, outcome, volunteer.id)
    assert {a for a, in db.session.execute(db.select(AuditLog.action))} >= {"task.claim", "call.attempt"}
    assert [n.kind for n in attempt.needs] == needs
    assert all(n.escalation_id is not None for n in attempt.needs)


def test_claim_and_save_through_the_api(api, district, is_postgres):
    volunteer = make_user("volunteer", district)
    task = make_task(make_patient(district))
    headers = bearer(volunteer)
    db.session.commit()
    api("GET", "/api/v1/patients", headers=headers)  # the first request of a token (not counted)
    response, claim = statements(lambda: api("POST", "/api/v1/tasks/claim", headers=headers, json={}))
    assert response.status_code == 200 and response.get_json()["patient"]["id"] == task.patient_id
    assert len(claim) <= ceiling("api claim", is_postgres), "\n".join(claim)

    report = {"submission_key": "k-1", "outcome": "connected", "spo2": 97, "needs": ["medicine"]}
    response, save = statements(lambda: api("POST", f"/api/v1/tasks/{task.id}/attempts", headers=headers,
                                            json=report))
    assert response.status_code == 201 and response.get_json()["attempt"]["needs"] == ["medicine"]
    assert len(save) <= ceiling("api save", is_postgres) + NEED_STATEMENTS[0 if is_postgres else 1], "\n".join(save)
    assert db.session.get(CallTask, task.id, populate_existing=True).status == TaskStatus.DONE
    views = db.session.scalars(db.select(AuditLog).where(AuditLog.action == "patient.view")).all()
    assert [(v.entity_id, v.details) for v in views] == [(task.patient_id, {"purpose": "call"})]


def test_a_running_process_claims_and_saves_in_fourteen_statements(api, district, is_postgres):
    """The API cycle of a volunteer at work (settings read, stale claims released a moment ago), as bench.load's
    API volunteers run it: the claim is the token, the call already held, the claim, the patient, the audit rows
    and the chain; the save the token, the submission key, the task locked, the attempt, the patient, the task,
    the audit row and the chain. (SQLite inserts the claim's two audit rows one by one.)"""
    volunteer = make_user("volunteer", district)
    tasks = [make_task(make_patient(district)) for _ in range(2)]
    headers = bearer(volunteer)
    db.session.commit()
    ids = [t.id for t in tasks]

    def cycle(n):
        claimed, claim = statements(lambda: api("POST", "/api/v1/tasks/claim", headers=headers, json={}))
        task_id = claimed.get_json()["id"]
        report = {"submission_key": f"k-{n}", "outcome": "connected", "spo2": 97}
        saved, save = statements(lambda: api("POST", f"/api/v1/tasks/{task_id}/attempts", headers=headers,
                                             json=report))
        assert saved.status_code == 201
        return task_id, claim, save

    first, _, _ = cycle(1)
    second, claim, save = cycle(2)
    assert sorted([first, second]) == sorted(ids)
    assert (len(claim), len(save)) == ((6, 8) if is_postgres else (8, 9)), "\n".join(claim + ["--"] + save)
