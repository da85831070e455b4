"""The retention job at state scale (PostgreSQL): anonymise every closed patient of a generated state.

    .venv/bin/python -m bench.generate --url postgresql://postgres@127.0.0.1:5432/sampark_bench_retention
    .venv/bin/python -m bench.retention --url postgresql://postgres@127.0.0.1:5432/sampark_bench_retention

bench/generate.py's state has 1,000,000 patients, 700,000 of them closed (ended 0–355 days before its day) but
without any history of their own. This adds, for every closed patient, what retention has to clear: two call
tasks with one attempt each carrying a note, an outbound SMS with its text, an inbound reply, and a row of an
old line-list import (one INSERT … SELECT each). Then it times, on a clock 400 days after the data set's day
(so all 700,000 are past the default 180 days): the dry run, the job (jobs.runner, recorded like every run),
and the job again (nothing left to do). The job changes the data set: generate it again to measure again.
"""
import argparse
import resource
import time
from datetime import date, datetime, timedelta
from datetime import time as dt_time

from sqlalchemy import text

from callcenter.clock import local_to_utc
from callcenter.extensions import db
from callcenter.models import OutboundMessage, Patient
from callcenter.services.records import retention
from jobs import runner

from . import databases, shape

CLOSED_HISTORY = [
    ("call tasks", "SELECT 1 FROM call_task WHERE id >= 50000000 LIMIT 1", """
        INSERT INTO call_task (id, patient_id, district_id, setting, task_date, slot, due_at, priority, status,
                               attempts, last_outcome, reason, created_at, closed_at)
        SELECT 50000000 + p.id * 2 + k.k, p.id, p.district_id, p.setting, p.positive_date + 1 + k.k, 1,
               p.created_at + (1 + k.k) * interval '1 day', 3, 'done', 1, 'connected', 'daily',
               p.created_at + (1 + k.k) * interval '1 day', p.created_at + (1 + k.k) * interval '1 day'
        FROM patient p CROSS JOIN (VALUES (0), (1)) AS k(k) WHERE p.status <> 'active'"""),
    ("call attempts with notes", "SELECT 1 FROM call_attempt WHERE id >= 1000000000 LIMIT 1", """
        INSERT INTO call_attempt (id, task_id, patient_id, district_id, user_id, submission_key, outcome, symptoms,
                                  notes, started_at, created_at)
        SELECT 1000000000 + t.id, t.id, t.patient_id, t.district_id, (t.district_id - 1) * {volunteers} + 1,
               'ret-' || t.id,
               'connected', '',
               'Spoke to the patient''s son on ' || t.task_date || '; fever down, asked about ration', t.due_at,
               t.due_at + interval '5 minutes'
        FROM call_task t WHERE t.id >= 50000000"""),
    ("outbound SMS", "SELECT 1 FROM outbound_message WHERE idempotency_key LIKE 'ret:%' LIMIT 1", """
        INSERT INTO outbound_message (id, idempotency_key, patient_id, kind, to_phone, template, params, language,
                                      body, status, tries, next_attempt_at, sent_at, last_error, created_at)
        SELECT p.id, 'ret:' || p.id, p.id, 'sms', p.phone, 'checkin_link', '{{}}', p.language,
               'Sampark: ' || p.name || ', aaj ki jaankari bhejein: https://sampark.example/c/abcdefghijklmnop',
               'delivered', 1, p.ended_at - interval '3 days', p.ended_at - interval '3 days', '',
               p.ended_at - interval '3 days'
        FROM patient p WHERE p.status <> 'active'"""),
    ("inbound SMS", "SELECT 1 FROM inbound_message WHERE provider_sid LIKE 'SMret%' LIMIT 1", """
        INSERT INTO inbound_message (id, provider_sid, from_phone, to_phone, body, received_at, patient_id, status,
                                     parsed)
        SELECT p.id, 'SMret' || p.id, p.phone, '+911600000000', 'ok 97 98.6', p.ended_at - interval '3 days',
               p.id, 'checked_in', '{{}}'
        FROM patient p WHERE p.status <> 'active'"""),
    ("line-list batches", "SELECT 1 FROM import_batch WHERE filename = 'line-list.csv' LIMIT 1", """
        INSERT INTO import_batch (id, district_id, filename, file_hash, source, status, message, started_at,
                                  finished_at, rows_total, rows_added, rows_updated, rows_unchanged, rows_rejected,
                                  mapping, dry_run, rows_done, attempts, tasks_created)
        SELECT d.id, d.id, 'line-list.csv', md5('ret' || d.id) || md5('batch' || d.id), 'web', 'completed', '',
               TIMESTAMP '{old}', TIMESTAMP '{old}', 0, 0, 0, 0, 0, '{{}}', false, 0, 0, 0
        FROM district d"""),
    ("line-list rows", "SELECT 1 FROM import_row LIMIT 1", """
        INSERT INTO import_row (id, batch_id, row_number, action, patient_id, raw, errors)
        SELECT p.id, p.district_id, p.id, 'added', p.id,
               json_build_object('Name', p.name, 'Mobile', p.phone, 'Address', p.address, 'SRF ID', p.lab_id),
               '[]'
        FROM patient p WHERE p.status <> 'active'"""),
]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=databases.pg_url("sampark_bench_retention"))
    parser.add_argument("--batch", type=int, default=retention.BATCH)
    args = parser.parse_args(argv)
    if databases.backend(args.url) != "postgresql":
        raise SystemExit("PostgreSQL only: the figure that matters is the state's database")
    manifest = databases.read_manifest(args.url)
    app = databases.make_app(args.url)
    with app.app_context():
        day = date.fromisoformat(manifest["day"]) if manifest else date.today()
        closed = db.session.scalar(text("SELECT count(*) FROM patient WHERE status <> 'active'"))
        total = db.session.scalar(text("SELECT count(*) FROM patient"))
        _prepare(day)
        now = local_to_utc(_at(day + timedelta(days=400)))
        rows = []
        started = time.perf_counter()
        plan = retention.plan(now, days=180)
        rows.append(("dry run (counts)", sum(plan.values()), time.perf_counter() - started))
        db.session.rollback()
        progress = _Progress()
        started = time.perf_counter()
        run = runner.run("retention", trigger="cli", now=now, days=180, batch=args.batch, progress=progress)
        first = time.perf_counter() - started
        assert run.status == "succeeded", run.error
        details = dict(run.details)  # (read now: the session ends with the app context)
        rows.append(("job, first run", run.rows, first))
        started = time.perf_counter()
        again = runner.run("retention", trigger="cli", now=now + timedelta(minutes=1), days=180)
        rows.append(("job, second run", again.rows, time.perf_counter() - started))
        left = retention.plan(now, days=180)
        db.engine.dispose()
    print(f"\nretention on PostgreSQL: {closed:,} closed patients of {total:,}, batch {args.batch}, "
          f"clock {day + timedelta(days=400)} (limit 180 days)")
    print(f"{'phase':<22} {'rows':>12} {'seconds':>9} {'rows/s':>9}")
    for name, count, seconds in rows:
        print(f"{name:<22} {count:>12,} {seconds:>9.1f} {count / seconds if seconds else 0:>9,.0f}")
    print("first run by kind: " + ", ".join(f"{k} {details[k]:,}" for k in retention.KINDS))
    print(f"dry-run plan matched the run: {all(plan[k] == details[k] for k in retention.KINDS)}; "
          f"left after the run: {sum(left.values())}; patients' batches timed: {progress.summary()}; "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MiB")


def _at(day):
    return datetime.combine(day, dt_time(2, 30))


def _prepare(day):
    """The closed patients' history (once per data set) and the indexes migration 0016 adds, if the data set was
    generated before them."""
    for table in (Patient.__table__, OutboundMessage.__table__):
        for index in table.indexes:
            if index.name in ("ix_patient_to_anonymise", "ix_outbound_message_created_at"):
                index.create(db.engine, checkfirst=True)
    old = f"{day - timedelta(days=380):%Y-%m-%d} 10:00:00"
    added = False
    for name, done, sql in CLOSED_HISTORY:
        if db.session.scalar(text(done)):
            continue
        added = True
        started = time.perf_counter()
        with db.engine.begin() as conn:
            conn.execute(text("SET LOCAL synchronous_commit = off"))
            count = conn.execute(text(sql.format(old=old, volunteers=shape.VOLUNTEERS_PER_DISTRICT))).rowcount
        print(f"  {name:<28} {count:>12,}  {time.perf_counter() - started:6.1f} s", flush=True)
    db.session.rollback()
    if not added:
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


class _Progress:
    """Times each committed batch of patients (the job's progress hook)."""

    def __init__(self):
        self.times, self.last = [], time.perf_counter()

    def __call__(self, kind, counts):
        now = time.perf_counter()
        if kind == "patients":
            self.times.append(now - self.last)
        self.last = now

    def summary(self):
        if not self.times:
            return "none"
        ordered = sorted(self.times)
        return (f"{len(ordered)}, median {ordered[len(ordered) // 2] * 1000:.0f} ms, "
                f"slowest {ordered[-1] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
