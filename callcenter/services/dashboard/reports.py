"""People, trends, breakdowns, geography and the daily summary for the nodal officer (read-only).

All counting is done by the database (GROUP BY with CASE sums); Python only merges a few small grouped
results (one row per volunteer, desk, day, block or village) and computes medians on SQLite.
"""
import statistics
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, select

from ... import scope
from ...clock import local_date, local_tz, utcnow
from ...extensions import db
from ...models import (
    OPEN_ESCALATION_STATUSES,
    Block,
    CallAttempt,
    CallTask,
    CheckIn,
    DailyFigures,
    DailyVolunteerFigures,
    Escalation,
    EscalationStatus,
    Facility,
    Outcome,
    Patient,
    PatientStatus,
    Setting,
    TaskStatus,
    User,
    Village,
    VillageContact,
)
from ..core.tx import is_postgres
from . import daily_figures
from .daily_figures import seconds_between
from .overview import _count_if, _in, _restrict, active_by_setting

TREND_DAYS = 14
GEOGRAPHY_MAX_VILLAGES = 300  # the table shows the villages with most active patients first
SQLITE_MEDIAN_ROWS = 100_000  # bound on the rows fetched to compute a median in Python


def _offset_minutes():
    # India has no daylight saving; the offset of "now" is the offset of every day in the range.
    return int(local_tz().utcoffset(datetime.now()).total_seconds() // 60)


def local_day(col):
    """The call centre's calendar day of a naive-UTC timestamp column, in SQL."""
    minutes = _offset_minutes()
    if is_postgres():
        return func.date(col + timedelta(minutes=minutes))
    return func.date(col, f"{minutes:+d} minutes")


def _as_date(value):
    return value if not isinstance(value, str) else datetime.strptime(value[:10], "%Y-%m-%d").date()


# --- people ----------------------------------------------------------------------------------------

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
        for uid, d, *values in db.session.execute(_restrict_counted(stmt, m, user, f)):
            if _as_date(d) in counted:
                add(week, uid, values)
                if _as_date(d) == f.date_to:
                    add(day, uid, values)
    for span in _runs(live):
        period = f.with_(date_from=span[0], date_to=span[-1])
        for uid, is_last, *values in _live_volunteer_rows(user, period, f.date_to):
            add(week, uid, values)
            if is_last:
                add(day, uid, values)
    names = dict(db.session.execute(select(User.id, User.username).where(User.id.in_(list(week)))).all()) \
        if week else {}
    rows = []
    for uid, w in week.items():
        d = day.get(uid, dict.fromkeys(fields, 0))
        rows.append({"user_id": uid, "username": names.get(uid, "?"),
                     "calls_today": d["calls"], "connected_today": d["connected"], "aht_today": _avg(d),
                     "calls_week": w["calls"], "connected_week": w["connected"], "aht_week": _avg(w),
                     "raised_today": d["raised"], "raised_week": w["raised"]})
    return sorted(rows, key=lambda r: (-r["calls_today"], -r["calls_week"], r["username"]))


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


# --- trends ----------------------------------------------------------------------------------------

def _restrict_counted(stmt, model, user, f):
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
        for d, setting, n, c, e, a in db.session.execute(_restrict_counted(stmt, DailyFigures, user, f)):
            d = _as_date(d)
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
    return {_as_date(d): (n, c) for d, n, c in rows if _as_date(d) in days}


def _live_escalations_by_day(user, f, days):
    span = _span(f, days)
    esc_day = local_day(Escalation.created_at)
    rows = db.session.execute(_restrict(
        select(esc_day, func.count()).where(_in(Escalation.created_at, span)).group_by(esc_day),
        Escalation, user, span))
    return {_as_date(d): n for d, n in rows if _as_date(d) in days}


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
    return {(_as_date(d), s): n for d, s, n in db.session.execute(_restrict(stmt, Patient, user, f))}


# --- geography and breakdowns ----------------------------------------------------------------------

def geography(user, f, now=None):
    """Per village (and totals per block): active patients, open escalations ("open needs"), patients
    unreachable in the period, and the village's contacts."""
    now = now or utcnow()
    active = dict(db.session.execute(_restrict(
        select(Patient.village_id, func.count()).where(Patient.status == PatientStatus.ACTIVE,
                                                       Patient.village_id.is_not(None))
        .group_by(Patient.village_id), Patient, user, f)).all())
    open_needs = dict(db.session.execute(_restrict(
        select(Patient.village_id, func.count()).select_from(Escalation)
        .join(Patient, Patient.id == Escalation.patient_id)
        .where(Escalation.status.in_(OPEN_ESCALATION_STATUSES), Patient.village_id.is_not(None))
        .group_by(Patient.village_id), Escalation, user, f, patient_joined=True)).all())
    unreachable = dict(db.session.execute(_restrict(
        select(Patient.village_id, func.count(func.distinct(CallTask.patient_id))).select_from(CallTask)
        .join(Patient, Patient.id == CallTask.patient_id)
        .where(CallTask.task_date.between(f.date_from, f.date_to), CallTask.status == TaskStatus.UNREACHABLE,
               Patient.village_id.is_not(None))
        .group_by(Patient.village_id), CallTask, user, f, patient_joined=True)).all())
    ids = set(active) | set(open_needs) | set(unreachable)
    ranked = sorted(ids, key=lambda v: (-active.get(v, 0), -open_needs.get(v, 0), v))
    shown = ranked[:GEOGRAPHY_MAX_VILLAGES]
    places = {}
    if ids:  # the villages of the districts in view (no IN list of thousands of ids), names for those shown
        stmt = select(Village.id, Block.id.label("block_id"), Block.name.label("block")).join(
            Block, Block.id == Village.block_id)
        stmt = scope.scoped(stmt, Block, user)
        if f.district_id:
            stmt = stmt.where(Block.district_id == f.district_id)
        if f.block_id:
            stmt = stmt.where(Block.id == f.block_id)
        places = {r.id: r for r in db.session.execute(stmt) if r.id in ids}
        names = dict(db.session.execute(select(Village.id, Village.name).where(Village.id.in_(shown))).all())
    contacts = {}
    if shown:
        for c in db.session.execute(select(VillageContact.village_id, VillageContact.name, VillageContact.role,
                                           VillageContact.phone)
                                    .where(VillageContact.village_id.in_(shown), VillageContact.active.is_(True))
                                    .order_by(VillageContact.id)):
            contacts.setdefault(c.village_id, []).append(c)
    blocks = {}
    for v in ids:
        p = places.get(v)
        if p is None:
            continue
        b = blocks.setdefault(p.block_id, {"block_id": p.block_id, "block": p.block, "active": 0,
                                           "open_needs": 0, "unreachable": 0})
        b["active"] += active.get(v, 0)
        b["open_needs"] += open_needs.get(v, 0)
        b["unreachable"] += unreachable.get(v, 0)
    villages = [{"village_id": v, "village": names[v], "block": places[v].block,
                 "active": active.get(v, 0), "open_needs": open_needs.get(v, 0),
                 "unreachable": unreachable.get(v, 0), "contacts": contacts.get(v, [])}
                for v in shown if v in places]
    return {"blocks": sorted(blocks.values(), key=lambda b: (-b["active"], b["block"])),
            "villages": villages, "villages_total": len(ids)}


def facilities(user, f):
    """Active patients per facility, against its beds."""
    stmt = (select(Facility.id, Facility.name, Facility.kind,
                   (Facility.beds_general + Facility.beds_oxygen + Facility.beds_icu).label("beds"), func.count())
            .select_from(Patient).join(Facility, Facility.id == Patient.facility_id)
            .where(Patient.status == PatientStatus.ACTIVE)
            .group_by(Facility.id, Facility.name, Facility.kind, Facility.beds_general, Facility.beds_oxygen,
                      Facility.beds_icu))
    rows = db.session.execute(_restrict(stmt, Patient, user, f)).all()
    return sorted(({"facility_id": r[0], "facility": r[1], "kind": r[2], "beds": r[3], "active": r[4]}
                   for r in rows), key=lambda r: (-r["active"], r["facility"]))


# --- the daily summary (for the district collector) --------------------------------------------------

DIMENSIONS = ("sex", "block", "setting")
SUMMARY_METRICS = ("active", "new", "discharged", "calls", "connected", "unreachable", "escalations", "checkins")


def _dimension(dim):
    return {"sex": Patient.sex, "setting": Patient.setting, "block": Block.name}[dim]


def _metric(metric, f, now):
    """(model, select_from, extra where, count expression) for one summary metric over the day."""
    if metric == "active":
        return Patient, Patient, [Patient.status == PatientStatus.ACTIVE], func.count()
    if metric == "new":
        return Patient, Patient, [_in(Patient.created_at, f)], func.count()
    if metric == "discharged":
        return Patient, Patient, [Patient.status == PatientStatus.RECOVERED, _in(Patient.ended_at, f)], func.count()
    if metric in ("calls", "connected"):
        where = [_in(CallAttempt.created_at, f)]
        if metric == "connected":
            where.append(CallAttempt.outcome == Outcome.CONNECTED)
        return CallAttempt, CallAttempt, where, func.count()
    if metric == "unreachable":
        return CallTask, CallTask, [CallTask.task_date.between(f.date_from, f.date_to),
                                    CallTask.status == TaskStatus.UNREACHABLE], \
            func.count(func.distinct(CallTask.patient_id))
    if metric == "escalations":
        return Escalation, Escalation, [_in(Escalation.created_at, f)], func.count()
    return CheckIn, CheckIn, [_in(CheckIn.at, f)], func.count()


def daily_summary(user, f, now=None):
    """The day's figures (f.date_to) broken down by sex, block and setting: {dim: {value: {metric: n}}}."""
    now = now or utcnow()
    day = f.with_(date_from=f.date_to)
    out = {}
    for dim in DIMENSIONS:
        table = {}
        col = _dimension(dim)
        for metric in SUMMARY_METRICS:
            model, base, where, count = _metric(metric, day, now)
            stmt = select(col, count).select_from(base)
            if model is not Patient:
                stmt = stmt.join(Patient, Patient.id == model.patient_id)
            if dim == "block":
                stmt = stmt.outerjoin(Village, Village.id == Patient.village_id).outerjoin(
                    Block, Block.id == Village.block_id)
            stmt = _restrict(stmt.where(*where).group_by(col), model, user, day, patient_joined=True)
            for value, n in db.session.execute(stmt):
                table.setdefault(value or "", dict.fromkeys(SUMMARY_METRICS, 0))[metric] = n
        out[dim] = dict(sorted(table.items()))
    return out

