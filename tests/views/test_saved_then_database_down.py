"""Item 4 of issue 15: the database stops answering just after a save was committed.

The answer must come from what was committed (or say "saved"), never "nothing you entered was lost; please try
again", which makes a volunteer enter the call twice. On PostgreSQL the outage is real (the test database stops
accepting connections and its sessions are ended); on SQLite, one file with no server, every statement after the
commit fails as a lost database would.
"""
import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from callcenter.extensions import db
from callcenter.models import CallAttempt, Escalation

from ..factories import make_patient, make_task, make_user
from .test_call_screen import take_call


@pytest.fixture
def database_goes_down_after_the_next_commit(app):
    url = db.engine.url
    state = {"armed": False, "down": False}
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT") \
        if url.get_backend_name() == "postgresql" else None

    def down(session):
        if not state["armed"] or state["down"]:
            return
        state["down"] = True
        if admin is not None:
            with admin.connect() as c:
                c.execute(text(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS false'))
                c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE datname = :db AND pid <> pg_backend_pid()"), {"db": url.database})

    def refuse(conn, cursor, statement, parameters, context, executemany):
        if state["down"] and admin is None:
            raise OperationalError(statement, parameters, Exception("disk I/O error"))

    def back_up():
        """The database answers again; the connections it ended are dropped without a word to it."""
        if admin is not None and state["down"]:
            with admin.connect() as c:
                c.execute(text(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS true'))
        state["down"] = False
        db.session().invalidate()
        db.session.remove()
        db.engine.dispose()

    state["back_up"] = back_up
    event.listen(Session, "after_commit", down)
    event.listen(db.engine, "before_cursor_execute", refuse)
    try:
        yield state
    finally:
        event.remove(Session, "after_commit", down)
        event.remove(db.engine, "before_cursor_execute", refuse)
        back_up()
        if admin is not None:
            admin.dispose()


def test_a_call_saved_just_before_the_database_went_down_is_answered_saved(
        client, login, district, database_goes_down_after_the_next_commit):
    make_task(make_patient(district, name="Pooja Verma"))
    login(make_user("volunteer", district))
    url, _page, fields = take_call(client)
    database_goes_down_after_the_next_commit["armed"] = True
    response = client.post(url, data=dict(fields, outcome="connected", spo2="91", needs="ambulance"))
    assert database_goes_down_after_the_next_commit["down"]
    body = response.get_data(as_text=True)
    assert "Nothing you entered was lost" not in body
    # answered from what was committed: back to the queue, with what was saved and where it went
    assert response.status_code == 302 and response.headers["Location"].endswith("/queue/")
    with client.session_transaction() as session:
        flashes = [message for _category, message in session.get("_flashes", [])]
    assert flashes and "saved." in flashes[0] and "Control room" in flashes[0]

    database_goes_down_after_the_next_commit["back_up"]()
    assert db.session.scalar(db.select(db.func.count()).select_from(CallAttempt)) == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(Escalation)) == 1


def test_any_other_save_followed_by_an_outage_says_saved(client, login, district,
                                                         database_goes_down_after_the_next_commit):
    """The net under every write: a failure after a commit in the same request says the entry was kept."""
    patient = make_patient(district)
    make_task(patient)
    login(make_user("volunteer", district))
    url, page, fields = take_call(client)
    database_goes_down_after_the_next_commit["armed"] = True
    # the call screen's "release" (give the call back): committed, then the redirect's flash reads the DB
    response = client.post(url + "/release", data={"csrf_token": fields["csrf_token"]})
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "What you entered was saved" in body and "do not enter it again" in body
    assert "Nothing you entered was lost" not in body


def test_an_api_save_followed_by_an_outage_says_saved(client, district, database_goes_down_after_the_next_commit):
    from ..api.conftest import bearer

    volunteer = make_user("volunteer", district)
    task = make_task(make_patient(district))
    headers = bearer(volunteer)
    claimed = client.post("/api/v1/tasks/claim", headers=headers, json={})
    assert claimed.status_code == 200, claimed.get_json()
    database_goes_down_after_the_next_commit["armed"] = True
    response = client.post(f"/api/v1/tasks/{task.id}/attempts", headers=headers,
                           json={"submission_key": "k" * 32, "outcome": "connected", "spo2": 97})
    # answered from what was committed: the attempt as saved
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["attempt"]["spo2"] == 97 and response.get_json()["task"]["status"] == "done"
