"""The audit log at state scale: the audit page's queries, `audit verify`, and the chain append under load.

    createdb -h 127.0.0.1 -U postgres sampark_audit_bench
    .venv/bin/python -m bench.audit_log postgresql://postgres@127.0.0.1:5432/sampark_audit_bench --rows 400000

Fills audit_log with chained rows (COPY): 70 % single patient views, 20 % list views of 20 patients each (their
audit_subject rows), 10 % call attempts on call tasks; then times "everything about one patient", "what one
user viewed over a week", the district's newest page, `audit verify`, and 16 writers committing audit rows at
once (the lock's cost per commit). Prints the figures (docs/PERFORMANCE.md).
"""
import argparse
import json
import random
import statistics
import threading
import time
from datetime import datetime, timedelta

from sqlalchemy import text

from callcenter import create_app
from callcenter.extensions import db
from callcenter.rules.audit_chain import GENESIS, row_hash

PATIENTS, USERS, DISTRICTS = 200_000, 2_000, 30


def fill(conn, rows, seed=7):
    rnd = random.Random(seed)
    start = datetime(2026, 1, 1)
    raw = conn.connection.driver_connection
    with raw.cursor() as cur:
        cur.execute("SET session_replication_role = replica")  # bench data: no FK checks, no triggers
        with cur.copy("COPY call_task (id, patient_id, district_id, setting, task_date, slot, due_at, priority, "
                      "status, created_at, last_contact_at, attempts, reason) FROM STDIN") as copy:
            for t in range(1, PATIENTS * 2 + 1):
                p = (t - 1) % PATIENTS + 1
                day = start + timedelta(days=t % 300)
                copy.write_row([t, p, p % DISTRICTS + 1, "home", day.date(), 1, day, 3, "done", day, day, 1, "daily"])
        previous, subjects = GENESIS, []
        with cur.copy("COPY audit_log (id, at, user_id, action, entity, entity_id, district_id, details, seq, hash) "
                      "FROM STDIN") as copy:
            for i in range(1, rows + 1):
                at = start + timedelta(seconds=i * 30)
                user, kind = rnd.randint(1, USERS), rnd.random()
                if kind < 0.7:
                    action, entity, eid, details = "patient.view", "patient", rnd.randint(1, PATIENTS), {
                        "purpose": "call"}
                elif kind < 0.9:
                    ids = sorted(rnd.sample(range(1, PATIENTS + 1), 20))
                    action, entity, eid, details = "patient.list_view", "patient", None, {
                        "purpose": "dashboard", "patient_ids": ids}
                    subjects += [(i, p) for p in ids]
                else:
                    action, entity, eid, details = "call.attempt", "call_task", rnd.randint(1, PATIENTS * 2), {
                        "outcome": "connected"}
                row = {"id": i, "at": at, "user_id": user, "action": action, "entity": entity, "entity_id": eid,
                       "district_id": user % DISTRICTS + 1, "details": details}
                previous = row_hash(previous, i, row)
                copy.write_row([i, at, user, action, entity, eid, row["district_id"], json.dumps(details), i,
                                previous])
        with cur.copy("COPY audit_subject (audit_id, patient_id) FROM STDIN") as copy:
            for pair in subjects:
                copy.write_row(pair)
        cur.execute("SET session_replication_role = origin")
        cur.execute(f"SELECT setval('audit_log_id_seq', {rows})")
    conn.commit()
    conn.execute(text("ANALYZE"))
    conn.commit()
    return len(subjects)


def timed(fn, repeat=20):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--rows", type=int, default=400_000)
    args = parser.parse_args()
    app = create_app("config.Config", SQLALCHEMY_DATABASE_URI=args.url)
    from callcenter.models import Patient, User
    from callcenter.services.core import audit_trail
    from callcenter.services.core.audit_verify import verify
    with app.app_context():
        db.drop_all()
        db.create_all()
        started = time.perf_counter()
        with db.engine.connect() as conn:
            subjects = fill(conn, args.rows)
        print(f"filled {args.rows} audit rows, {subjects} audit_subject rows, {PATIENTS * 2} call tasks "
              f"in {time.perf_counter() - started:.0f} s")
        db.session.execute(text("SET session_replication_role = replica"))  # (no districts: no FK checks)
        for uid, name in ((1, "bench-state"), (7, "u7")):
            person = User(id=uid, username=name, role="admin", full_name="", language="en")
            person.set_password("bench-password-long")
            db.session.add(person)
        db.session.add(Patient(id=12345, district_id=1, name="x", name_key="x", age=40, sex="female", phone="+9198",
                               setting="home", positive_date=datetime(2026, 1, 1).date(), comorbidities="",
                               language="hi", status="active", created_at=datetime(2026, 1, 1)))
        db.session.commit()
        db.session.execute(text("SET session_replication_role = origin"))
        db.session.commit()
        user = db.session.get(User, 1)
        one = audit_trail.Filters(patient_id=12345)
        n = len(audit_trail.read(user, one).rows)
        med, worst = timed(lambda: audit_trail.read(user, one))
        print(f"everything about one patient ({n} rows on the page): median {med:.1f} ms, worst {worst:.1f} ms")
        week = audit_trail.Filters(username="u7", kind="view", since=datetime(2026, 1, 1).date(),
                                   until=datetime(2026, 1, 8).date())
        med, worst = timed(lambda: audit_trail.read(user, week))
        print(f"what one user viewed in a week: median {med:.1f} ms, worst {worst:.1f} ms")
        med, worst = timed(lambda: audit_trail.read(user, audit_trail.Filters()))
        print(f"the newest page, state-wide: median {med:.1f} ms, worst {worst:.1f} ms")
        started = time.perf_counter()
        verdict = verify()
        print(f"audit verify: {verdict.checked} rows in {time.perf_counter() - started:.1f} s (ok={verdict.ok})")

        for chained in (False, True):
            writers_at_once(app, chained)
        print(f"verify after: ok={verify().ok}, {verify().checked} rows")


def writers_at_once(app, chained, writers=16, commits=50):
    """16 threads committing 2 audit rows at a time; chained=False: with the chain's hook removed (the cost
    of the same writes without it)."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from callcenter.services.core import audit
    if not chained:
        event.remove(Session, "before_commit", audit._chain)
    per_commit, barrier = [], threading.Barrier(writers)

    def writer(i):
        with app.app_context():
            barrier.wait()
            for t in range(commits):
                begun = time.perf_counter()
                audit.record(None, "bench.write", "patient", i, 1, t=t)
                audit.record(None, "bench.write", "patient", i, 1, t=t, second=True)
                db.session.commit()
                per_commit.append((time.perf_counter() - begun) * 1000)
            db.session.remove()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(writers)]
    started = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - started
    if not chained:
        event.listen(Session, "before_commit", audit._chain)
        with app.app_context():  # chain what was written without the hook
            db.session.execute(text("SELECT 1"))
            db.session.commit()
    per_commit.sort()
    print(f"{writers} writers x {commits} commits of 2 audit rows, {'chained' if chained else 'NOT chained'}: "
          f"{writers * commits / elapsed:.0f} commits/s, median {statistics.median(per_commit):.1f} ms, "
          f"p95 {per_commit[int(len(per_commit) * .95)]:.1f} ms")

if __name__ == "__main__":
    main()
