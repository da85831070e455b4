"""Every row of issue 20's table with one command: what people wait on at state scale, each against its reference
measured in the same run, three repetitions, medians and min–max, on PostgreSQL and (--sqlite) SQLite.

    .venv/bin/python -m bench.web --all                      # PostgreSQL: a copy of sampark_bench_300k
    .venv/bin/python -m bench.web --all --sqlite sqlite:///bench/out/sampark_bench_10k.db
    .venv/bin/python -m bench.web --only call_loop,search --url postgresql://postgres@127.0.0.1:5432/my_bench

The data set is made by bench/generate.py (`--url` names one; by default the state-sized PostgreSQL set
sampark_bench_300k, generated if missing). Every benchmark works on a copy made for it (CREATE DATABASE …
TEMPLATE; a SQLite file is copied) and dropped after it, so runs repeat on the data set as generated.

Each benchmark module gives `rows(url, repeat)`: [{"what", "unit", "now": [value per repetition], "reference":
[...] or None, "reference_what", "target"}]; a target is "< N", "<= N", ">= N" (in the row's unit) or "<= Nx
reference". The table prints the median and min–max of each, the ratio to the reference, and whether the median
meets the target.
"""
import argparse
import importlib
import os
import re
import shutil
import statistics
import sys
from datetime import datetime, timezone

from sqlalchemy import create_engine, text

from . import databases, generate

# (module, what it measures, whether it writes to the data set: search writes its audit rows, the dashboard its
# snapshots and daily figures)
BENCHES = [
    ("call_loop", "claim + log a call through the API", True),
    ("search", "patient search", True),
    ("dashboard", "the dashboard, live and from its snapshots", True),
    ("webhook_throughput", "signed Twilio webhooks", True),
    ("build_ratio", "the daily call-list build", True),
]
TARGET = re.compile(r"^\s*(<=|>=|<|>)\s*([\d.]+)\s*(x reference)?\s*([^\d\s].*)?$")  # "< 0.3 s", "<= 1.5x reference"


def meets(row):
    """True/False when the row's target can be checked, else None."""
    match = TARGET.match(row.get("target") or "")
    now = [v for v in row["now"] if v is not None]
    if not match or not now:
        return None
    op, number, relative = match.group(1), float(match.group(2)), match.group(3)
    value = statistics.median(now)
    if relative:
        reference = [v for v in row.get("reference") or [] if v is not None]
        if not reference:
            return None
        value /= statistics.median(reference)
    return {"<": value < number, "<=": value <= number, ">": value > number, ">=": value >= number}[op]


def _figure(values):
    values = [v for v in values or [] if v is not None]
    if not values:
        return "–", "–"
    fmt = (lambda v: f"{v:,.0f}") if max(abs(v) for v in values) >= 100 else (lambda v: f"{v:,.1f}") \
        if max(abs(v) for v in values) >= 10 else (lambda v: f"{v:,.2f}")
    return fmt(statistics.median(values)), f"{fmt(min(values))}–{fmt(max(values))}"


def table(rows):
    lines = ["| database | what | unit | now: median | min–max | reference | median | min–max | ratio | target | met |",
             "| --- | --- | --- | ---: | --- | --- | ---: | --- | ---: | --- | --- |"]
    for row in rows:
        median, spread = _figure(row["now"])
        ref_median, ref_spread = _figure(row.get("reference"))
        now = [v for v in row["now"] if v is not None]
        ref = [v for v in row.get("reference") or [] if v is not None]
        ratio = f"{statistics.median(now) / statistics.median(ref):.2f}" if now and ref and statistics.median(ref) \
            else "–"
        verdict = {True: "yes", False: "**no**", None: "–"}[meets(row)]
        lines.append(f"| {row.get('database', '')} | {row['what']} | {row.get('unit', '')} | {median} | {spread} | "
                     f"{row.get('reference_what') or ''} | {ref_median} | {ref_spread} | {ratio} | "
                     f"{row.get('target') or ''} | {verdict} |")
    return "\n".join(lines)


def _copy(url, suffix):
    """A copy of the PostgreSQL data set for a benchmark that writes (a SQLite file is copied as a file)."""
    parsed = databases.normalized(url)
    if parsed.get_backend_name() != "postgresql":
        copy = parsed.database.replace(".db", f"_{suffix}.db")
        shutil.copyfile(parsed.database, copy)
        return parsed.set(database=copy).render_as_string(hide_password=False)
    name = f"{parsed.database}_{suffix}"
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{parsed.database}"'))
    admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


def _drop(url, original):
    parsed = databases.normalized(url)
    if parsed.get_backend_name() != "postgresql":
        os.remove(parsed.database)
        return
    if parsed.database == databases.normalized(original).database:
        return
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


def _ensure(url):
    """Generate the state-sized data set if the database is not there (about 2½ minutes)."""
    parsed = databases.normalized(url)
    if parsed.get_backend_name() != "postgresql":
        return
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        there = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": parsed.database})
    admin.dispose()
    if not there:
        generate.generate(url, 1_000_000, 300_000)


def run(url, names, repeat, label):
    rows = []
    for name, what, writes in BENCHES:
        if name not in names:
            continue
        module = importlib.import_module(f"bench.{name}")
        print(f"== {label}: {what} (bench.{name})", flush=True)
        target = _copy(url, "web") if writes else url
        try:
            got = module.rows(target, repeat=repeat)
        finally:
            if writes:
                _drop(target, url)
        for row in got:
            rows.append({"database": label, **row})
            if row.get("now_cpu") and row.get("reference_cpu"):  # the build's server CPU: steadier than its wall time
                rows.append({"database": label, **row, "what": f"{row['what']} (server CPU)", "unit": "CPU s",
                             "now": row["now_cpu"], "reference": row["reference_cpu"]})
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--all", action="store_true", help="every benchmark of the table")
    parser.add_argument("--only", default="", help="comma-separated: " + ", ".join(n for n, _w, _x in BENCHES))
    parser.add_argument("--url", default=databases.pg_url(databases.dataset_name(300_000)),
                        help="the PostgreSQL data set (default: the state-sized one)")
    parser.add_argument("--sqlite", default=None, help="also run on this SQLite data set")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    names = [n for n, _w, _x in BENCHES] if args.all else [n for n in args.only.split(",") if n]
    if not names:
        parser.error("--all or --only")
    started = datetime.now(timezone.utc)
    _ensure(args.url)
    rows = []
    for url in [args.url] + ([args.sqlite] if args.sqlite else []):
        rows += run(url, names, args.repeat, {"postgresql": "PostgreSQL", "sqlite": "SQLite"}[databases.backend(url)])
    print()
    print(f"bench.web, {started:%Y-%m-%d %H:%M} UTC, {args.repeat} repetitions")
    print(table(rows))
    return 0 if all(meets(r) is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
