"""Two gunicorn instances and two `flask scheduler`s, separate processes on one PostgreSQL database, as a
deployment behind a load balancer runs them:

- each daily job runs once, though both schedulers catch up on the day's jobs at start;
- the scheduler building today's list is killed (-9) mid-build, and the other takes the run over within the
  short intervals set here (JOB_HEARTBEAT_SECONDS=1, JOB_STALE_SECONDS=3, CATCH_UP_INTERVAL_SECONDS=2);
- volunteers sending their requests to both instances in turn never get the same call;
- the outbox (the console backend) is drained once by the two schedulers' senders: every message handed
  over exactly once.

The build is held mid-way by taking the day's list lock (call_lists.CALL_LIST_LOCK) before the schedulers start:
the one that claims the run waits on it, is killed while waiting, and the lock is then let go.
"""
import re
import threading
import time
from datetime import time as clock_time
from urllib.parse import urlsplit

import flask_migrate
import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from callcenter import create_app
from callcenter.clock import local_date, to_local, utcnow
from callcenter.extensions import db
from callcenter.services.calls.call_lists import CALL_LIST_LOCK
from jobs import runner

from ..factories import PASSWORD, make_district, make_patient, make_user
from .processes import Processes, app_env

pytestmark = pytest.mark.postgres

PATIENTS = 30          # one call each (home, age 35); 10 check in by SMS reply, 10 by SMS link, 5 by IVR
VOLUNTEERS = 6
# Every daily job due now (at 00:00), but the check-in window's end (23:59): the window is open all day.
DAILY_JOBS_NOW = tuple(name for name, job in runner.JOBS.items() if job.CONFIG_TIME != "CHECKIN_WINDOW_END")
SETTINGS = {
    **{runner.JOBS[name].CONFIG_TIME: "00:00" for name in DAILY_JOBS_NOW}, "CHECKIN_WINDOW_END": "23:59",
    "FIRST_SLOT_TIME": "00:00", "SECOND_SLOT_TIME": "23:59",  # one call each, due now
    "JOB_HEARTBEAT_SECONDS": 1, "JOB_STALE_SECONDS": 3, "CATCH_UP_INTERVAL_SECONDS": 2,
    "OUTBOX_SEND_INTERVAL_SECONDS": 1, "MESSAGING_BACKEND": "console",
}
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
KEY = re.compile(r'name="submission_key"[^>]*value="([^"]+)"')
SENT = re.compile(r"console (?:SMS|call) (C(?:SM|CA)[0-9a-f]{32}) to ")


@pytest.fixture
def database_url(app, is_postgres):
    """A database of this test's own beside the test database (<name>_instances), dropped afterwards."""
    if not is_postgres:
        pytest.skip("needs PostgreSQL: several processes on one SQLite file is not a supported deployment")
    if not clock_time(0, 1) <= to_local(utcnow()).time() <= clock_time(23, 57):
        pytest.skip("the day would change during the test (local midnight)")
    test_url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    url = test_url.set(database=f"{test_url.database}_instances")
    admin = create_engine(test_url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def seeded(database_url):
    """The schema (the newest migration's, as create_all makes it; tests/test_migrations.py holds them equal,
    and alembic_version says so), then a district, its patients and volunteers, through the factories."""
    other = create_app("config.TestConfig", SQLALCHEMY_DATABASE_URI=database_url)
    with other.app_context():
        db.create_all()
        flask_migrate.stamp()
        district = make_district()
        for i in range(PATIENTS):
            channel = "sms_reply" if i < 10 else "sms_link" if i < 20 else "ivr" if i < 25 else "none"
            make_patient(district, checkin_channel=channel)
        names = [make_user("volunteer", district).username for _ in range(VOLUNTEERS)]
        db.session.remove()
        db.engine.dispose()
    return names


@pytest.fixture
def processes(tmp_path):
    started = Processes(tmp_path)
    yield started
    started.stop_all()


def _wait(check, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what} after {timeout} s")


def _sign_in(bases, username):
    session = requests.Session()
    session.turn = 0
    try:
        page = session.get(bases[0] + "/login", timeout=30).text
        answer = session.post(bases[1] + "/login", data={"username": username, "password": PASSWORD,
                                                          "csrf_token": CSRF.search(page).group(1)},
                              allow_redirects=False, timeout=30)
        assert answer.status_code == 302 and "/login" not in answer.headers["Location"], answer.text
    except BaseException:
        session.close()
        raise
    return session


SERVED_LOCK = threading.Lock()


def _volunteer(bases, username, handed, served, errors):
    """Take the next call, save it as connected, again, until the queue is empty; each request to the next
    instance in turn (sessions and CSRF tokens made by one instance are good on the other)."""
    session = None
    try:
        session = _sign_in(bases, username)

        def go(method, path, **kwargs):
            session.turn += 1
            base = bases[session.turn % 2]
            with SERVED_LOCK:
                served[base] = served.get(base, 0) + 1
            answer = session.request(method, base + path, allow_redirects=False, timeout=30, **kwargs)
            assert answer.status_code < 500, answer.text
            return answer

        while True:
            console = go("GET", "/queue/").text
            taken = go("POST", "/queue/take", data={"csrf_token": CSRF.search(console).group(1), "setting": ""})
            path = urlsplit(taken.headers["Location"]).path
            if not path.startswith("/queue/task/"):
                return
            handed.append((username, int(path.rsplit("/", 1)[1])))
            screen = go("GET", path).text
            saved = go("POST", path, data={"csrf_token": CSRF.search(screen).group(1),
                                           "submission_key": KEY.search(screen).group(1), "outcome": "connected",
                                           "temperature_f": "98.4", "spo2": "97"})
            assert saved.status_code == 302, saved.text
    except Exception as exc:  # reported by the test, not lost in a thread
        errors.append(f"{username}: {exc!r}")
    finally:
        if session is not None:
            session.close()  # no kept-alive connection holds a gunicorn worker's graceful stop


def test_two_instances_and_two_schedulers_on_one_database(app, database_url, seeded, processes):
    env = app_env(database_url, **SETTINGS)
    engine = create_engine(make_url(database_url), isolation_level="AUTOCOMMIT")
    try:
        _run(engine, env, seeded, processes)
    finally:
        engine.dispose()


def _run(engine, env, seeded, processes):

    def value(sql, **params):
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def rows(sql, **params):
        with engine.connect() as conn:
            return conn.execute(text(sql), params).all()

    today = local_date(utcnow())
    day_lock = {"lock": CALL_LIST_LOCK, "day": today.toordinal()}
    holder = engine.connect()
    try:
        # Today's build will wait on its lock: the scheduler that claims it is caught mid-build.
        holder.execute(text("SELECT pg_advisory_lock(:lock, :day)"), day_lock)
        schedulers = [processes.scheduler(f"scheduler-{n}", env) for n in (1, 2)]
        instances = [processes.gunicorn(f"gunicorn-{n}", env) for n in (1, 2)]

        def claimed():
            found = rows("SELECT owner, status FROM job_run WHERE job = 'daily_call_list' AND run_key = :key",
                         key=today.isoformat())
            return found[0] if found and found[0].status == "running" else None
        owner = _wait(claimed, 60, "a scheduler to claim today's list").owner
        builder = next(p for p in schedulers if p.pid == int(owner.rsplit(":", 2)[1]))
        survivor = next(p for p in schedulers if p is not builder)
        # The other one ran the rest of the day's jobs at its start.
        _wait(lambda: value("SELECT count(*) FROM job_run WHERE status = 'succeeded'") == len(DAILY_JOBS_NOW) - 1,
              60, "the other daily jobs")
        processes.kill(builder)
        killed_at = time.monotonic()
        builder.wait()
    finally:
        holder.execute(text("SELECT pg_advisory_unlock(:lock, :day)"), day_lock)
        holder.close()

    # Taken over by the survivor: the same run, a second try, its owner now.
    def built():
        found = rows("SELECT status, tries, owner FROM job_run WHERE job = 'daily_call_list' AND run_key = :key",
                     key=today.isoformat())[0]
        return found if found.status == "succeeded" else None
    run = _wait(built, 60, "today's list to be built by the other scheduler")
    assert time.monotonic() - killed_at < 60
    assert run.tries == 2 and int(run.owner.rsplit(":", 2)[1]) == survivor.pid
    assert value("SELECT count(*) FROM call_task WHERE task_date = :day", day=today) == PATIENTS
    assert value("SELECT count(*) FROM audit_log WHERE action = 'call_list.build'") == 1

    # Each daily job ran once: one row, one try (the list: the killed try and the survivor's), one log line.
    runs = {r.job: (r.status, r.tries) for r in rows("SELECT job, status, tries FROM job_run WHERE run_key = :key",
                                                     key=today.isoformat())}
    assert runs == {job: ("succeeded", 2 if job == "daily_call_list" else 1) for job in DAILY_JOBS_NOW}
    assert value("SELECT count(*) FROM job_run WHERE status = 'running'") == 0

    # Volunteers on both instances: no call handed to two of them, every call recorded once, by its holder.
    for instance in instances:
        processes.wait_answering(instance)
    bases = [instance.url for instance in instances]
    handed, served, errors = [], {}, []
    threads = [threading.Thread(target=_volunteer, args=(bases, name, handed, served, errors)) for name in seeded]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert len(handed) == PATIENTS and len({task for _name, task in handed}) == PATIENTS
    attempts = rows("SELECT a.task_id, u.username FROM call_attempt a JOIN \"user\" u ON u.id = a.user_id")
    assert sorted(attempts) == sorted((task, name) for name, task in handed)
    assert value("SELECT count(*) FROM call_task WHERE status = 'done'") == PATIENTS
    assert all(served.get(base, 0) > 4 * PATIENTS // 3 for base in bases), served  # both did their share

    # The outbox drained once by two senders (a PostgreSQL advisory lock: one pass at a time).
    expected = 25  # SMS reply, SMS link, IVR; "none" sends nothing
    _wait(lambda: value("SELECT count(*) FROM outbound_message WHERE status IN ('sent', 'delivered')") == expected,
          30, "the outbox to drain")
    assert value("SELECT count(*) FROM outbound_message") == expected
    recorded = set(value("SELECT array_agg(provider_sid) FROM outbound_message"))
    logs = "".join(processes.log(p) for p in schedulers)
    handed_over = SENT.findall(logs)
    assert len(handed_over) == expected and set(handed_over) == recorded
    for job in DAILY_JOBS_NOW:
        assert len(re.findall(rf"{job} {today.isoformat()}: \d+ rows", logs)) == 1, job
