"""The dashboard's daily pre-aggregates: a closed day's figures counted once (jobs/daily_figures.py).

A state holds hundreds of thousands of call attempts a day; the dashboard's 14-day trends and the
volunteers' week would otherwise re-count millions of rows on every view. A closed day does not change,
so it is counted once, early the next morning, into DailyFigures (per district, block, setting and facility) and
DailyVolunteerFigures (per volunteer, district, block and setting), and marked in DailyFiguresDay.
Today is always counted live; a closed day without its mark (the job has not run yet) is counted live too.

Counting a day again replaces its rows (delete + insert in one transaction): the job is idempotent and
can re-count recent days to pick up late records.
"""
from datetime import timedelta

from sqlalchemy import case, delete, func, select

from ...clock import local_date, start_of_local_day, utcnow
from ...extensions import db
from ...models import (
    CallAttempt,
    DailyFigures,
    DailyFiguresDay,
    DailyVolunteerFigures,
    Escalation,
    Outcome,
    Patient,
    PatientStatus,
    Village,
)
from ..core.tx import is_postgres, transaction

KEEP_DAYS = 15  # closed days kept counted: the trend's 14 days and the volunteers' week, with a day to spare


def _places(stmt):
    return stmt.outerjoin(Village, Village.id == Patient.village_id)


def _count_if(cond):
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def seconds_between(later, earlier):
    """Seconds from one timestamp column to another, in SQL (both databases)."""
    if is_postgres():
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def _place_figures(start, end):
    """{(district, block, setting, facility): {calls, connected, escalations, active}} for [start, end)."""
    dims = (Patient.district_id, Village.block_id, Patient.setting, Patient.facility_id)
    out = {}

    def add(key, **counts):
        row = out.setdefault(tuple(key), {"calls": 0, "connected": 0, "escalations": 0, "active": 0})
        for k, v in counts.items():
            row[k] += v or 0

    calls = _places(select(*dims, func.count(), _count_if(CallAttempt.outcome == Outcome.CONNECTED))
                    .select_from(CallAttempt).join(Patient, Patient.id == CallAttempt.patient_id))
    for *key, n, c in db.session.execute(calls.where(CallAttempt.created_at >= start, CallAttempt.created_at < end)
                                         .group_by(*dims)):
        add(key, calls=n, connected=c)
    esc_dims = (Escalation.district_id, *dims[1:])
    escalations = _places(select(*esc_dims, func.count()).select_from(Escalation)
                          .join(Patient, Patient.id == Escalation.patient_id))
    for *key, n in db.session.execute(escalations.where(Escalation.created_at >= start, Escalation.created_at < end)
                                      .group_by(*esc_dims)):
        add(key, escalations=n)
    # In follow-up at the end of the day: registered before it ended, and still active or ended after.
    active = _places(select(*dims, func.count()).select_from(Patient)).where(
        Patient.created_at < end,
        (Patient.status == PatientStatus.ACTIVE) | (Patient.ended_at >= end)).group_by(*dims)
    for *key, n in db.session.execute(active):
        add(key, active=n)
    return out


def _volunteer_figures(start, end):
    """{(user, district, block, setting): {calls, connected, timed_calls, handling_seconds, raised}}."""
    dims = (Patient.district_id, Village.block_id, Patient.setting)
    timed = CallAttempt.started_at.is_not(None)
    calls = _places(select(CallAttempt.user_id, *dims, func.count(),
                           _count_if(CallAttempt.outcome == Outcome.CONNECTED), _count_if(timed),
                           func.sum(case((timed, seconds_between(CallAttempt.created_at, CallAttempt.started_at)))))
                    .select_from(CallAttempt).join(Patient, Patient.id == CallAttempt.patient_id))
    out = {}
    empty = {"calls": 0, "connected": 0, "timed_calls": 0, "handling_seconds": 0.0, "raised": 0}
    for uid, *key, n, c, t, secs in db.session.execute(
            calls.where(CallAttempt.created_at >= start, CallAttempt.created_at < end)
            .group_by(CallAttempt.user_id, *dims)):
        out[(uid, *key)] = dict(empty, calls=n, connected=c, timed_calls=t, handling_seconds=float(secs or 0))
    esc_dims = (Escalation.created_by_id, Escalation.district_id, *dims[1:])
    raised = _places(select(*esc_dims, func.count()).select_from(Escalation)
                     .join(Patient, Patient.id == Escalation.patient_id))
    for uid, *key, n in db.session.execute(raised.where(
            Escalation.created_at >= start, Escalation.created_at < end, Escalation.created_by_id.is_not(None))
            .group_by(*esc_dims)):
        out.setdefault((uid, *key), dict(empty))["raised"] = n
    return out


@transaction
def count_day(day, now=None):
    """(Re)count one closed local day into the pre-aggregate tables; returns the rows written."""
    now = now or utcnow()
    start, end = start_of_local_day(day), start_of_local_day(day + timedelta(days=1))
    places = _place_figures(start, end)
    people = _volunteer_figures(start, end)
    db.session.execute(delete(DailyFigures).where(DailyFigures.day == day))
    db.session.execute(delete(DailyVolunteerFigures).where(DailyVolunteerFigures.day == day))
    if places:
        db.session.execute(db.insert(DailyFigures), [
            {"day": day, "district_id": d, "block_id": b, "setting": s, "facility_id": fac, **counts}
            for (d, b, s, fac), counts in places.items()])
    if people:
        db.session.execute(db.insert(DailyVolunteerFigures), [
            {"day": day, "user_id": u, "district_id": d, "block_id": b, "setting": s, **counts}
            for (u, d, b, s), counts in people.items()])
    mark = db.session.get(DailyFiguresDay, day)
    if mark is None:
        db.session.add(DailyFiguresDay(day=day, computed_at=now))
    else:
        mark.computed_at = now
    return len(places) + len(people)


def days_to_count(now=None, keep=KEEP_DAYS, recount=1):
    """The closed days the job should count: the last `keep` days not yet counted, and the last `recount`
    days again (late records)."""
    today = local_date(now or utcnow())
    window = [today - timedelta(days=i) for i in range(keep, 0, -1)]
    counted = set(db.session.scalars(select(DailyFiguresDay.day).where(DailyFiguresDay.day >= window[0])))
    return [d for d in window if d not in counted or d >= today - timedelta(days=recount)]


def counted_days(first, last):
    """The days in [first, last] whose figures are in the pre-aggregate tables."""
    return set(db.session.scalars(select(DailyFiguresDay.day).where(DailyFiguresDay.day.between(first, last))))


@transaction
def forget_before(day):
    """Drop counted days older than `day` (the dashboard never reads them; they are recounted if needed)."""
    db.session.execute(delete(DailyFigures).where(DailyFigures.day < day))
    db.session.execute(delete(DailyVolunteerFigures).where(DailyVolunteerFigures.day < day))
    db.session.execute(delete(DailyFiguresDay).where(DailyFiguresDay.day < day))
