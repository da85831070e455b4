"""The dashboard's people: per volunteer (calls, connected, handling time, escalations raised) and per desk
(handled, open, median times to acknowledge and resolve). Read-only; the database counts, and on SQLite
Python takes the medians."""
import statistics
from datetime import timedelta

from sqlalchemy import case, func, select

from ...clock import local_date, utcnow
from ...extensions import db
from ...models import (
    OPEN_ESCALATION_STATUSES,
    CallAttempt,
    DailyVolunteerFigures,
    Escalation,
    EscalationStatus,
    Outcome,
    User,
)
from ..core.tx import is_postgres
from . import daily_figures
from .daily_figures import seconds_between
from .overview import _count_if, _in, _restrict, display_name
from .trends import as_date, restrict_counted

SQLITE_MEDIAN_ROWS = 100_000  # bound on the rows fetched to compute a median in Python


def volunteers_table(user, f, now=None):
    """Per volunteer, for f.date_to and the 7 days ending then: calls, connected, average handling
    time (attempt recorded − call started), escalations raised.

    Closed days of the week counted by jobs/daily_figures.py come from DailyVolunteerFigures (not with a
    facility filter, which that table does not carry); the rest is counted live."""
    now = now or utcnow()
    week_days = [f.date_to - timedelta(days=i) for i in range(6, -1, -1)]
    today = local_date(now)
    counted = set() if f.facility_id else daily_figures.counted_days(
        week_days[0], min(f.date_to, today - timedelta(days=1)))
    live = [d for d in week_days if d not in counted]
    fields = ("calls", "connected", "timed", "seconds", "raised")
    week, day = {}, {}  # user id -> {field: n}

    def add(into, uid, values):
        row = into.setdefault(uid, dict.fromkeys(fields, 0))
        for k, v in zip(fields, values, strict=True):
            row[k] += v or 0

    if counted:
        m = DailyVolunteerFigures
        stmt = (select(m.user_id, m.day, func.sum(m.calls), func.sum(m.connected), func.sum(m.timed_calls),
                       func.sum(m.handling_seconds), func.sum(m.raised))
                .where(m.day.between(min(counted), max(counted))).group_by(m.user_id, m.day))
        for uid, d, *values in db.session.execute(restrict_counted(stmt, m, user, f)):
            if as_date(d) in counted:
                add(week, uid, values)
                if as_date(d) == f.date_to:
                    add(day, uid, values)
    for span in _runs(live):
        period = f.with_(date_from=span[0], date_to=span[-1])
        for uid, is_last, *values in _live_volunteer_rows(user, period, f.date_to):
            add(week, uid, values)
            if is_last:
                add(day, uid, values)
    names = {uid: (username, display_name(full, username), district) for uid, username, full, district in
             db.session.execute(select(User.id, User.username, User.full_name, User.district_id)
                                .where(User.id.in_(list(week))))} if week else {}
    rows = []
    for uid, w in week.items():
        d = day.get(uid, dict.fromkeys(fields, 0))
        username, name, district = names.get(uid, ("?", "?", None))
        rows.append({"user_id": uid, "username": username, "name": name, "district_id": district,
                     "timed_today": d["timed"], "timed_week": w["timed"],
                     "calls_today": d["calls"], "connected_today": d["connected"], "aht_today": _avg(d),
                     "calls_week": w["calls"], "connected_week": w["connected"], "aht_week": _avg(w),
                     "raised_today": d["raised"], "raised_week": w["raised"]})
    return sorted(rows, key=lambda r: (-r["calls_today"], -r["calls_week"], r["name"].casefold()))


def by_district(rows, names):
    """The volunteers' rows summed per volunteer's district (the state's view: a row per district, its
    volunteers a click away); handling time averaged over the timed calls. `names`: {district id: name}."""
    counts = ("calls_today", "connected_today", "raised_today", "calls_week", "connected_week", "raised_week",
              "timed_today", "timed_week")
    out = {}
    for r in rows:
        d = out.setdefault(r["district_id"], dict.fromkeys(counts, 0) | {
            "district_id": r["district_id"], "district": names.get(r["district_id"], "–"), "volunteers": 0,
            "seconds_today": 0, "seconds_week": 0})
        d["volunteers"] += 1
        for key in counts:
            d[key] += r[key]
        d["seconds_today"] += (r["aht_today"] or 0) * r["timed_today"]
        d["seconds_week"] += (r["aht_week"] or 0) * r["timed_week"]
    for d in out.values():
        d["aht_today"] = round(d["seconds_today"] / d["timed_today"]) if d["timed_today"] else None
        d["aht_week"] = round(d["seconds_week"] / d["timed_week"]) if d["timed_week"] else None
    return sorted(out.values(), key=lambda d: (-d["calls_today"], -d["calls_week"], d["district"]))


def _avg(row):
    return round(row["seconds"] / row["timed"]) if row["timed"] else None


def _runs(days):
    """Consecutive runs of sorted days: [d1, d2, d4] -> [[d1, d2], [d4]]."""
    runs = []
    for d in days:
        if runs and d - runs[-1][-1] == timedelta(days=1):
            runs[-1].append(d)
        else:
            runs.append([d])
    return runs


def _live_volunteer_rows(user, period, last_day):
    """(user id, is `last_day`, calls, connected, timed calls, handling seconds, raised) counted live:
    calls per volunteer and local day over the period (index-only on ix_call_attempt_day unless a
    place filter needs the patient), escalations they raised."""
    connected = CallAttempt.outcome == Outcome.CONNECTED
    timed = CallAttempt.started_at.is_not(None)
    on_last = _in(CallAttempt.created_at, period.with_(date_from=last_day, date_to=last_day))
    stmt = (select(CallAttempt.user_id, on_last.label("last"), func.count(), _count_if(connected), _count_if(timed),
                   func.sum(case((timed, seconds_between(CallAttempt.created_at, CallAttempt.started_at)))))
            .where(_in(CallAttempt.created_at, period)).group_by(CallAttempt.user_id, on_last))
    out = [(uid, bool(last), n, c, t, float(secs or 0), 0)
           for uid, last, n, c, t, secs in db.session.execute(_restrict(stmt, CallAttempt, user, period))]
    esc_last = _in(Escalation.created_at, period.with_(date_from=last_day, date_to=last_day))
    stmt = (select(Escalation.created_by_id, esc_last.label("last"), func.count())
            .where(_in(Escalation.created_at, period), Escalation.created_by_id.is_not(None))
            .group_by(Escalation.created_by_id, esc_last))
    out += [(uid, bool(last), 0, 0, 0, 0.0, n)
            for uid, last, n in db.session.execute(_restrict(stmt, Escalation, user, period))]
    return out


def _round(v):
    return None if v is None else round(float(v))


def desks_table(user, f):
    """Per desk over the period: escalations handled (closed) and median seconds to acknowledge and to resolve.

    Medians: percentile_cont(0.5) on PostgreSQL; on SQLite the durations (at most SQLITE_MEDIAN_ROWS per
    measure) are fetched and the median taken in Python.
    """
    handled = dict(db.session.execute(_restrict(
        select(Escalation.desk, func.count())
        .where(Escalation.status.in_((EscalationStatus.RESOLVED, EscalationStatus.CANCELLED)),
               _in(Escalation.closed_at, f)).group_by(Escalation.desk), Escalation, user, f)).all())
    ack = _median_by_desk(user, f, Escalation.acknowledged_at, Escalation.acknowledged_at.is_not(None))
    res = _median_by_desk(user, f, Escalation.closed_at, Escalation.status == EscalationStatus.RESOLVED)
    opened = dict(db.session.execute(_restrict(
        select(Escalation.desk, func.count()).where(Escalation.status.in_(OPEN_ESCALATION_STATUSES))
        .group_by(Escalation.desk), Escalation, user, f)).all())
    desks = sorted(set(handled) | set(ack) | set(res) | set(opened))
    return [{"desk": d, "handled": handled.get(d, 0), "open": opened.get(d, 0),
             "median_ack": ack.get(d), "median_resolve": res.get(d)} for d in desks]


def _median_by_desk(user, f, end_col, cond):
    secs = seconds_between(end_col, Escalation.created_at)
    where = (cond, _in(end_col, f))
    if is_postgres():
        stmt = (select(Escalation.desk, func.percentile_cont(0.5).within_group(secs))
                .where(*where).group_by(Escalation.desk))
        return {d: _round(v) for d, v in db.session.execute(_restrict(stmt, Escalation, user, f))}
    stmt = select(Escalation.desk, secs).where(*where).limit(SQLITE_MEDIAN_ROWS)
    values = {}
    for desk, s in db.session.execute(_restrict(stmt, Escalation, user, f)):
        values.setdefault(desk, []).append(float(s))
    return {d: round(statistics.median(v)) for d, v in values.items()}
