"""The nodal officer's dashboard at state scale: server time of the dashboard and of each export.

    .venv/bin/python -m bench.dashboard --url postgresql://postgres@127.0.0.1:5432/sampark_bench_300k

Uses a data set made by `python -m bench` (bench/generate.py). The data set's last day of calls is taken
as "today" (the clock is set to 15:00 local that day): the day is counted live, as on the real dashboard,
and the closed days before it are first counted by the daily figures job (jobs/daily_figures.py, timed
and reported; `--no-job` skips it, so every day is counted live). The dashboard's tables and indexes are
created first if the data set predates them.

Times the dashboard page as the view builds it (every service call + the template render, in a request
context, state-level officer: the largest view; `--district N` also a district officer), each part on
its own, and streams each export to nowhere, reporting seconds and peak Python memory.
"""
import argparse
import resource
import statistics
import time
import tracemalloc
from datetime import date, datetime
from datetime import time as dtime

from flask import render_template
from flask_login import login_user
from werkzeug.routing import BuildError

from callcenter.models import User

from .databases import normalized


def _rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _ensure_schema(db):
    """The dashboard's tables and indexes, on a data set generated before they existed."""
    db.create_all()
    for table in db.metadata.tables.values():
        for index in table.indexes:
            index.create(db.engine, checkfirst=True)


def _parts(dashboard, dashboard_trends, dashboard_geography, dashboard_people, user, f, now):
    return (("overview", lambda: dashboard.overview(user, f, now)),
            ("trends", lambda: dashboard_trends.trends(user, f, now)),
            ("geography", lambda: dashboard_geography.geography(user, f, now)),
            ("facilities", lambda: dashboard_geography.facilities(user, f)),
            ("volunteers", lambda: dashboard_people.volunteers_table(user, f, now)),
            ("desks", lambda: dashboard_people.desks_table(user, f)))


def _time_snapshots(app, db, dashboard_snapshots, views, officers, day, now, runs, rows):
    """The snapshot job's pass (jobs/dashboard_snapshots.py: the state and every district), then the page's
    server time when the default view reads that fresh snapshot (filters, the snapshot's row, the live parts
    that are not snapshotted: breaches, holders, pauses; and the render)."""
    with app.app_context():
        t0 = time.perf_counter()
        details = dashboard_snapshots.refresh(now=now)
        rows.append(("snapshot job pass (state + every district)", time.perf_counter() - t0, None, None,
                     details["scopes"]))
        slowest = sorted(details["seconds"].items(), key=lambda kv: -kv[1])
        print("snapshot pass, seconds per scope (slowest first):", slowest[:5], "state:", details["seconds"]["state"])
        db.session.remove()
    for label, district_id in officers:
        user = User(id=10**9, username="bench", role="admin", district_id=district_id, language="en", active=True)
        times, renders, html = [], [], ""
        for _ in range(runs):
            with app.test_request_context("/dashboard/"):  # the default view: today, no filters
                login_user(user)
                t0 = time.perf_counter()
                context = views.index_context()
                times.append(time.perf_counter() - t0)
                assert context["snapshot_at"] == now, "the snapshot was not used"
                try:
                    html = render_template("dashboard/index.html", **context)
                    renders.append(time.perf_counter() - t0)
                except BuildError:
                    pass
                db.session.remove()
        rows.append((f"dashboard from snapshot, queries ({label})", statistics.median(times), min(times), None, 0))
        if renders:
            rows.append((f"dashboard from snapshot, +render ({label})", statistics.median(renders), min(renders),
                         None, len(html)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--day", help="the data set's day (YYYY-MM-DD); default: its latest task day")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--district", type=int, help="also time a district officer of this district id")
    parser.add_argument("--no-job", action="store_true", help="do not run the daily figures job first")
    parser.add_argument("--no-exports", action="store_true")
    parser.add_argument("--no-live", action="store_true", help="skip the live (no snapshot) page timings")
    parser.add_argument("--no-snapshots", action="store_true", help="skip the snapshot job and the snapshot path")
    args = parser.parse_args(argv)

    from sqlalchemy import func, select

    from callcenter import create_app
    from callcenter.clock import local_to_utc
    from callcenter.dashboard import views
    from callcenter.extensions import db
    from callcenter.models import CallTask, DailyFiguresDay, DashboardSnapshot
    from callcenter.services.dashboard import daily_figures
    from callcenter.services.dashboard import export as dashboard_export
    from callcenter.services.dashboard import geography as dashboard_geography
    from callcenter.services.dashboard import overview as dashboard
    from callcenter.services.dashboard import people as dashboard_people
    from callcenter.services.dashboard import snapshots as dashboard_snapshots
    from callcenter.services.dashboard import trends as dashboard_trends
    from callcenter.services.dashboard.overview import Filters

    app = create_app(SQLALCHEMY_DATABASE_URI=str(normalized(args.url).render_as_string(hide_password=False)))
    rows = []
    with app.app_context():
        _ensure_schema(db)
        day = date.fromisoformat(args.day) if args.day else db.session.scalar(select(func.max(CallTask.task_date)))
        now = local_to_utc(datetime.combine(day, dtime(15)))
        db.session.execute(db.delete(DailyFiguresDay).where(DailyFiguresDay.day >= day))  # "today" is live
        db.session.commit()
        if not args.no_job:
            t0 = time.perf_counter()
            written = sum(daily_figures.count_day(d, now=now) for d in daily_figures.days_to_count(now, recount=0))
            rows.append(("daily figures job (closed days not yet counted)", time.perf_counter() - t0, None, None,
                         written))
        else:
            db.session.execute(db.delete(DailyFiguresDay))
            db.session.commit()
        db.session.remove()
    views.utcnow = lambda: now  # the view's clock: 15:00 on the data set's day
    views.local_date = lambda *_: day  # … and its "today" (the default view's date)
    officers = [("state", None)] + ([("district", args.district)] if args.district else [])
    with app.app_context():  # no snapshot: the live path is timed first
        db.session.execute(db.delete(DashboardSnapshot))
        db.session.commit()
        db.session.remove()
    for label, district_id in ([] if args.no_live else officers):
        user = User(id=10**9, username="bench", role="admin", district_id=district_id, language="en", active=True)
        qs = f"/dashboard/?date_from={day}&date_to={day}"
        times, renders, html = [], [], ""
        parts = {}
        for _ in range(args.runs):
            with app.test_request_context(qs):
                login_user(user)
                t0 = time.perf_counter()
                context = views.index_context()  # the real view's work: filters and every query
                times.append(time.perf_counter() - t0)
                try:
                    html = render_template("dashboard/index.html", **context)
                    renders.append(time.perf_counter() - t0)
                except BuildError:  # another blueprint's link missing while it is being built
                    pass
                db.session.remove()
            with app.test_request_context(qs):
                login_user(user)
                f = Filters(date_from=day, date_to=day)
                parts_of = _parts(dashboard, dashboard_trends, dashboard_geography, dashboard_people, user, f, now)
                for name, fn in parts_of:
                    t0 = time.perf_counter()
                    fn()
                    parts.setdefault(name, []).append(time.perf_counter() - t0)
                db.session.remove()
        rows.append((f"dashboard queries ({label})", statistics.median(times), min(times), None, 0))
        if renders:
            rows.append((f"dashboard queries+render ({label})", statistics.median(renders), min(renders), None,
                         len(html)))
        for name, values in parts.items():
            rows.append((f"  {name} ({label})", statistics.median(values), min(values), None, 0))
        if args.no_exports:
            continue
        f = Filters(date_from=day, date_to=day, district_id=None)
        for kind, which, fmt in (("tasks", "due", "csv"), ("patients", "active", "csv"), ("calls", "all", "csv"),
                                 ("tasks", "due", "xlsx"), ("patients", "active", "xlsx")):
            with app.test_request_context("/"):
                login_user(user)
                tracemalloc.start()
                t0 = time.perf_counter()
                size = 0
                make = dashboard_export.csv_chunks if fmt == "csv" else dashboard_export.xlsx_chunks
                for chunk in make(kind, user, f, which=which, now=now):
                    size += len(chunk)
                seconds = time.perf_counter() - t0
                peak = tracemalloc.get_traced_memory()[1] / 2**20
                tracemalloc.stop()
                db.session.remove()
            rows.append((f"export {kind}/{which}.{fmt} ({label})", seconds, seconds, peak, size))
    if not args.no_snapshots:
        _time_snapshots(app, db, dashboard_snapshots, views, officers, day, now, args.runs, rows)
    print(f"{'what':52} {'median s':>9} {'min s':>7} {'py peak MiB':>12} {'bytes/rows':>12}")
    for what, med, low, peak, size in rows:
        low = low if low is not None else float("nan")
        print(f"{what:52} {med:9.3f} {low:7.3f} {peak if peak is not None else float('nan'):12.1f} {size:12,}")
    print(f"max RSS {_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
