"""The nodal officer's dashboard at state scale: every view counted live, against the snapshot view.

    .venv/bin/python -m bench.dashboard --url postgresql://postgres@127.0.0.1:5432/h20dash_bench
    .venv/bin/python -m bench.dashboard --url sqlite:///bench/out/x_bench.db --repeat 3 --exports

Uses a data set made by `python -m bench.generate`. Its last day of calls is "today" (the clock is set to
15:00 local that day); the closed days before it are first counted by the daily figures job
(jobs/daily_figures.py) if they are not yet, as on a real server.

Each view is timed as a request builds it: the view's context (filters, every query, the view record) and
the template's render, in a request context. A live view is counted live on every repetition: the
dashboard's snapshot rows are deleted before each (a live default view stores one, which the next
repetition would otherwise read) and the timing checks that no snapshot was read. The reference, in the same
run and interleaved with the others, is the state's default view read from a fresh snapshot.

`rows(url, repeat=3)` is what a runner calls (bench/web.py --all); it returns a list of dicts:

    {"what": str,                     # the view
     "now": [float, ...],             # one value per repetition: seconds, or KB for the page weight
     "reference": [float, ...] | None,  # the snapshot view's seconds, same run; None for the page weight
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


def _figures(app, path, user):
    from callcenter.dashboard import views
    from callcenter.extensions import db
    with app.test_request_context(path, headers={"Accept": "application/json"}):
        login_user(user)
        t0 = time.perf_counter()
        response = views.figures_json()
        seconds = time.perf_counter() - t0
        db.session.remove()
    assert response.get_json()["snapshot"] is False, "figures.json read a snapshot"
    return seconds


def rows(url, repeat=3):
    """Every dashboard view counted live, the snapshot view as reference, and the state page's weight (see the
    module's docstring for the shape)."""
    app = make_app(url)
    day, _now, district, block = _setup(app)
    today = f"date_from={day}&date_to={day}"
    week = f"date_from={day - timedelta(days=6)}&date_to={day}"
    state, officer = _user(), _user(district)
    live = {  # what: (path, user, figures.json?)
        "state, today (default view), live": (f"/dashboard/?{today}", state, False),
        "district officer, today, live": (f"/dashboard/?{today}", officer, False),
        "state filtered to a district, live": (f"/dashboard/?{today}&district={district}", state, False),
        "state, 7 days + a block, live": (f"/dashboard/?{week}&block={block}", state, False),
        "figures.json, state, live": (f"/dashboard/figures.json?{today}", state, True),
    }
    times = {what: [] for what in live}
    reference, weight = [], []
    _forget_snapshots(app)
    _page(app, f"/dashboard/?{today}", state, snapshot=False)  # warm: caches, the first connection
    for _ in range(repeat):
        for what, (path, user, is_json) in live.items():
            _forget_snapshots(app)
            if is_json:
                times[what].append(_figures(app, path, user))
            else:
                seconds, html = _page(app, path, user, snapshot=False)
                times[what].append(seconds)
                if what.startswith("state, today"):
                    weight.append(len(html.encode()) / 1024)
        _page(app, f"/dashboard/?{today}", state, snapshot=False)  # stores the state's snapshot …
        reference.append(_page(app, f"/dashboard/?{today}", state, snapshot=True)[0])  # … read here
    out = [{"what": f"dashboard {what}", "now": values, "reference": reference, "target": TARGET_SECONDS}
           for what, values in times.items()]
    out.append({"what": "dashboard page weight, state view (KB)", "now": weight, "reference": None,
                "target": TARGET_KB})
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
    print(f"{'what':58} {'median (min–max)':>24} {'reference: snapshot view':>26}  target")
    for row in rows(args.url, args.repeat):
        ref = _spread(row["reference"]) if row["reference"] else ""
        print(f"{row['what']:58} {_spread(row['now']):>24} {ref:>26}  {row['target']}")
    if args.exports:
        _exports(args.url)


if __name__ == "__main__":
    main()
