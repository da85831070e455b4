"""The daily pre-aggregates (jobs/daily_figures.py): the dashboard shows the same figures whether a closed day
is read from them or counted live, the job is idempotent, and a day it has not counted is counted live."""
from datetime import timedelta

from callcenter.extensions import db
from callcenter.models import DailyFigures, DailyFiguresDay, DailyVolunteerFigures, JobRun
from callcenter.services.dashboard import daily_figures
from callcenter.services.dashboard import people as dashboard_people
from callcenter.services.dashboard import trends as dashboard_trends
from callcenter.services.dashboard.overview import Filters
from jobs import runner

from .. import factories
from . import scenario


def _history(s):
    """Calls and escalations on closed days: yesterday and three days ago."""
    p1, p2, _, p4, p5 = s.p
    day = timedelta(days=1)
    factories.make_attempt(p4, s.vol, s.now - day, started_at=s.now - day - timedelta(minutes=5))
    factories.make_attempt(p5, s.vol, s.now - day, outcome="no_answer")
    factories.make_attempt(p5, s.vol2, s.now - 3 * day, started_at=s.now - 3 * day - timedelta(minutes=1))
    factories.make_attempt(s.q, s.vol, s.now - day)  # the other district's patient
    scenario._escalation(p4, "doctor", "doctor", "routine", s.now - day, created_by_id=s.vol.id)
    scenario._escalation(p5, "medicine", "control_room", "routine", s.now - 2 * day, status="resolved",
                         closed_at=s.now - 2 * day + timedelta(hours=1), created_by_id=s.vol2.id)


def _views(s, f):
    return (dashboard_trends.trends(s.officer, f, s.now),
            sorted(dashboard_people.volunteers_table(s.officer, f, s.now), key=lambda r: r["username"]))


def test_counted_days_match_the_live_count_for_every_filter():
    s = scenario.build()
    _history(s)
    base = Filters.today(s.now)
    filters = [base, base.with_(setting="home"), base.with_(setting="hospital"),
               base.with_(block_id=s.village.block_id), base.with_(district_id=s.a.id),
               base.with_(date_from=base.date_to - timedelta(days=1), date_to=base.date_to - timedelta(days=1))]
    live = [_views(s, f) for f in filters]
    assert db.session.scalar(db.select(db.func.count()).select_from(DailyFiguresDay)) == 0

    run = runner.run("daily_figures", trigger="manual", now=s.now)
    assert run.status == "succeeded" and run.rows > 0
    days = {d for (d,) in db.session.execute(db.select(DailyFiguresDay.day))}
    assert len(days) == daily_figures.KEEP_DAYS and max(days) == base.date_to - timedelta(days=1)
    for f, expected in zip(filters, live, strict=True):
        assert _views(s, f) == expected, f

    trend = live[0][0]
    yesterday = trend[-2]
    assert (yesterday["calls"], yesterday["connected"], yesterday["escalations"]) == (2, 1, 1)
    assert yesterday["active"] == {"hospital": 1, "ccc": 0, "home": 1}  # Dev, and Esha before her discharge
    assert (trend[-4]["calls"], trend[-3]["escalations"]) == (1, 1)
    vol = next(r for r in live[0][1] if r["username"] == s.vol.username)
    assert (vol["calls_week"], vol["connected_week"], vol["raised_week"]) == (4, 2, 3)
    assert vol["aht_week"] == round((240 + 120 + 300) / 3)  # today's 4 and 2 minutes, yesterday's 5
    only_yesterday = live[-1][1]
    assert {r["username"]: r["calls_today"] for r in only_yesterday} == {s.vol.username: 2, s.vol2.username: 0}


def test_the_job_is_idempotent_and_recounts_yesterday():
    s = scenario.build()
    _history(s)
    runner.run("daily_figures", trigger="manual", now=s.now)
    before = _rows()
    assert before and any(r[0] == Filters.today(s.now).date_to - timedelta(days=1) for r in before)
    runner.run("daily_figures", trigger="manual", now=s.now)
    assert _rows() == before
    # A late record for yesterday is picked up by the next run (yesterday is always recounted) …
    factories.make_attempt(s.p[0], s.vol, s.now - timedelta(days=1))
    assert daily_figures.days_to_count(s.now) == [Filters.today(s.now).date_to - timedelta(days=1)]
    runner.run("daily_figures", trigger="manual", now=s.now)
    assert dashboard_trends.trends(s.officer, Filters.today(s.now), s.now)[-2]["calls"] == 3
    # … and days older than the window are dropped.
    later = s.now + timedelta(days=30)
    runner.run("daily_figures", trigger="manual", now=later)
    oldest = db.session.scalar(db.select(db.func.min(DailyFigures.day)))
    assert oldest is None or oldest >= Filters.today(later).date_to - timedelta(days=daily_figures.KEEP_DAYS)
    assert db.session.scalar(db.select(db.func.count()).select_from(JobRun)) == 4


def test_a_day_the_job_missed_is_counted_live():
    s = scenario.build()
    _history(s)
    f = Filters.today(s.now)
    expected = _views(s, f)
    runner.run("daily_figures", trigger="manual", now=s.now)
    yesterday = f.date_to - timedelta(days=1)
    # The job did not count yesterday (e.g. it failed): its rows and mark are gone, the dashboard counts it.
    db.session.execute(db.delete(DailyFiguresDay).where(DailyFiguresDay.day == yesterday))
    db.session.execute(db.delete(DailyFigures).where(DailyFigures.day == yesterday))
    db.session.execute(db.delete(DailyVolunteerFigures).where(DailyVolunteerFigures.day == yesterday))
    db.session.commit()
    assert _views(s, f) == expected
    # Rows without their day's mark (a count in progress elsewhere) are never read.
    db.session.add(DailyFigures(day=yesterday, district_id=s.a.id, setting="home", calls=1000, connected=0,
                                escalations=0, active=0))
    db.session.commit()
    assert _views(s, f) == expected


def test_a_district_officer_reads_only_their_districts_counted_rows():
    s = scenario.build()
    _history(s)
    runner.run("daily_figures", trigger="manual", now=s.now)
    other = factories.make_user("nodal_officer", s.b)
    trend = dashboard_trends.trends(other, Filters.today(s.now), s.now)
    assert trend[-2]["calls"] == 1  # only the other district's call yesterday
    admin = factories.make_user("admin")
    assert dashboard_trends.trends(admin, Filters.today(s.now), s.now)[-2]["calls"] == 3


def _rows():
    return sorted(db.session.execute(db.select(
        DailyFigures.day, DailyFigures.district_id, DailyFigures.block_id, DailyFigures.setting,
        DailyFigures.facility_id, DailyFigures.calls, DailyFigures.connected, DailyFigures.escalations,
        DailyFigures.active)).all(), key=str) + sorted(db.session.execute(db.select(
            DailyVolunteerFigures.day, DailyVolunteerFigures.user_id, DailyVolunteerFigures.district_id,
            DailyVolunteerFigures.block_id, DailyVolunteerFigures.setting, DailyVolunteerFigures.calls,
            DailyVolunteerFigures.connected, DailyVolunteerFigures.timed_calls,
            DailyVolunteerFigures.handling_seconds, DailyVolunteerFigures.raised)).all(), key=str)
