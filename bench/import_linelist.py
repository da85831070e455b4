"""Importing a 100,000-row line list (2 % bad rows, 5 % duplicates) into a state-sized database (PostgreSQL).

    .venv/bin/python -m bench.import_linelist            # generate the data set if needed, time, print a table
    .venv/bin/python -m bench.import_linelist --reuse    # keep a data set generated earlier
    .venv/bin/python -m bench.import_linelist --small    # 30,000 patients on record, 2,000 and 10,000 rows

The data set comes from bench/generate.py into a database of its own (1,000,000 patients on record,
300,000 active); every import runs on a fresh copy of it (CREATE DATABASE … TEMPLATE), so runs repeat.
The line list is written to bench/out/ as the districts send them: Hindi and English headers, phones and
dates in every usual format, a District column (a state-level import), 3 % people already on record
(some moved to a care centre: transfers), 5 % the same person again further down, 2 % rows with a
mistake. Each import is the real service (callcenter.services.intake.imports.import_line_list, as the shell
command runs it) in a fresh process, so its peak memory is its own: a check (dry run) of a fifth of the
file and of the whole file, then the import, then the same file again (which must change nothing).
Memory bounded by a chunk, not by the file: the check of the whole file peaks no higher than the fifth.
"""
import argparse
import csv
import json
import random
import resource
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from callcenter.clock import local_date
from callcenter.demo import FIRST_NAMES, LAST
from callcenter.extensions import db
from callcenter.services.intake import imports, refusing, storage

from . import databases, generate
from .build_once import PeakSampler, _cpu_seconds, _status_kib
from .run import ROOT

DATASET = "sampark_bench_import"
COPY = "sampark_bench_import_run"
SIZE = {"patients": 1_000_000, "active": 300_000, "rows": 100_000}
SMALL = {"patients": 30_000, "active": 10_000, "rows": 10_000}
TARGET_SECONDS = 60.0
BAD_PERCENT, DUPLICATE_PERCENT, ON_RECORD_PERCENT = 2, 5, 3
HEADERS = ["S.No.", "मरीज का नाम", "Age", "लिंग", "Mobile No", "SRF ID", "Date of Sample", "District", "Block",
           "Village", "Setting", "Facility", "Address", "Comorbidity"]
COLUMNS = ["run", "rows", "added", "updated", "unchanged", "rejected", "calls queued", "seconds", "CPU s",
           "server CPU s", "RSS growth MiB", "RSS peak MiB", "server growth MiB"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=databases.pg_url(DATASET))
    parser.add_argument("--reuse", action="store_true", help="reuse the data set if it was generated before")
    parser.add_argument("--small", action="store_true", help="a quick run on a small data set")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--once", default=None, help=argparse.SUPPRESS)  # FILE: one import in this process
    parser.add_argument("--dry-run", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.once:
        return _once(args.url, Path(args.once), args.dry_run)

    size = dict(SMALL if args.small else SIZE)
    size["rows"] = args.rows or size["rows"]
    base = args.url if not args.small else args.url + "_small"
    manifest = databases.read_manifest(base)
    wanted = {"patients": size["patients"], "active": size["active"]}
    if not (args.reuse and manifest and all(manifest.get(k) == v for k, v in wanted.items())
            and databases.exists(base)):
        generate.generate(base, size["patients"], size["active"], days=1)
    copy = base.rsplit("/", 1)[0] + "/" + COPY
    fifth = max(size["rows"] // 5, 1)
    whole = write_line_list(base, size["rows"])
    part = write_line_list(base, fifth)
    rows = []
    for name, path, dry_run, fresh in [("check a fifth", part, True, True), ("check", whole, True, False),
                                       ("import", whole, False, True), ("same file again", whole, False, False)]:
        if fresh:
            _copy_database(base, copy)
        result = _import(copy, path, dry_run)
        print(f"  {name}: {json.dumps(result)}", flush=True)
        rows.append({"run": name, **result})
    print()
    print(table(rows))
    return _verdict(rows)


# --- the line list ---------------------------------------------------------------------------------------

def write_line_list(url, count, seed=2021):
    """A line list of `count` rows in bench/out/ (made again only when missing); returns its path."""
    path = databases.OUT_DIR / f"linelist-{Path(databases.normalized(url).database).stem}-{count}.csv"
    if path.is_file():
        return path
    started = time.perf_counter()
    rng = random.Random(seed)
    places = _places(url)
    on_record = _on_record(url, count * ON_RECORD_PERCENT // 100)
    today = local_date()
    good, written = [], 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADERS)
        for n in range(1, count + 1):
            roll = rng.random() * 100
            if roll < DUPLICATE_PERCENT and good:
                row = _again(rng, rng.choice(good))
            elif roll < DUPLICATE_PERCENT + ON_RECORD_PERCENT and on_record:
                row = _known(rng, on_record.pop(), places, today)
            else:
                row = _new(rng, n, places, today)
                if roll >= 100 - BAD_PERCENT:
                    row = _spoil(rng, row)
                elif len(good) < 20_000:
                    good.append(row)
            row[0] = n
            writer.writerow(row)
            written += 1
    print(f"wrote {path.name}: {written:,} rows in {time.perf_counter() - started:.1f} s", flush=True)
    return path


def _places(url):
    app = databases.make_app(url)
    with app.app_context():
        districts = {}
        for d_id, d_name in db.session.execute(text("SELECT id, name FROM district ORDER BY id")):
            districts[d_id] = {"name": d_name, "villages": [], "hospital": [], "ccc": []}
        for d_id, b_name, v_name in db.session.execute(text(
                "SELECT b.district_id, b.name, v.name FROM village v JOIN block b ON b.id = v.block_id")):
            districts[d_id]["villages"].append((b_name, v_name))
        for d_id, kind, name in db.session.execute(text("SELECT district_id, kind, name FROM facility")):
            districts[d_id][kind].append(name)
        db.engine.dispose()
    return list(districts.values())


def _on_record(url, count):
    """Active patients with a lab ID, spread over the data set: they come again in the list."""
    app = databases.make_app(url)
    with app.app_context():
        found = db.session.execute(text(
            "SELECT p.name, p.age, p.sex, p.phone, p.lab_id, p.positive_date, d.name FROM patient p "
            "JOIN district d ON d.id = p.district_id WHERE p.status = 'active' AND p.lab_id IS NOT NULL "
            "AND p.setting = 'home' ORDER BY p.id % 97, p.id LIMIT :n"), {"n": count}).all()
        db.engine.dispose()
    return [tuple(r) for r in found]


def _phone_text(rng, digits):
    return rng.choice([digits, f"0{digits}", f"+91 {digits[:5]} {digits[5:]}", f"+91-{digits}", f"91{digits}"])


def _date_text(rng, day):
    return rng.choice([day.strftime("%d/%m/%Y"), day.strftime("%d-%m-%Y"), day.strftime("%d.%m.%y"),
                       day.isoformat(), day.strftime("%d %b %Y"), day.strftime("%d-%b-%y")])


def _new(rng, n, places, today):
    district = rng.choice(places)
    block, village = rng.choice(district["villages"])
    roll = rng.random() * 100
    setting, facility = ("Home Isolation", "")
    if roll < 12:
        setting, facility = rng.choice(["Hospital", "DCH", "अस्पताल"]), rng.choice(district["hospital"])
    elif roll < 30:
        setting, facility = rng.choice(["CCC", "Covid Care Centre"]), rng.choice(district["ccc"])
    elif roll < 50:
        setting = rng.choice(["HI", "होम आइसोलेशन", "home"])
    female = rng.random() < 0.5
    digits = f"98{(n * 7919) % 10 ** 8:08d}"
    age = rng.choice([str(rng.randint(1, 90)), f"{rng.randint(18, 80)} yrs"])
    return [n, f"{rng.choice(FIRST_NAMES['female' if female else 'male'])} {rng.choice(LAST)}", age,
            rng.choice(["F", "Female", "महिला"] if female else ["M", "Male", "पुरुष"]), _phone_text(rng, digits),
            f"BENCH-{n:08d}", _date_text(rng, today - timedelta(days=rng.randint(0, 9))), district["name"],
            block if rng.random() < 0.5 else "", village, setting, facility, f"House {rng.randint(1, 400)}",
            rng.choice(["", "", "", "DM", "HTN", "DM, HTN", "None"])]


def _again(rng, row):
    """The same person further down the list, written a little differently."""
    again = list(row)
    again[1] = rng.choice([row[1].upper(), row[1], "Smt. " + row[1]])
    digits = "".join(ch for ch in row[4] if ch.isdigit())[-10:]
    again[4] = _phone_text(rng, digits)
    return again


def _known(rng, patient, places, today):
    name, age, sex, phone, lab_id, positive, district_name = patient
    district = next(p for p in places if p["name"] == district_name)
    row = [0, name, str(age), {"female": "F", "male": "M"}.get(sex, "Other"), _phone_text(rng, phone[3:]), lab_id,
           _date_text(rng, positive), district_name, "", "", "", "", "", ""]
    if rng.random() < 0.3:  # moved to a care centre since: a transfer
        row[10], row[11] = "CCC", rng.choice(district["ccc"])
    else:
        row[12] = f"New address {rng.randint(1, 400)}"
    return row


def _spoil(rng, row):
    row = list(row)
    column, value = rng.choice([(4, "12345"), (6, "31/02/2021"), (2, "abc"), (9, "Nowhere"), (3, "X"),
                                (11, "")])
    row[column] = value
    if column == 11:
        row[10] = "Hospital"
    return row


# --- running ------------------------------------------------------------------------------------------------

def _copy_database(base, copy):
    """A fresh copy of the generated data set (PostgreSQL copies the files: seconds, not a regeneration)."""
    parsed = databases.normalized(base)
    target = databases.normalized(copy).database
    if "bench" not in target:
        raise SystemExit(f"refusing to recreate {target!r}")
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)'))
        # A template must have no sessions: close this benchmark's own left-over ones (pooled, autovacuum).
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name "
                          "AND pid <> pg_backend_pid()"), {"name": parsed.database})
        conn.execute(text(f'CREATE DATABASE "{target}" TEMPLATE "{parsed.database}"'))
    admin.dispose()


def _import(url, path, dry_run):
    command = [sys.executable, "-m", "bench.import_linelist", "--url", url, "--once", str(path)]
    done = subprocess.run(command + (["--dry-run"] if dry_run else []), cwd=ROOT, capture_output=True, text=True,
                          timeout=3600)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"the import on {url} failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _once(url, path, dry_run):
    """One import in this process, measured; prints one JSON line."""
    app = databases.make_app(url)
    with app.app_context():
        server_pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
        db.session.commit()
        stored = storage.local_file(path)
        sampler = PeakSampler(server_pid)
        server_before = _status_kib(server_pid, "RssAnon") or 0
        rss_before = _status_kib("self", "VmRSS") or 0
        cpu_before, server_cpu_before = _own_cpu(), _cpu_seconds(server_pid)
        sampler.start()
        started = time.perf_counter()
        batch = imports.import_line_list(stored, refusing.shell_user(), dry_run=dry_run, source="cli")
        seconds = time.perf_counter() - started
        sampler.stop()
        cpu, server_cpu = _own_cpu() - cpu_before, _cpu_seconds(server_pid)
        print(json.dumps({
            "rows": batch.rows_total, "added": batch.rows_added, "updated": batch.rows_updated,
            "unchanged": batch.rows_unchanged, "rejected": batch.rows_rejected,
            "calls_queued": getattr(batch, "tasks_created", 0), "seconds": round(seconds, 2),
            "cpu_seconds": round(cpu, 2),
            "server_cpu_seconds": round(server_cpu - server_cpu_before, 2) if server_cpu is not None else None,
            "rss_growth_mib": round((sampler.rss_peak - rss_before) / 1024, 1),
            "rss_peak_mib": round(sampler.rss_peak / 1024, 1),
            "server_growth_mib": round((sampler.server_peak - server_before) / 1024, 1)}), flush=True)
        db.engine.dispose()
    return 0


def _own_cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def table(rows):
    keys = {"calls queued": "calls_queued", "CPU s": "cpu_seconds", "server CPU s": "server_cpu_seconds",
            "RSS growth MiB": "rss_growth_mib", "RSS peak MiB": "rss_peak_mib",
            "server growth MiB": "server_growth_mib"}
    cells = []
    for row in rows:
        line = []
        for column in COLUMNS:
            value = row.get(keys.get(column, column))
            line.append(f"{value:,}" if isinstance(value, int) else f"{value:.2f}" if column.endswith(("seconds", "s"))
                        else f"{value:.1f}" if isinstance(value, float) else str(value))
        cells.append(line)
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(COLUMNS)]
    fmt = lambda values: "| " + " | ".join(v.ljust(w) if i < 1 else v.rjust(w)  # noqa: E731
                                           for i, (v, w) in enumerate(zip(values, widths, strict=True))) + " |"
    return "\n".join([fmt(COLUMNS), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *(fmt(r) for r in cells)])


def _verdict(rows):
    by_run = {r["run"]: r for r in rows}
    status = 0
    again = by_run["same file again"]
    if again["added"] or again["updated"]:
        print(f"FAIL: the same file again added {again['added']} and updated {again['updated']}")
        status = 1
    check, real = by_run["check"], by_run["import"]
    if any(check[k] != real[k] for k in ("added", "updated", "unchanged", "rejected")):
        print("FAIL: the check and the import disagree")
        status = 1
    met = "met" if real["seconds"] < TARGET_SECONDS else "NOT met"
    print(f"target: import of {real['rows']:,} rows in under {TARGET_SECONDS:g} s: {met} ({real['seconds']:.2f} s)")
    print(f"memory: checking {by_run['check a fifth']['rows']:,} rows grew RSS by "
          f"{by_run['check a fifth']['rss_growth_mib']:.1f} MiB, {check['rows']:,} rows by "
          f"{check['rss_growth_mib']:.1f} MiB")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
