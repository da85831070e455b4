"""The job at the end of the check-in window: who was asked and did not check in is moved up today's queue."""
from datetime import datetime, timedelta

from callcenter.clock import local_date, local_to_utc
from callcenter.extensions import db
from callcenter.models import CallTask, TaskStatus
from callcenter.rules import priority
from callcenter.services.checkins.checkins import CHECKED_IN_OK
from jobs import checkins_window_end
from jobs import runner as job_runner

from ..factories import make_checkin, make_patient, make_task

END = local_to_utc(datetime(2021, 5, 20, 12, 0))  # CHECKIN_WINDOW_END, local
DAY = local_date(END)


def task(patient, prio=priority.ROUTINE, **extra):
    return make_task(patient, priority=prio, day=DAY, due_at=END - timedelta(hours=4), **extra)


def prio(t):
    return db.session.get(CallTask, t.id).priority


def test_patients_who_did_not_check_in_are_moved_up(district):
    silent = task(make_patient(district))
    silent_high = task(make_patient(district), prio=priority.HIGH_RISK)
    answered = make_patient(district)
    answered_task = task(answered, prio=CHECKED_IN_OK)
    make_checkin(answered, at=END - timedelta(hours=2), feeling_ok=True)
    yesterday_only = make_patient(district)
    yesterday_task = task(yesterday_only)
    make_checkin(yesterday_only, at=END - timedelta(days=1))
    not_asked = make_patient(district, checkin_channel="none")
    not_asked_task = task(not_asked)
    urgent = task(make_patient(district), prio=priority.EMERGENCY_FOLLOW_UP)
    on_call = task(make_patient(district), status=TaskStatus.CLAIMED)
    other_day = make_task(make_patient(district), priority=priority.ROUTINE, day=DAY - timedelta(days=1))

    run = job_runner.run("checkins_window_end", now=END)
    assert (run.status, run.rows, run.details) == ("succeeded", 3, {"day": "2021-05-20", "moved_up": 3})
    assert prio(silent) == prio(silent_high) == prio(yesterday_task) == priority.UNWELL_OR_UNREACHED
    assert prio(answered_task) == CHECKED_IN_OK            # checked in today: stays where it was put
    assert prio(not_asked_task) == priority.ROUTINE         # never asked to check in
    assert prio(urgent) == priority.EMERGENCY_FOLLOW_UP     # never moved down
    assert prio(on_call) == prio(other_day) == priority.ROUTINE


def test_it_is_a_daily_job_at_the_window_end(app, district):
    assert job_runner.JOBS["checkins_window_end"] is checkins_window_end
    assert checkins_window_end.CONFIG_TIME == "CHECKIN_WINDOW_END" and app.config["CHECKIN_WINDOW_END"]
    task(make_patient(district))
    assert job_runner.run("checkins_window_end", now=END).rows == 1
    assert job_runner.run("checkins_window_end", now=END + timedelta(minutes=5)) is None  # once a day
