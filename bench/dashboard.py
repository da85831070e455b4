"""The nodal officer's dashboard at state scale: every view as a user gets it (from its snapshot) and counted live.

    .venv/bin/python -m bench.dashboard --url postgresql://postgres@127.0.0.1:5432/h20live_bench
    .venv/bin/python -m bench.dashboard --url sqlite:///bench/out/x_bench.db --repeat 3 --exports

Uses a data set made by `python -m bench.generate`. Its last day of calls is "today" (the clock is set to
15:00 local that day); the closed days before it are first counted by the daily figures job
(jobs/daily_figures.py) if they are not yet, as on a real server.

Each view is timed as a request builds it: the view's context (filters, every query, the view record) and
the template's render, in a request context, twice a repetition:
- live: the dashboard's snapshot rows are deleted first (a view nobody watched yet, or one ending another day);
  the timing checks that no snapshot was read;
- from its snapshot: each view is opened once (which makes it watched), the snapshot job's pass runs
  (services/dashboard/snapshots.py refresh, timed per view), then the view is timed and must have read its row.
The reference, in the same run, is the state's default view read from its snapshot.

`rows(url, repeat=3)` is what a runner calls (bench/web.py --all); it returns a list of dicts:

    {"what": str,                     # the view, and how it was served
     "unit": "s" | "KB",
     "served": "snapshot" | "live" | "job",
     "now": [float, ...],             # one value per repetition
     "reference": [float, ...] | None,  # the snapshot view's seconds, same run; None for the pass and the weight
     "target": str}                   # e.g. "< 0.3 s", "< 150 KB"

`--exports` also streams each export to nowhere (seconds, peak Python memory), as before.
"""
import argparse
import statistics
import time
import tracemalloc
from datetime import datetime, timedelta
from datetime import time as dtime

from flask import render_template
from flask_login import login_user

from .databases import make_app

TARGET_SECONDS = "< 0.3 s"
TARGET_KB = "< 150 KB"


def _user(district_id=None):
    from callcenter.models import User
    return User(id=10**9, username="bench", role="admin", district_id=district_id, language="en", active=True)


def _setup(app):
    """(day, now, a district id, a block id): the data set's last day, counted closed days, the view's clock."""
    from sqlalchemy import func, select

    from callcenter.clock import local_to_utc
    from callcenter.dashboard import views
    from callcenter.extensions import db
    from callcenter.models import Block, CallTask, DailyFiguresDay, Patient, PatientStatus
    from callcenter.services.dashboard import daily_figures

    with app.app_context():
        day = db.session.scalar(select(func.max(CallTask.task_date)))
        now = local_to_utc(datetime.combine(day, dtime(15)))
        db.session.execute(db.delete(DailyFiguresDay).where(DailyFiguresDay.day >= day))  # "today" is live
        db.session.commit()
        t0 = time.perf_counter()
        written = sum(daily_figures.count_day(d, now=now) for d in daily_figures.days_to_count(now, recount=0))
        if written:
            print(f"daily figures job: {written:,} rows in {time.perf_counter() - t0:.1f} s")
        # The district with most active patients, and its first block.
        district = db.session.scalar(select(Patient.district_id).where(Patient.status == PatientStatus.ACTIVE)
                                     .group_by(Patient.district_id).order_by(func.count().desc()).limit(1))
        block = db.session.scalar(select(func.min(Block.id)).where(Block.district_id == district))
        db.session.remove()
    views.utcnow = lambda: now  # the view's clock: 15:00 on the data set's day
    views.local_date = lambda *_: day  # … and its "today" (the default view's date)
    return day, now, district, block


def _forget_snapshots(app):
    from callcenter.extensions import db
    from callcenter.models import DashboardSnapshot
    with app.app_context():
        db.session.execute(db.delete(DashboardSnapshot))
        db.session.commit()
        db.session.remove()


def _page(app, path, user, snapshot):
    """Seconds to build and render the dashboard at `path` for `user`, and the HTML. `snapshot`: the view
    must (True) or must not (False) have been read from a snapshot."""
    from callcenter.dashboard import views
    from callcenter.extensions import db
    with app.test_request_context(path):
        login_user(user)
        t0 = time.perf_counter()
        context = views.index_context()
        html = render_template("dashboard/index.html", **context)
        seconds = time.perf_counter() - t0
        db.session.remove()
    assert (context["snapshot_at"] is not None) == snapshot, f"{path}: snapshot read = {not snapshot}"
    return seconds, html


def _figures(app, path, user, snapshot):
    from callcenter.dashboard import views
    from callcenter.extensions import db
    with app.test_request_context(path, headers={"Accept": "application/json"}):
        login_user(user)
        t0 = time.perf_counter()
        response = views.figures_json()
        seconds = time.perf_counter() - t0
        db.session.remove()
    assert response.get_json()["snapshot"] is snapshot, f"{path}: snapshot read = {not snapshot}"
    return seconds


def _facility(app, district):
    """The facility of the district with most active patients."""
    from sqlalchemy import func, select

    from callcenter.extensions import db
    from callcenter.models import Patient, PatientStatus
    with app.app_context():
        facility = db.session.scalar(select(Patient.facility_id).where(
            Patient.status == PatientStatus.ACTIVE, Patient.district_id == district, Patient.facility_id.is_not(None))
            .group_by(Patient.facility_id).order_by(func.count().desc()).limit(1))
        db.session.remove()
    return facility


def _pass(app, now):
    """The snapshot job's pass over the watched views: {row key: seconds of counting}."""
    from callcenter.extensions import db
    from callcenter.services.dashboard import snapshots
    with app.app_context():
        done = snapshots.refresh(now=now, watched_only=True)
        db.session.remove()
    return done["seconds"]


def rows(url, repeat=3):
    """Every dashboard view as a user gets it (from its snapshot, the snapshot job's pass having run) and counted
    live (its first view, or one the job does not keep), the state's default view from its snapshot as
    reference, and the state page's weight (see the module's docstring for the shape)."""
    app = make_app(url)
    day, now, district, block = _setup(app)
    facility = _facility(app, district)
    today = f"date_from={day}&date_to={day}"
    week = f"date_from={day - timedelta(days=6)}&date_to={day}"
    yesterday = f"date_from={day - timedelta(days=1)}&date_to={day - timedelta(days=1)}"
    state, officer = _user(), _user(district)
    views = {  # what: (path, user, figures.json?)
        "state, today (default view)": (f"/dashboard/?{today}", state, False),
        "district officer, today": (f"/dashboard/?{today}", officer, False),
        "state filtered to a district": (f"/dashboard/?{today}&district={district}", state, False),
        "state, a block": (f"/dashboard/?{today}&block={block}", state, False),
        "state, a facility": (f"/dashboard/?{today}&facility={facility}", state, False),
        "state, 7 days + a block": (f"/dashboard/?{week}&block={block}", state, False),
        "state, yesterday + a block": (f"/dashboard/?{yesterday}&block={block}", state, False),
        "figures.json, state": (f"/dashboard/figures.json?{today}", state, True),
        "figures.json, a block": (f"/dashboard/figures.json?{today}&block={block}", state, True),
    }

    def timed(path, user, is_json, snapshot):
        if is_json:
            return _figures(app, path, user, snapshot), None
        return _page(app, path, user, snapshot)

    live = {what: [] for what in views}
    served = {what: [] for what in views}
    reference, weight, passes = [], [], []
    _forget_snapshots(app)
    _page(app, f"/dashboard/?{today}", state, snapshot=False)  # warm: caches, the first connection
    for _ in range(repeat):
        for what, (path, user, is_json) in views.items():  # live: no row to read
            _forget_snapshots(app)
            live[what].append(timed(path, user, is_json, snapshot=False)[0])
        _forget_snapshots(app)
        for path, user, is_json in views.values():  # each view opened once: watched (a default view stored)
            if not is_json:
                _page(app, path, user, snapshot=False)
        passes.append(_pass(app, now))  # the job's pass counts every watched view
        for what, (path, user, is_json) in views.items():
            seconds, html = timed(path, user, is_json, snapshot=True)
            served[what].append(seconds)
            if html is not None and what.startswith("state, today"):
                weight.append(len(html.encode()) / 1024)
        reference.append(_page(app, f"/dashboard/?{today}", state, snapshot=True)[0])
    out = []
    for what in views:
        out.append({"what": f"dashboard {what}, from its snapshot", "unit": "s", "served": "snapshot",
                    "now": served[what], "reference": reference, "target": TARGET_SECONDS})
        out.append({"what": f"dashboard {what}, live", "unit": "s", "served": "live",
                    "now": live[what], "reference": reference, "target": TARGET_SECONDS})
    out.append({"what": "snapshot pass over the watched views", "unit": "s", "served": "job",
                "now": [sum(p.values()) for p in passes], "reference": None, "target": "< 60 s (its interval)"})
    for key in passes[0]:
        out.append({"what": f"  pass: {key}", "unit": "s", "served": "job",
                    "now": [p.get(key, 0.0) for p in passes], "reference": None, "target": ""})
    out.append({"what": "dashboard page weight, state view (KB)", "unit": "KB", "served": "snapshot",
                "now": weight, "reference": None, "target": TARGET_KB})
    return out


def _exports(url):
    from callcenter.extensions import db
    from callcenter.services.dashboard import export as dashboard_export
    from callcenter.services.dashboard.overview import Filters
    app = make_app(url)
    day, now, _district, _block = _setup(app)
    f = Filters(date_from=day, date_to=day)
    for kind, which, fmt in (("tasks", "due", "csv"), ("patients", "active", "csv"), ("calls", "all", "csv"),
                             ("tasks", "due", "xlsx"), ("patients", "active", "xlsx")):
        with app.test_request_context("/"):
            login_user(_user())
            tracemalloc.start()
            t0 = time.perf_counter()
            make = dashboard_export.csv_chunks if fmt == "csv" else dashboard_export.xlsx_chunks
            size = sum(len(chunk) for chunk in make(kind, _user(), f, which=which, now=now))
            seconds = time.perf_counter() - t0
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            db.session.remove()
        print(f"export {kind}/{which}.{fmt:5} {seconds:7.2f} s  py peak {peak:5.1f} MiB  {size:,} bytes")


def _spread(values):
    return f"{statistics.median(values):8.3f} ({min(values):.3f}–{max(values):.3f})"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--exports", action="store_true", help="also time each export")
    args = parser.parse_args(argv)
    print(f"{'what':64} {'median (min–max)':>24} {'reference: snapshot view':>26}  target")
    for row in rows(args.url, args.repeat):
        ref = _spread(row["reference"]) if row["reference"] else ""
        print(f"{row['what']:64} {_spread(row['now']):>24} {ref:>26}  {row['target']}", flush=True)
    if args.exports:
        _exports(args.url)


if __name__ == "__main__":
    main()
