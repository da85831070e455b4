"""The load run: N simulated volunteers against gunicorn instances of the app on PostgreSQL.

    .venv/bin/python -m bench.load --volunteers 200 --duration 60 --think 0
    .venv/bin/python -m bench.load --volunteers 50,200 --think 0,30 --instances 1,2 --workers 2
    .venv/bin/python -m bench.load --url http://10.0.0.5:8000,http://10.0.0.6:8000 --database postgresql://…/x_bench

By default the bench starts a PostgreSQL cluster of its own (bench/cluster.py; stock settings), generates a
data set into a template database once (bench/generate.py: --active patients), and for every run copies it,
gives N volunteer accounts a password, builds today's call list (due now), starts the instances (bin/start's
gunicorn settings), lets the volunteers work (bench/volunteers.py) and checks the database (bench/checks.py).
Each value list (--volunteers, --think, --instances) makes one run per combination.

Printed per run: claims/s, p50/p95/p99 of the claim request (POST /queue/take), errors, double holds and
attempts lost (both must be 0), and the CPU each part used over the run (100 % = one core): the app instances,
PostgreSQL, this client, and everything else on the machine (/proc/stat's busy time less those three); and the
app's and PostgreSQL's CPU milliseconds per claim (a claim's whole cycle: console, take, call screen, save), which
say what a core carries whatever else shares the machine.
The exit status is 1 if a figure that must be 0 is not.
"""
import argparse
import os
import resource
import statistics
import sys
from datetime import timedelta

from sqlalchemy import create_engine, text
from werkzeug.security import generate_password_hash

from callcenter.clock import local_date, utcnow
from callcenter.extensions import db
from callcenter.services.calls.call_lists import build_call_list

from . import checks, databases, generate, instances, proctree, volunteers
from .cluster import Cluster

TEMPLATE = "bench_load_template"
DATABASE = "bench_load"
COLUMNS = ["instances", "volunteers", "think s", "claims", "claims/s", "p50 ms", "p95 ms", "p99 ms", "errors",
           "double holds", "attempts lost", "app CPU %", "PG CPU %", "client CPU %", "other CPU %",
           "app ms/claim", "PG ms/claim"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--volunteers", default="200", help="simulated volunteers (comma-separated: one run each)")
    parser.add_argument("--duration", type=float, default=60, help="seconds each run's volunteers work")
    parser.add_argument("--think", default="0", help="seconds on each call before saving (mean; comma-separated)")
    parser.add_argument("--instances", default="1", help="gunicorn instances (comma-separated: 1,2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per instance")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker (gthread, as bin/start)")
    parser.add_argument("--active", type=int, default=30_000, help="active patients in the data set")
    parser.add_argument("--server", default=None,
                        help="a PostgreSQL server URL (no database) to use instead of a cluster of the bench's own")
    parser.add_argument("--url", default=None, help="instances already running (comma-separated base URLs); "
                        "needs --database, the database they use (its volunteers and today's list are set up)")
    parser.add_argument("--database", default=None, help="with --url: the instances' database URL")
    args = parser.parse_args(argv)
    plan = [(int(v), float(t), int(i)) for i in args.instances.split(",") for v in args.volunteers.split(",")
            for t in args.think.split(",")]

    rows = []
    if args.url:
        if not args.database:
            parser.error("--url needs --database")
        bases = args.url.split(",")
        for n, think, _ in plan:
            rows.append(run_against(bases, args.database, n, think, args.duration, cpu=None))
    else:
        with (_Server(args.server) if args.server else Cluster()) as pg:
            template = pg.url(TEMPLATE)
            generate.generate(template, round(args.active * 10 / 3), args.active, log=_quiet)
            for n, think, count in plan:
                url = copy_database(pg, template, DATABASE)
                rows.append(run_started(url, pg, n, think, args.duration, count, args.workers, args.threads))
            drop_database(pg, DATABASE)
            drop_database(pg, TEMPLATE)
    print()
    print(table(rows))
    failed = [row for row in rows if checks.must_be_zero(row)]
    for row in failed:
        print(f"FAIL ({row['instances']}, {row['volunteers']} volunteers): {checks.must_be_zero(row)}")
    return 1 if failed else 0


def _quiet(line):
    print(line, flush=True)


class _Server:
    """An existing PostgreSQL server (its databases named for the bench are created and dropped)."""

    def __init__(self, url):
        self.server_url = url.rstrip("/")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def url(self, database):
        return f"{self.server_url}/{database}"

    def cpu_seconds(self):
        return None  # shared with others: not this run's


def _admin(pg):
    return create_engine(databases.normalized(pg.url("postgres")), isolation_level="AUTOCOMMIT")


def copy_database(pg, template, name):
    """A fresh copy of the generated data set (CREATE DATABASE … TEMPLATE: a file copy, seconds)."""
    engine = _admin(pg)
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{databases.normalized(template).database}"'))
    engine.dispose()
    return pg.url(name)


def drop_database(pg, name):
    engine = _admin(pg)
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def prepare(url, n, now=None):
    """Give `n` volunteers (spread over the districts) the bench's password, and build today's list due now.
    Returns their usernames."""
    now = now or utcnow()
    app = databases.make_app(url)
    with app.app_context():
        usernames = [username for _id, username in spread_volunteers(n)]
        password_hash = generate_password_hash(volunteers.PASSWORD,
                                               method=app.config.get("PASSWORD_HASH_METHOD", "scrypt"))
        db.session.execute(text('UPDATE "user" SET password_hash = :h WHERE username = ANY(:names)'),
                           {"h": password_hash, "names": list(usernames)})
        db.session.commit()
        build_call_list(local_date(now), now=now, due_at=now - timedelta(minutes=1))
        db.engine.dispose()
    return list(usernames)


def spread_volunteers(n):
    """(id, username) of `n` active volunteers spread over the districts (the first of each, then the second …)."""
    rows = db.session.execute(text(
        "SELECT id, username FROM (SELECT id, username, district_id, row_number() OVER (PARTITION BY district_id "
        "ORDER BY id) AS k FROM \"user\" WHERE role = 'volunteer' AND active) AS v "
        "ORDER BY k, district_id LIMIT :n"), {"n": n}).all()
    if len(rows) < n:
        raise SystemExit(f"the data set has {len(rows)} volunteers; {n} asked for")
    return [tuple(row) for row in rows]


def run_started(url, pg, n, think, duration, count, workers, threads):
    """Start `count` instances on `url`, run, stop them, check."""
    usernames = prepare(url, n)
    env = instances.app_env(url)
    started = [instances.start_instance(env, workers=workers, threads=threads, name=f"load-{i + 1}")
               for i in range(count)]
    try:
        row = run_against([i.url for i in started], url, n, think, duration, cpu=(started, pg), usernames=usernames)
    finally:
        for instance in started:
            proctree.started().stop(instance.proc)
    row["instances"] = f"{count} × {workers}"
    return row


def run_against(bases, url, n, think, duration, cpu, usernames=None):
    usernames = usernames or prepare(url, n)
    print(f"run: {len(bases)} instance(s), {n} volunteers, think {think:g} s, {duration:g} s", flush=True)
    since = utcnow() - timedelta(seconds=1)
    meter = _CpuMeter(cpu)
    record, seconds = volunteers.run(usernames, bases, think, duration, on_start=meter.start)
    meter.stop()
    figures = checks.check(url, since, record)
    latencies = sorted(s for _u, _t, _started, s in record.claims)
    errors = sum(record.errors.values())
    row = {"instances": f"{len(bases)}", "volunteers": n, "think s": think, "claims": len(record.claims),
           # Claims are made until the duration is up; the calls then on screen are finished (thought about and
           # saved) before the run ends, so the run lasts a little longer than the duration (CPU is over all of it).
           "claims/s": len(record.claims) / duration, "p50 ms": _pct(latencies, 50), "p95 ms": _pct(latencies, 95),
           "p99 ms": _pct(latencies, 99), "errors": errors,
           "double holds": figures["double holds (task)"] + figures["double holds (patient)"],
           **figures, **meter.percentages(seconds), "seconds": seconds, "empty takes": record.empty}
    for part in ("app", "PG"):  # CPU per claim (its whole cycle: console, take, call screen, save): what a core carries
        share = row.get(f"{part} CPU %")
        if share is not None and record.claims:
            row[f"{part} ms/claim"] = share * 10 * seconds / len(record.claims)
    print(f"  {_summary(row)}", flush=True)
    print("  requests (p50/p95 ms): " + ", ".join(
        f"{step} {_pct(sorted(times), 50):,.0f}/{_pct(sorted(times), 95):,.0f}"
        for step, times in record.latency.items() if step in ("console", "take", "call screen", "save")), flush=True)
    for (step, what), count in sorted(record.errors.items()):
        print(f"  error: {step}: {what} × {count}", flush=True)
    return row


def _pct(values, p):
    if not values:
        return None
    if len(values) == 1:
        return values[0] * 1000
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] * 1000


class _CpuMeter:
    """CPU used during the volunteers' work: the instances, PostgreSQL, this process, the machine."""

    def __init__(self, cpu):
        self.started, self.pg = cpu if cpu else ([], None)
        self.before = self.after = None

    def _sample(self):
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {"app": sum(i.cpu_seconds() for i in self.started) if self.started else None,
                "pg": self.pg.cpu_seconds() if self.pg is not None else None,
                "client": usage.ru_utime + usage.ru_stime, "machine": proctree.machine_ticks()}

    def start(self):
        self.before = self._sample()

    def stop(self):
        self.after = self._sample()

    def percentages(self, seconds):
        def pct(key):
            if self.before[key] is None or self.after[key] is None:
                return None
            return 100 * (self.after[key] - self.before[key]) / seconds
        busy = self.after["machine"][0] - self.before["machine"][0]
        total = self.after["machine"][1] - self.before["machine"][1]
        figures = {"app CPU %": pct("app"), "PG CPU %": pct("pg"), "client CPU %": pct("client"),
                   "machine CPU %": 100 * os.cpu_count() * busy / total if total else None}
        ours = [figures[k] for k in ("app CPU %", "PG CPU %", "client CPU %")]
        if figures["machine CPU %"] is not None and None not in ours:
            # Whatever else ran on the machine meanwhile (other sessions' tests share it), and the kernel's
            # network work for all of it.
            figures["other CPU %"] = max(0.0, figures["machine CPU %"] - sum(ours))
        return figures


def _summary(row):
    return ", ".join(f"{k} {_cell(row, k)}" for k in COLUMNS[3:])


def _cell(row, column):
    value = row.get(column)
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.0f}" if column.endswith(("ms", "%")) or value >= 100 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(rows):
    """A plain table (also valid Markdown)."""
    cells = [[_cell(row, c) for c in COLUMNS] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(COLUMNS)]

    def line(values):
        return "| " + " | ".join(v.rjust(w) for v, w in zip(values, widths, strict=True)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(COLUMNS), rule, *(line(r) for r in cells)])


if __name__ == "__main__":
    sys.exit(main())
