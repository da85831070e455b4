"""The daily list build against its floor, both measured in the same run (issue 20): the real build
(callcenter.services.calls.call_lists.build_call_list) and the bare INSERT … SELECT of about the same rows
into a scratch table with one foreign key and one index (/work/shared/findings/limit.sql's approach), first
run and re-run, `repeat` times each, interleaved.

    .venv/bin/python -m bench.build_ratio --url postgresql://postgres@127.0.0.1:5432/my_copy_bench
    .venv/bin/python -m bench.build_ratio --url sqlite:///bench/out/sampark_bench_100k.db
    .venv/bin/python -m bench --url …            # the same, from bench/run.py

The database must be a bench data set (`python -m bench.generate`; its name contains "bench"); it is put back
as generated after each repetition (the day's tasks deleted, the tasks the build closed reopened). The
scratch tables (bench_ref_patient, bench_ref_task) are made in the same database and dropped at the end.
The day built is --day, else the data set's manifest's, else the day after the latest day with a call done.

`rows(url, repeat=3, day=None)` returns one dict per measured row:

    {"what": "daily build, first run", "now": [seconds, …], "reference": [seconds, …],
     "target": "<= 1.5x reference", "now_cpu": [server CPU seconds, …] or None,
     "reference_cpu": […] or None, "rows": rows the build made, "reference_rows": rows the reference made}

"now" and "reference" are wall seconds, one per repetition, in the order measured; the target compares
their medians. Server CPU: of the server processes of the database's connections (PostgreSQL; None on
SQLite), from /proc, steadier than wall time on a shared machine.
"""
import argparse
import os
import statistics
import time
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import delete, func, select, text, update

from callcenter.extensions import db
from callcenter.models import CallTask, Patient, PatientStatus, TaskStatus
from callcenter.rules import priority
from callcenter.services.calls.call_lists import build_call_list, slot_times
from callcenter.services.core import settings

from . import databases
from .build_once import build_time

TARGET = 1.5
TARGET_TEXT = f"<= {TARGET:g}x reference"
REF_PATIENT, REF_TASK = "bench_ref_patient", "bench_ref_task"


# --- the reference: limit.sql on a copy of the data set's patients ----------------------------------------

def _ref_patient_sql(postgres):
    big = "bigint" if postgres else "INTEGER"
    return [f"DROP TABLE IF EXISTS {REF_TASK}", f"DROP TABLE IF EXISTS {REF_PATIENT}",
            f"CREATE TABLE {REF_PATIENT} (id {big} PRIMARY KEY, name text, phone text, setting smallint, "
            "status smallint, age int, high_risk boolean, district_id int, last_contact timestamp)"]


def _ref_task_sql(postgres):
    key = "bigserial PRIMARY KEY" if postgres else "INTEGER PRIMARY KEY"
    return [f"DROP TABLE IF EXISTS {REF_TASK}",
            f"CREATE TABLE {REF_TASK} (id {key}, patient_id bigint NOT NULL REFERENCES {REF_PATIENT}(id), "
            "day date NOT NULL, slot smallint NOT NULL, priority smallint NOT NULL, "
            "status smallint NOT NULL DEFAULT 0, due_at timestamp NOT NULL, UNIQUE (patient_id, day, slot))",
            f"CREATE INDEX ix_{REF_TASK}_queue ON {REF_TASK} (status, priority, due_at)"]


# limit.sql's INSERT: today's tasks for active patients, a second slot for the high-risk ones.
REF_INSERT = f"""INSERT INTO {REF_TASK} (patient_id, day, slot, priority, due_at)
SELECT p.id, :day, s.slot, CASE WHEN p.high_risk THEN 2 ELSE 3 END,
       CASE WHEN s.slot = 1 THEN :first ELSE :second END
FROM {REF_PATIENT} p CROSS JOIN (SELECT 1 AS slot UNION ALL SELECT 2) s
WHERE p.status = 1 AND (s.slot = 1 OR p.high_risk)
ON CONFLICT DO NOTHING"""


def _make_ref_patients(conn, postgres):
    """The data set's patients in limit.sql's narrow table: status 1 for active, high_risk by the policy."""
    for sql in _ref_patient_sql(postgres):
        conn.execute(text(sql))
    # A second call for whom the policy gives two at high risk (yesterday's events aside): about the same
    # rows as the build's.
    twice = [s for (s, risk), n in settings.call_policy().calls_per_day.items() if risk == "high" and n >= 2]
    high = db.and_(priority.high_risk(Patient.age, Patient.comorbidities != "", settings.thresholds()),
                   Patient.setting.in_(twice))
    setting = db.case((Patient.setting == "home", 0), (Patient.setting == "ccc", 1), else_=2)
    rows = select(Patient.id, Patient.name, Patient.phone, setting,
                  db.case((Patient.status == PatientStatus.ACTIVE, 1), else_=2), Patient.age, high,
                  Patient.district_id, Patient.last_contact_at)
    columns = "id, name, phone, setting, status, age, high_risk, district_id, last_contact"
    compiled = rows.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
    conn.execute(text(f"INSERT INTO {REF_PATIENT} ({columns}) {compiled}"))
    conn.execute(text(f"CREATE INDEX ix_{REF_PATIENT}_status ON {REF_PATIENT} (status)"))
    conn.execute(text(f"ANALYZE {REF_PATIENT}"))


def _reference(engine, day, postgres):
    """(first, re-run) as (wall seconds, server CPU seconds, rows) each, for limit.sql's two INSERTs."""
    first, second = slot_times(day)
    params = {"day": day, "first": first, "second": second}
    if not postgres:  # SQLite stores dates as text
        params = {k: v.isoformat(" ") if k != "day" else v.isoformat() for k, v in params.items()}
    with engine.begin() as conn:
        for sql in _ref_task_sql(postgres):
            conn.execute(text(sql))
    _checkpoint(engine)
    results = []
    with engine.connect() as conn:
        pid = _backend_pids(conn)
        conn.commit()
        for _run in ("first", "again"):
            cpu, started = _cpu_seconds(pid), time.perf_counter()
            made = conn.execute(text(REF_INSERT), params).rowcount
            conn.commit()
            results.append((time.perf_counter() - started, _cpu_delta(pid, cpu), made))
    return results


# --- the build ---------------------------------------------------------------------------------------------

def _build(day):
    """(wall seconds, server CPU seconds, rows created) of one build_call_list of `day` at 07:00."""
    pid = _backend_pids(db.session.connection())
    db.session.commit()  # connected, as a running server is
    cpu, started = _cpu_seconds(pid), time.perf_counter()
    result = build_call_list(day, now=build_time(day))
    return time.perf_counter() - started, _cpu_delta(pid, cpu), result["created"]


def reset(day):
    """Put the data set back as generated: `day`'s tasks (and later) deleted, the tasks its build closed
    reopened, statistics fresh (as autovacuum would have left them by the next morning)."""
    with db.engine.begin() as conn:
        conn.execute(delete(CallTask).where(CallTask.task_date >= day))
        conn.execute(update(CallTask).where(CallTask.task_date < day, CallTask.status == TaskStatus.MISSED,
                                            CallTask.closed_at == build_time(day))
                     .values(status=TaskStatus.PENDING, closed_at=None))
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE call_task"))


# --- measuring ---------------------------------------------------------------------------------------------

def _backend_pids(conn):
    """The server processes of every connection to this database (the pool may hand the build any of
    them; the bench's database has no other users). None on SQLite."""
    if conn.dialect.name != "postgresql":
        return None
    return conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                             "AND backend_type = 'client backend'")).scalars().all()


def _cpu_seconds(pids):
    """User + system CPU of those server processes (/proc/PID/stat), None if not readable (or SQLite)."""
    if pids is None:
        return None
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _cpu_delta(pids, before):
    after = _cpu_seconds(pids)
    return None if before is None or after is None else round(after - before, 2)


def _checkpoint(engine):
    """PostgreSQL: start each first run just after a checkpoint, as the 07:00 build after a quiet night does
    (the first change to a page after one writes the whole page to the WAL)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("CHECKPOINT"))


def data_set_day(url):
    """The day a data set was generated for: its manifest's, else the day after the latest day with a call
    done (a day the bench built and did not put back has only pending calls)."""
    manifest = databases.read_manifest(url)
    if manifest:
        return date.fromisoformat(manifest["day"])
    latest = db.session.scalar(select(func.max(CallTask.task_date)).where(CallTask.status == TaskStatus.DONE))
    return latest + timedelta(days=1)


def rows(url, repeat=3, day=None, log=print):
    """Measure; see the module docstring for what comes back."""
    databases.refuse_unless_bench(url)  # it deletes the day's tasks
    app = databases.make_app(url)
    with app.app_context():
        engine = db.engine
        postgres = engine.dialect.name == "postgresql"
        day = day or data_set_day(url)
        db.session.remove()
        log(f"{databases.backend(url)}: building {day}, {repeat} repetitions")
        reset(day)
        with engine.begin() as conn:
            _make_ref_patients(conn, postgres)
        measured = {"first": [], "again": []}
        try:
            for i in range(repeat):
                reference = _reference(engine, day, postgres)
                _checkpoint(engine)
                builds = [_build(day), _build(day)]
                for run, ref, now in zip(("first", "again"), reference, builds, strict=True):
                    measured[run].append((now, ref))
                    log(f"  {i + 1}/{repeat} {run}: build {now[0]:.2f} s (CPU {now[1]}, {now[2]:,} rows), "
                        f"reference {ref[0]:.2f} s (CPU {ref[1]}, {ref[2]:,} rows)")
                reset(day)
        finally:
            with engine.begin() as conn:
                for sql in _ref_patient_sql(postgres)[:2]:
                    conn.execute(text(sql))
            db.session.remove()
            engine.dispose()
    return [{"what": f"daily build, {'first run' if run == 'first' else 're-run (creates 0 rows)'}",
             "now": [round(now[0], 3) for now, _ in pairs], "reference": [round(ref[0], 3) for _, ref in pairs],
             "target": TARGET_TEXT,
             "now_cpu": [now[1] for now, _ in pairs] if postgres else None,
             "reference_cpu": [ref[1] for _, ref in pairs] if postgres else None,
             "rows": pairs[0][0][2], "reference_rows": pairs[0][1][2]}
            for run, pairs in measured.items()]


def spread(values):
    """"median (min–max)"."""
    if not values or any(v is None for v in values):
        return "–"
    return f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})"


def ratio(row, now="now", reference="reference"):
    if not row.get(now) or not row.get(reference) or None in row[now] or None in row[reference]:
        return None
    return statistics.median(row[now]) / statistics.median(row[reference])


def report(measured):
    """A Markdown table of rows(): medians and ranges, the ratio and whether it meets the target."""
    lines = ["| what | build s | reference s | ratio | build CPU s | reference CPU s | CPU ratio | target |",
             "|---|---|---|---|---|---|---|---|"]
    for row in measured:
        r, cpu = ratio(row), ratio(row, "now_cpu", "reference_cpu")
        verdict = "met" if r is not None and r <= TARGET else "NOT met"
        if cpu is not None and (cpu <= TARGET) != (verdict == "met"):  # a shared machine's wall time misleads
            verdict += f" on wall time, {'met' if cpu <= TARGET else 'NOT met'} on server CPU"
        lines.append(f"| {row['what']} ({row['rows']:,} / {row['reference_rows']:,} rows) | {spread(row['now'])} | "
                     f"{spread(row['reference'])} | {r:.2f}x | {spread(row['now_cpu'])} | "
                     f"{spread(row['reference_cpu'])} | {f'{cpu:.2f}x' if cpu else '–'} | "
                     f"{row['target']}: {verdict} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="a bench data set (PostgreSQL or SQLite)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--day", type=date.fromisoformat, default=None)
    args = parser.parse_args(argv)
    measured = rows(args.url, args.repeat, args.day)
    print()
    print(report(measured))
    return 0 if all((ratio(r) or 99) <= TARGET for r in measured) else 1


if __name__ == "__main__":
    raise SystemExit(main())
