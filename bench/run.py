"""The daily list build at state scale, on PostgreSQL and SQLite: generate, time, print a table.

    .venv/bin/python -m bench                 # 100,000 and 300,000 active patients, both databases
    .venv/bin/python -m bench --reuse         # keep data sets generated earlier (bench/out/*.json)
    .venv/bin/python -m bench --small         # a quick run: 3,000 and 10,000 active
    .venv/bin/python -m bench --url URL       # against its floor on one data set (bench/build_ratio.py)

Each build runs in a fresh process (bench/build_once.py). Before the first build the data set is put
back as generated (the day's tasks deleted, the tasks that build closed reopened), so runs repeat.
The second build of the same day must create nothing.
"""
import argparse
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

from sqlalchemy import delete, text, update

from callcenter.extensions import db
from callcenter.models import CallTask, TaskStatus

from . import build_ratio, databases, generate
from .build_once import build_time

ROOT = Path(__file__).resolve().parent.parent
PATIENTS_PER_ACTIVE = 10 / 3  # 300,000 active of 1,000,000 on record
TARGET_SECONDS = {"postgresql": 5.0}  # the target, for the state-sized data set
COLUMNS = ["database", "active patients", "run", "rows created", "seconds", "server CPU s", "py peak MiB",
           "RSS growth MiB", "server growth MiB"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", default="postgresql,sqlite", help="comma-separated: postgresql, sqlite")
    parser.add_argument("--sizes", default="100000,300000", help="active patients, comma-separated")
    parser.add_argument("--small", action="store_true", help="sizes 3000,10000: a quick run")
    parser.add_argument("--days", type=int, default=7, help="days of call history")
    parser.add_argument("--reuse", action="store_true", help="reuse data sets of the same size if present")
    parser.add_argument("--pg-server", default=databases.PG_SERVER, help="PostgreSQL server URL (no database)")
    parser.add_argument("--url", default=None, help="measure the build against the bare INSERT … SELECT "
                        "(bench/build_ratio.py) on this data set instead")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions with --url")
    args = parser.parse_args(argv)
    if args.url:
        return build_ratio.main(["--url", args.url, "--repeat", str(args.repeat)])
    sizes = [3000, 10000] if args.small else [int(s) for s in args.sizes.split(",")]

    rows = []
    for backend in args.databases.split(","):
        for active in sizes:
            url = _url(backend, active, args.pg_server)
            manifest = _dataset(url, active, args.days, args.reuse)
            day = date.fromisoformat(manifest["day"])
            _reset(url, day)
            for run in ("first", "again"):
                result = _build(url, day)
                print(f"  {backend} {active:,} {run}: {json.dumps(result)}", flush=True)
                rows.append({"database": backend, "active patients": active, "run": run, **result})
    print()
    print(table(rows))
    return _verdict(rows, max(sizes))


def _url(backend, active, pg_server):
    name = databases.dataset_name(active)
    return databases.pg_url(name, pg_server) if backend == "postgresql" else databases.sqlite_url(name)


def _dataset(url, active, days, reuse):
    patients = round(active * PATIENTS_PER_ACTIVE)
    manifest = databases.read_manifest(url)
    wanted = {"patients": patients, "active": active, "days": days}
    if reuse and manifest and all(manifest.get(k) == v for k, v in wanted.items()) and databases.exists(url):
        print(f"reusing {url} (generated for {manifest['day']})", flush=True)
        return manifest
    return generate.generate(url, patients, active, days)


def _reset(url, day):
    """Undo what an earlier benchmark's builds of `day` did, so the first build starts from the data set."""
    app = databases.make_app(url)
    with app.app_context():
        with db.engine.begin() as conn:
            deleted = conn.execute(delete(CallTask).where(CallTask.task_date >= day)).rowcount
            reopened = conn.execute(
                update(CallTask).where(CallTask.task_date < day, CallTask.status == TaskStatus.MISSED,
                                       CallTask.closed_at == build_time(day))
                .values(status=TaskStatus.PENDING, closed_at=None)).rowcount
        if (deleted or reopened) and db.engine.dialect.name == "postgresql":
            # As autovacuum would have done by the next morning.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE call_task"))
        db.engine.dispose()
    if deleted or reopened:
        print(f"reset {url}: {deleted:,} tasks of {day} deleted, {reopened:,} reopened", flush=True)


def _checkpoint(url):
    """PostgreSQL: start each build just after a checkpoint, as the 07:00 build after a quiet night does. The
    first change to a page after a checkpoint writes the whole page to the WAL; without this, a build's cost
    depended on whether the run before had touched the same pages since the last one (±30 % here)."""
    if databases.backend(url) != "postgresql":
        return
    app = databases.make_app(url)
    with app.app_context():
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("CHECKPOINT"))
        db.engine.dispose()


def _build(url, day):
    _checkpoint(url)
    done = subprocess.run([sys.executable, "-m", "bench.build_once", "--url", url, "--day", day.isoformat()],
                          cwd=ROOT, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"the build on {url} failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _cell(row, column):
    value = {"rows created": row.get("created"), "py peak MiB": row.get("python_peak_mib"),
             "RSS growth MiB": row.get("rss_growth_mib"), "server growth MiB": row.get("server_growth_mib"),
             "server CPU s": row.get("server_cpu_seconds")}.get(column, row.get(column))
    if value is None:
        return "–"
    if column in ("seconds", "server CPU s"):
        return f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def table(rows):
    """A plain table (also valid Markdown)."""
    cells = [[_cell(row, c) for c in COLUMNS] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(COLUMNS)]

    def line(values):
        return "| " + " | ".join(v.ljust(w) if i < 3 else v.rjust(w)
                                 for i, (v, w) in enumerate(zip(values, widths, strict=True))) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(COLUMNS), rule, *(line(r) for r in cells)])


def _verdict(rows, largest):
    """Print what the table means for the target; exit status 1 if a repeated build created rows or
    the two databases disagree."""
    status = 0
    for row in rows:
        if row["run"] == "again" and row["created"] != 0:
            print(f"FAIL: the second build on {row['database']} ({row['active patients']:,}) created {row['created']}")
            status = 1
    firsts = {}
    for row in rows:
        if row["run"] == "first":
            firsts.setdefault(row["active patients"], {})[row["database"]] = row["created"]
    for active, created in firsts.items():
        if len(set(created.values())) > 1:
            print(f"FAIL: the databases built different lists for {active:,} active patients: {created}")
            status = 1
    for row in rows:
        target = TARGET_SECONDS.get(row["database"])
        if target and row["run"] == "first" and row["active patients"] == largest:
            met = "met" if row["seconds"] < target else "NOT met"
            print(f"target: {row['database']} build for {largest:,} active patients in under {target:g} s: "
                  f"{met} ({row['seconds']:.2f} s)")
    return status
