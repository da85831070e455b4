"""Snapshots of the dashboard's default view (today, no filters), counted every minute by a job.

At state scale, counting today live takes 1.4–1.7 s a view (docs/PERFORMANCE.md, "Dashboard and exports"):
hundreds of thousands of the day's tasks, calls and active patients are read on every view and every live
refresh. The view people leave open all day is the default one, so jobs/dashboard_snapshots.py counts it
once a minute for the state and for each district, with the same service functions the live view uses
(`compute`, below, is the only place either path gets its figures), and stores each scope's figures as one
DashboardSnapshot row. The page and its live refresh (callcenter/dashboard/views.py) read the row when the
request is the default view of the user's own scope and the row is fresh (younger than
MAX_AGE_INTERVALS × the job's interval, and counted today); they then say "as of" its time.
Any other view (a district, block, facility or setting, another period) has a row of its own, keyed by the
user's scope and the filters (view_key): its first view is counted live and only notes that someone watches
it; from the job's next pass on it is read from its row like the default view (issue 20: a filtered view
counted live takes 0.5–3 s at state scale). A missing or stale snapshot, or a filtered view not yet counted by
a pass, is counted live exactly as before.

Only what is watched is counted: a row remembers when its view was last opened (viewed_at), and the
job's pass recounts the scopes opened in the last WATCH_MINUTES. The first view of a scope nobody was
watching is counted live (1–2 s at state scale) and stored, and from then on the job keeps it fresh; a
district nobody opens costs nothing.

Trade-off: on the default view a figure may lag by up to a minute (two if a pass was skipped) behind the
list behind it, which is always read live when its link is followed.

The figures are stored as JSON in a tagged form that round-trips what the templates use: dates, datetimes,
Decimals (PostgreSQL sums) and result rows (a village's contacts, as dicts with the same attributes).
"""
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

from flask import current_app
from sqlalchemy import delete, or_, select, update
from sqlalchemy.engine import Row

from ...clock import local_date, utcnow
from ...extensions import db
from ...models import DashboardSnapshot, District, Role
from ..core.tx import dialect_insert, try_pass_lock
from . import breaches as dashboard_breaches
from . import geography as dashboard_geography
from . import overview as dashboard
from . import people as dashboard_people
from . import trends as dashboard_trends

VERSION = 3  # of the payload's layout: a snapshot of another version is ignored (counted live)
STATE = "state"
PASS_LOCK = 0x53414D44  # PostgreSQL advisory lock: one snapshot pass at a time ("SAMD")
WATCH_MINUTES = 15  # a scope is recounted while its view was opened within this many minutes
TOUCH_SECONDS = 60  # viewed_at is written at most this often per scope (not on every refresh of every page)
MAX_AGE_INTERVALS = 2  # a snapshot older than this many of the job's intervals is stale (one pass may be skipped)
FILTERED_PER_PASS = 20  # filtered views recounted per pass (the most recently opened); others are counted live
NOT_COUNTED = datetime(2000, 1, 1)  # computed_at of a filtered view's row before its first pass (a watch only)
PARTS = ("figures", "trend", "geo", "facilities", "people", "desks", "breaches")


def scope_key(district_id):
    """The snapshot of a user's scope: the state for a state-level officer, else their district."""
    return STATE if district_id is None else f"district:{district_id}"


def view_key(user, f, now):
    """The snapshot row a view reads: its scope (scope_key) for the default view; for any other view, the scope
    and the filters ("district:3|2026-12-01|2026-12-05|3|17||")."""
    if f == dashboard.Filters.today(now):
        return scope_key(user.district_id)
    values = (f.date_from.isoformat(), f.date_to.isoformat(), f.district_id, f.block_id, f.setting, f.facility_id)
    return "|".join([scope_key(user.district_id)] + ["" if v is None else str(v) for v in values])


def _parse(key):
    """(the scope's district id, its Filters or None for the default view) of a row's key; ValueError if it is
    not one view_key makes."""
    scope, sep, rest = key.partition("|")
    district_id = _district_of(scope)
    if not sep:
        return district_id, None
    date_from, date_to, district, block, setting, facility = rest.split("|")
    number = lambda v: int(v) if v else None  # noqa: E731
    return district_id, dashboard.Filters(date.fromisoformat(date_from), date.fromisoformat(date_to),
                                          number(district), number(block), setting or None, number(facility))


def compute(user, f, now):
    """The dashboard's figures for `user` and the filters `f`: the live view and the job both count here."""
    figures = dashboard.overview(user, f, now)
    return {
        "figures": figures,
        "trend": dashboard_trends.trends(user, f, now, active_now=figures["active"]),
        "geo": dashboard_geography.geography(user, f, now),
        "facilities": dashboard_geography.facilities(user, f),
        "people": dashboard_people.volunteers_table(user, f, now),
        "desks": dashboard_people.desks_table(user, f),
        # Escalations past their deadline now: flagged and alerted by a job that runs every minute itself.
        "breaches": dashboard_breaches.summary(user, f, now),
    }


# --- the payload: JSON that round-trips dates, datetimes, Decimals and rows -------------------------

TAG = "$t"


def encode(value):
    if isinstance(value, datetime):  # before date: a datetime is a date
        return {TAG: "dt", "v": value.isoformat()}
    if isinstance(value, date):
        return {TAG: "d", "v": value.isoformat()}
    if isinstance(value, Decimal):
        return {TAG: "dec", "v": str(value)}
    if isinstance(value, Row):
        return {TAG: "row", "v": encode(dict(value._mapping))}
    if isinstance(value, dict):
        if any(not isinstance(k, str) for k in value) or TAG in value:
            raise TypeError(f"snapshot dict keys must be strings (and not {TAG!r}): {list(value)[:5]}")
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot keep {type(value).__name__} in a dashboard snapshot")


def decode(value):
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    tag = value.get(TAG)
    if tag == "dt":
        return datetime.fromisoformat(value["v"])
    if tag == "d":
        return date.fromisoformat(value["v"])
    if tag == "dec":
        return Decimal(value["v"])
    if tag == "row":
        return decode(value["v"])
    return {k: decode(v) for k, v in value.items()}


# --- the job's pass --------------------------------------------------------------------------------

def _officer(district_id):
    """Who the figures are counted for: only the district matters to scope.py."""
    return SimpleNamespace(id=None, district_id=district_id, role=Role.NODAL_OFFICER)



def _upsert(scope, now, payload, viewed_at=None):
    """Insert or overwrite the scope's row, unless it already holds a later count. viewed_at is written only
    when given (a view storing its own count), never cleared by the job."""
    table = DashboardSnapshot.__table__
    stmt = dialect_insert(table).values(scope=scope, computed_at=now, payload=payload, viewed_at=viewed_at)
    changes = {"computed_at": stmt.excluded.computed_at, "payload": stmt.excluded.payload}
    if viewed_at is not None:
        changes["viewed_at"] = stmt.excluded.viewed_at
    stmt = stmt.on_conflict_do_update(index_elements=[table.c.scope], set_=changes,
                                      where=table.c.computed_at <= stmt.excluded.computed_at)
    db.session.execute(stmt)


def _district_of(key):
    return None if key == STATE else int(key.split(":", 1)[1])


def refresh(now=None, watched_only=False):
    """One pass: count the default view and store it, for the state and each district, or with
    `watched_only` (the scheduled job) only for the scopes someone opened in the last WATCH_MINUTES. Commits.

    Everything is counted first and written at the end, in one transaction (so the rows are locked only
    for the writes); a district no longer in the database, or a scope nobody watches any more, loses its row.
    Returns {"scopes": rows written, "seconds": {scope: counting time}} or, when another pass holds the lock,
    {"scopes": 0, "skipped": …}."""
    now = now or utcnow()
    try:
        if not try_pass_lock(PASS_LOCK):
            db.session.rollback()
            return {"scopes": 0, "skipped": "another pass is running"}
        today = dashboard.Filters.today(now)
        districts = set(db.session.scalars(select(District.id)))
        recent = DashboardSnapshot.viewed_at >= now - timedelta(minutes=WATCH_MINUTES)
        watched = db.session.scalars(select(DashboardSnapshot.scope).where(recent)
                                     .order_by(DashboardSnapshot.viewed_at.desc(), DashboardSnapshot.scope)).all()
        if watched_only:
            keys = sorted(key for key in watched if "|" not in key)
        else:
            keys = [STATE] + [scope_key(i) for i in sorted(districts)]
        keys += [key for key in watched if "|" in key]  # filtered views, the most recently opened first
        scopes, filtered = [], 0
        for key in keys:
            try:
                district_id, f = _parse(key)
            except ValueError:
                continue
            if district_id is not None and district_id not in districts:
                continue
            if f is not None:  # a filtered view, within the pass's share
                if filtered >= FILTERED_PER_PASS:
                    continue
                filtered += 1
            scopes.append((key, district_id, f or today))
        payloads, seconds = {}, {}
        for key, district_id, f in scopes:
            t0 = time.perf_counter()
            payloads[key] = {"version": VERSION, "day": f.date_to.isoformat(),
                             "parts": encode(compute(_officer(district_id), f, now))}
            seconds[key] = round(time.perf_counter() - t0, 3)
        for key, payload in payloads.items():
            _upsert(key, now, payload)
        if watched_only:  # a scope nobody has opened for a while (a view stores it again when it is opened)
            gone = or_(DashboardSnapshot.viewed_at.is_(None),
                       DashboardSnapshot.viewed_at < now - timedelta(minutes=WATCH_MINUTES))
        else:  # a district that no longer exists
            gone = DashboardSnapshot.scope.not_in(list(payloads))
        db.session.execute(delete(DashboardSnapshot).where(gone))
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return {"scopes": len(payloads), "seconds": seconds}


# --- reading a snapshot for a view -----------------------------------------------------------------

def max_age():
    return timedelta(seconds=current_app.config["DASHBOARD_SNAPSHOT_INTERVAL_SECONDS"] * MAX_AGE_INTERVALS)


def remember(user, f, parts, now):
    """Store a default view just counted live, as its scope's snapshot, and note that someone watches it
    (the job keeps it fresh from now on). A filtered view is only noted as watched: the job's next pass counts
    it (its figures are not stored from here, so two filtered views read within a pass's minute are both
    live). Commits."""
    key = view_key(user, f, now)
    try:
        if "|" in key:
            _watch(key, now)
        else:
            payload = {"version": VERSION, "day": f.date_to.isoformat(), "parts": encode(parts)}
            _upsert(key, now, payload, viewed_at=now)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def _watch(key, now):
    """A filtered view's row, not counted yet, or its viewed_at brought up to now."""
    table = DashboardSnapshot.__table__
    stmt = dialect_insert(table).values(scope=key, computed_at=NOT_COUNTED, payload={}, viewed_at=now)
    db.session.execute(stmt.on_conflict_do_update(index_elements=[table.c.scope],
                                                  set_={"viewed_at": stmt.excluded.viewed_at}))


def _touch(scope, viewed_at, now):
    """Note that the scope is still watched (at most every TOUCH_SECONDS)."""
    if viewed_at is not None and now - viewed_at < timedelta(seconds=TOUCH_SECONDS):
        return
    db.session.execute(update(DashboardSnapshot).where(DashboardSnapshot.scope == scope).values(viewed_at=now))
    db.session.commit()


def for_view(user, f, now):
    """The parts of `compute` for this view from its snapshot, with "computed_at", or None (count live).

    The default view (today, no filters) of the user's own scope (scope_key), or a filtered view that a pass
    has counted (view_key), is read from its row, and only from a row counted the same local day, of this
    payload version, younger than max_age()."""
    scope = view_key(user, f, now)
    row = db.session.execute(select(DashboardSnapshot.computed_at, DashboardSnapshot.payload,
                                    DashboardSnapshot.viewed_at)
                             .where(DashboardSnapshot.scope == scope)).first()
    if row is None or now - row.computed_at > max_age() or row.computed_at > now + max_age():
        return None
    payload = row.payload or {}
    if payload.get("version") != VERSION or payload.get("day") != f.date_to.isoformat() \
            or local_date(row.computed_at) != local_date(now):
        return None
    parts = decode(payload["parts"])
    if set(parts) != set(PARTS):
        return None
    _touch(scope, row.viewed_at, now)
    parts["computed_at"] = row.computed_at
    return parts
