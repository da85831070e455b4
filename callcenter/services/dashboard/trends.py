"""The dashboard's trends: one row per day for the last TREND_DAYS days (read-only). Also the day helpers
the people's tables share: a timestamp's local day in SQL, and reading the pre-aggregated daily figures.

All counting is done by the database (GROUP BY with CASE sums); Python only merges small grouped results.
"""
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select

from ... import scope
from ...clock import local_date, local_tz, utcnow
from ...extensions import db
from ...models import CallAttempt, DailyFigures, Escalation, Outcome, Patient, PatientStatus, Setting
from ..core.tx import is_postgres
from . import daily_figures
from .overview import _count_if, _in, _restrict, active_by_setting

TREND_DAYS = 14


def _offset_minutes():
    # India has no daylight saving; the offset of "now" is the offset of every day in the range.
    return int(local_tz().utcoffset(datetime.now()).total_seconds() // 60)


def local_day(col):
    """The call centre's calendar day of a naive-UTC timestamp column, in SQL."""
    minutes = _offset_minutes()
    if is_postgres():
        return func.date(col + timedelta(minutes=minutes))
    return func.date(col, f"{minutes:+d} minutes")


def as_date(value):
    return value if not isinstance(value, str) else datetime.strptime(value[:10], "%Y-%m-%d").date()


def restrict_counted(stmt, model, user, f):
    """Scope and filter a select over a pre-aggregate table (DailyFigures / DailyVolunteerFigures)."""
    stmt = scope.scoped(stmt, model, user)
    if f.district_id:
        stmt = stmt.where(model.district_id == f.district_id)
    if f.setting:
        stmt = stmt.where(model.setting == f.setting)
    if f.block_id:
        stmt = stmt.where(model.block_id == f.block_id)
    if f.facility_id:
        stmt = stmt.where(model.facility_id == f.facility_id)
    return stmt


def trends(user, f, now=None, active_now=None):
    """One row per day for the TREND_DAYS days ending f.date_to: calls, connected, reach rate,
    escalations raised and active patients by setting (at the end of each day).

    Closed days counted by jobs/daily_figures.py are read from DailyFigures (a few thousand rows); today,
    and any closed day the job has not counted, are counted live. Live, active patients per day are derived
    from today's count and the admissions and endings since (active(d) = active now − admitted after d +
    ended after d), so only index ranges are read; a patient is counted in their current setting.
    `active_now` ({setting: n} for the same filters, e.g. from overview()) saves counting it again.
    """
    now = now or utcnow()
    first = f.date_to - timedelta(days=TREND_DAYS - 1)
    days = [first + timedelta(days=i) for i in range(TREND_DAYS)]
    today = local_date(now)
    counted = daily_figures.counted_days(first, min(f.date_to, today - timedelta(days=1)))
    live = [d for d in days if d not in counted]
    calls, escalations, active = {}, {}, {}
    if counted:
        stmt = (select(DailyFigures.day, DailyFigures.setting, func.sum(DailyFigures.calls),
                       func.sum(DailyFigures.connected), func.sum(DailyFigures.escalations),
                       func.sum(DailyFigures.active))
                .where(DailyFigures.day.between(min(counted), max(counted)))
                .group_by(DailyFigures.day, DailyFigures.setting))
        for d, setting, n, c, e, a in db.session.execute(restrict_counted(stmt, DailyFigures, user, f)):
            d = as_date(d)
            if d not in counted:
                continue
            old = calls.get(d, (0, 0))
            calls[d] = (old[0] + n, old[1] + c)
            escalations[d] = escalations.get(d, 0) + e
            active.setdefault(d, {})[setting] = a
    if live:
        calls.update(_live_calls_by_day(user, f, live))
        escalations.update(_live_escalations_by_day(user, f, live))
        active.update(_live_active_by_day(user, f, live, today, now, active_now))
    rows = []
    for d in days:
        n, c = calls.get(d, (0, 0))
        rows.append({"day": d, "calls": n, "connected": c,
                     "reach_rate": round(100.0 * c / n, 1) if n else None,
                     "escalations": escalations.get(d, 0),
                     "active": {s.value: active.get(d, {}).get(s.value, 0) for s in Setting}})
    return rows


def _span(f, days):
    return f.with_(date_from=min(days), date_to=max(days))


def _live_calls_by_day(user, f, days):
    span = _span(f, days)
    day_expr = local_day(CallAttempt.created_at)
    rows = db.session.execute(_restrict(
        select(day_expr, func.count(), _count_if(CallAttempt.outcome == Outcome.CONNECTED))
        .where(_in(CallAttempt.created_at, span)).group_by(day_expr), CallAttempt, user, span))
    return {as_date(d): (n, c) for d, n, c in rows if as_date(d) in days}


def _live_escalations_by_day(user, f, days):
    span = _span(f, days)
    esc_day = local_day(Escalation.created_at)
    rows = db.session.execute(_restrict(
        select(esc_day, func.count()).where(_in(Escalation.created_at, span)).group_by(esc_day),
        Escalation, user, span))
    return {as_date(d): n for d, n in rows if as_date(d) in days}


def _live_active_by_day(user, f, days, today, now, active_now=None):
    if active_now is None:
        active_now = active_by_setting(user, f)
    later = [d for d in days if d < today]  # days with admissions/endings after them to undo
    admitted, ended = {}, {}
    if later:
        since = f.with_(date_from=min(later) + timedelta(days=1), date_to=max(today, f.date_to))
        created_day, ended_day = local_day(Patient.created_at), local_day(Patient.ended_at)
        admitted = _by_day_setting(user, f, created_day, _in(Patient.created_at, since))
        ended = _by_day_setting(user, f, ended_day, and_(Patient.status != PatientStatus.ACTIVE,
                                                         _in(Patient.ended_at, since)))
    out = {}
    for d in days:
        out[d] = {}
        for s in Setting:
            later_in = sum(n for (day, st), n in admitted.items() if st == s and day > d)
            later_out = sum(n for (day, st), n in ended.items() if st == s and day > d)
            out[d][s.value] = max(active_now.get(s.value, 0) - later_in + later_out, 0)
    return out


def _by_day_setting(user, f, day_expr, where):
    stmt = select(day_expr, Patient.setting, func.count()).where(where).group_by(day_expr, Patient.setting)
    return {(as_date(d), s): n for d, s, n in db.session.execute(_restrict(stmt, Patient, user, f))}
