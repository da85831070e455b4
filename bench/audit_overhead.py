"""What recording who saw which patients costs (services/records/shown.py: one audit row per request that shows
patients): the dashboard's list and the desk console's poll at state scale, with the record and without.

    .venv/bin/python -m bench.audit_overhead --url postgresql://postgres@127.0.0.1:5432/sampark_bench_300k

Uses a data set made by bench/generate.py. Each request runs whole in the application (before-request checks,
the view, its template, the after-request hooks: the audit row's own transaction included), signed in as the
data set's users, in a request context (no HTTP). Rounds alternate on and off, so that the database's caches
warm both alike; the figure is the median of each. "Off" notes nothing (shown.note does nothing), so the request
ends as it did before view records: no row, no end of its transaction. The console's poll is measured twice
"on": when its patients changed (a row) and when they are the same as at the last poll (no row, shown.polled).
"""
import argparse
import statistics
import time
from datetime import datetime
from datetime import time as dtime

from sqlalchemy import func, select

from callcenter.auth import sessions
from callcenter.clock import local_to_utc
from callcenter.dashboard import views as dashboard_views
from callcenter.extensions import db
from callcenter.models import AuditLog, CallTask, User
from callcenter.services.dashboard import overview
from callcenter.services.records import shown

from . import shape
from .databases import make_app

STATE_ADMIN_ID = 10**8  # made here if missing: the state-level officer who asks the largest lists


def _state_admin():
    user = db.session.get(User, STATE_ADMIN_ID)
    if user is None:
        user = User(id=STATE_ADMIN_ID, username="bench-state-admin", full_name="State admin", role="admin",
                    district_id=None, password_hash="!bench-user-cannot-sign-in", language="en", active=True)
        db.session.add(user)
        db.session.commit()
    return STATE_ADMIN_ID


def _staff(district, role):
    """The id of the data set's first user with `role` in `district` (1-based)."""
    slot = shape.STAFF_ROLES.index(role) + 1
    return shape.STAFF_BASE_ID + (district - 1) * len(shape.STAFF_ROLES) + slot


def _request(app, user_id, path):
    """One whole request as the application runs it; returns (seconds, status)."""
    with app.test_request_context(path):
        sessions.start(db.session.get(User, user_id))  # as a sign-in does (the session's clock too)
        db.session.commit()  # (the sign-in's read is not the request's)
        t0 = time.perf_counter()
        response = app.full_dispatch_request()
        response.get_data()
        seconds = time.perf_counter() - t0
        db.session.remove()
    return seconds, response.status_code


def measure(app, cases, rounds):
    """Medians of each mode, alternated round by round. For a poll, "on" is a poll whose patients changed since
    the user's last one (it writes its row) and "repeat" a poll showing the same patients again (no row:
    shown.polled)."""
    real_write, real_note = shown.write, shown.note
    results = {}
    for label, user_id, path in cases:
        polled = "console.json" in path
        modes = ("off", "on", "repeat") if polled else ("off", "on")
        times, named = {mode: [] for mode in modes}, []
        shown.write = lambda user, by_purpose, named=named: named.append(len(set().union(*by_purpose.values())))
        _request(app, user_id, path)  # warm up: templates compiled, plans cached; how many patients it shows
        shown.write = real_write
        for n in range(rounds):
            for mode in (modes if n % 2 == 0 else tuple(reversed(modes))):
                shown.note = real_note if mode != "off" else (lambda user, patient_ids, purpose: None)
                if mode == "on":
                    app.extensions.pop("sampark.poll_views", None)  # as if the patients had changed
                elif mode == "repeat" and n == 0:
                    _request(app, user_id, path)  # the poll before it, that wrote the row
                try:
                    seconds, status = _request(app, user_id, path)
                finally:
                    shown.note = real_note
                assert status == 200, f"{label}: {status}"
                times[mode].append(seconds)
        medians = {mode: statistics.median(values) for mode, values in times.items()}
        results[label] = medians
        off = medians["off"]
        line = f"{label:54s} {named[0] if named else 0:4d} patients   off {off * 1000:7.1f} ms"
        for mode in modes[1:]:
            extra = medians[mode] - off
            line += f"   {mode} {medians[mode] * 1000:7.1f} ms ({extra * 1000:+6.1f} ms, {extra / off * 100:+5.1f} %)"
        print(line)
    return results


def write_alone(app, user_id, rounds):
    """The record's own cost, apart from the page's: one row naming 100 and 200 patients, its transaction."""
    with app.app_context():
        user = db.session.get(User, user_id)
        ids = db.session.scalars(select(CallTask.patient_id).limit(200)).all()
        for size in (100, 200):
            times = []
            for _ in range(rounds):
                t0 = time.perf_counter()
                shown.write(user, {"bench": set(ids[:size])})
                times.append(time.perf_counter() - t0)
            print(f"the audit row alone, naming {size} patients: median {statistics.median(times) * 1000:.1f} ms, "
                  f"max {max(times) * 1000:.1f} ms")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args(argv)
    app = make_app(args.url)
    with app.app_context():
        db.create_all()  # tables added since the data set was made (the audit log's own among them)
        day = db.session.scalar(select(func.max(CallTask.task_date)))
    now = local_to_utc(datetime.combine(day, dtime(15)))
    overview.utcnow = lambda: now  # as bench/dashboard.py: 15:00 on the data set's last day, calls due
    dashboard_views.local_date = lambda *_: day
    with app.app_context():
        admin = _state_admin()
        before = db.session.query(AuditLog).count()
        db.session.remove()
    nodal, control = _staff(1, "nodal_officer"), _staff(1, "control_room")
    cases = [
        ("dashboard list: tasks due, state admin, page 1", admin, "/dashboard/list/tasks"),
        ("dashboard list: active patients, state admin, page 1", admin, "/dashboard/list/patients"),
        ("dashboard list: tasks due, district officer, page 1", nodal, "/dashboard/list/tasks"),
        ("desk console poll: control room, district", control, "/desk/console.json?desk=control_room"),
        ("desk console poll: control room, state admin", admin, "/desk/console.json?desk=control_room"),
    ]
    measure(app, cases, args.rounds)
    write_alone(app, control, args.rounds)
    with app.app_context():
        written = db.session.query(AuditLog).count() - before
        print(f"audit rows written: {written}")


if __name__ == "__main__":
    main()
