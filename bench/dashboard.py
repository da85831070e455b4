"""The nodal officer's dashboard at state scale: server time of the dashboard and of each export.

    .venv/bin/python -m bench.dashboard --url postgresql://postgres@127.0.0.1:5432/sampark_bench_300k

Uses a data set made by `python -m bench` (bench/generate.py). Times the dashboard page as the view builds
it (every service call + the template render, in a request context, state-level officer: the largest
view) and streams each export to nowhere, reporting seconds and peak Python memory.
"""
import argparse
import resource
import statistics
import time
import tracemalloc
from datetime import date

from flask import render_template
from flask_login import login_user
from werkzeug.routing import BuildError

from callcenter.models import QueuePause, User

from .databases import normalized


def _rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--day", help="the data set's day (YYYY-MM-DD); default: its latest task day")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--district", type=int, help="also time a district officer of this district id")
    args = parser.parse_args(argv)

    from callcenter import create_app
    from callcenter.dashboard import views
    from callcenter.extensions import db
    from callcenter.services import dashboard_export
    from callcenter.services.dashboard import Filters

    app = create_app(SQLALCHEMY_DATABASE_URI=str(normalized(args.url).render_as_string(hide_password=False)))
    with app.app_context():
        QueuePause.__table__.create(db.engine, checkfirst=True)  # the model's table until its migration exists
        from sqlalchemy import func, select

        from callcenter.models import CallTask
        day = date.fromisoformat(args.day) if args.day else db.session.scalar(select(func.max(CallTask.task_date)))
    officers = [("state", None)] + ([("district", args.district)] if args.district else [])
    rows = []
    for label, district_id in officers:
        user = User(id=10**9, username="bench", role="admin", district_id=district_id, language="en", active=True)
        qs = f"/dashboard/?date_from={day}&date_to={day}"
        times, renders, html = [], [], ""
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
        rows.append((f"dashboard queries ({label})", statistics.median(times), min(times), None, 0))
        if renders:
            rows.append((f"dashboard queries+render ({label})", statistics.median(renders), min(renders), None,
                         len(html)))
        f = Filters(date_from=day, date_to=day, district_id=None)
        for kind, which, fmt in (("tasks", "due", "csv"), ("patients", "active", "csv"), ("calls", "all", "csv"),
                                 ("tasks", "due", "xlsx")):
            with app.test_request_context("/"):
                login_user(user)
                tracemalloc.start()
                t0 = time.perf_counter()
                size = 0
                if fmt == "csv":
                    for chunk in dashboard_export.csv_chunks(kind, user, f, which=which):
                        size += len(chunk)
                else:
                    tmp = dashboard_export.xlsx_file(kind, user, f, which=which)
                    size = tmp.seek(0, 2)
                    tmp.close()
                seconds = time.perf_counter() - t0
                peak = tracemalloc.get_traced_memory()[1] / 2**20
                tracemalloc.stop()
                db.session.remove()
            rows.append((f"export {kind}/{which}.{fmt} ({label})", seconds, seconds, peak, size))
    print(f"{'what':48} {'median s':>9} {'min s':>7} {'py peak MiB':>12} {'bytes':>12}")
    for what, med, low, peak, size in rows:
        print(f"{what:48} {med:9.3f} {low:7.3f} {peak if peak is not None else float('nan'):12.1f} {size:12,}")
    print(f"max RSS {_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
