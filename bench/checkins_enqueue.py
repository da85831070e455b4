"""The morning's check-in enqueue at state scale: 1,000,000 patients on record, 300,000 active (PostgreSQL).

    .venv/bin/python -m bench.checkins_enqueue            # generate the data set if needed, time, print a table
    .venv/bin/python -m bench.checkins_enqueue --reuse    # keep a data set generated earlier

The data set comes from bench/generate.py (into a database of its own, so the call-list benchmark's is
left alone). Each scenario sets the patients' check-in channels, empties the outbox, and runs the real
service (callcenter.services.outbox.enqueue.enqueue_daily_checkins) at the window's start in a fresh process,
twice: the second run must enqueue nothing. Scenarios: every patient on an SMS link (the worst case: a
random token per patient, made in Python), a mix of IVR calls, SMS links and SMS replies, and no links
at all (IVR calls and SMS replies: one INSERT … SELECT each).
"""
import argparse
import json
import resource
import subprocess
import sys
import time
from datetime import date

from sqlalchemy import text

from callcenter.extensions import db
from callcenter.services.checkins import schedule as checkin_schedule
from callcenter.services.outbox.enqueue import enqueue_daily_checkins

from . import databases, generate
from .build_once import PeakSampler, _status_kib
from .run import ROOT

DATASET = "sampark_bench_checkins_300k"
SIZE = {"patients": 1_000_000, "active": 300_000}
# percentages of patients per channel (by patient id, so every run is the same)
SCENARIOS = {
    "all SMS link": [("sms_link", 100)],
    "mix": [("ivr", 40), ("sms_link", 45), ("sms_reply", 10), ("none", 5)],
    "no links": [("ivr", 60), ("sms_reply", 40)],  # only the set-based INSERT … SELECT
}
COLUMNS = ["scenario", "run", "enqueued", "ivr", "sms link", "sms reply", "seconds", "RSS growth MiB",
           "RSS peak MiB", "server growth MiB"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=databases.pg_url(DATASET))
    parser.add_argument("--reuse", action="store_true", help="reuse the data set if it was generated before")
    parser.add_argument("--patients", type=int, default=SIZE["patients"])
    parser.add_argument("--active", type=int, default=SIZE["active"])
    parser.add_argument("--once", type=date.fromisoformat, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.once:
        return _once(args.url, args.once)

    manifest = databases.read_manifest(args.url)
    wanted = {"patients": args.patients, "active": args.active}
    if not (args.reuse and manifest and all(manifest.get(k) == v for k, v in wanted.items())
            and databases.exists(args.url)):
        manifest = generate.generate(args.url, args.patients, args.active, days=1)
    day = date.fromisoformat(manifest["day"])
    rows = []
    for scenario, mix in SCENARIOS.items():
        _prepare(args.url, mix)
        for run in ("first", "again"):
            result = _enqueue(args.url, day)
            print(f"  {scenario} {run}: {json.dumps(result)}", flush=True)
            rows.append({"scenario": scenario, "run": run, **result})
    print()
    print(table(rows))
    failed = [r for r in rows if r["run"] == "again" and r["enqueued"] != 0]
    for row in failed:
        print(f"FAIL: the second enqueue ({row['scenario']}) added {row['enqueued']}")
    return 1 if failed else 0


def _prepare(url, mix):
    """Channels as the scenario says; an empty outbox and no links (as on a fresh morning)."""
    cases, upto = [], 0
    for channel, percent in mix:
        upto += percent
        cases.append(f"WHEN id % 100 < {upto} THEN '{channel}'")
    app = databases.make_app(url)
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text(f"UPDATE patient SET checkin_channel = CASE {' '.join(cases)} END"))
            conn.execute(text("TRUNCATE outbound_message, checkin_link RESTART IDENTITY CASCADE"))
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE patient, outbound_message, checkin_link"))
        db.engine.dispose()


def _enqueue(url, day):
    done = subprocess.run([sys.executable, "-m", "bench.checkins_enqueue", "--url", url, "--once", day.isoformat()],
                          cwd=ROOT, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"the enqueue on {url} failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _once(url, day):
    """One enqueue in this process, measured; prints one JSON line."""
    app = databases.make_app(url)
    with app.app_context():
        server_pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
        now, _end = checkin_schedule.window(day)  # when the scheduler runs it
        db.session.commit()
        sampler = PeakSampler(server_pid)
        server_before = _status_kib(server_pid, "RssAnon") or 0
        maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        sampler.start()
        started = time.perf_counter()
        counts = enqueue_daily_checkins(day, now=now)
        seconds = time.perf_counter() - started
        sampler.stop()
        maxrss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({
            "enqueued": counts["enqueued"], "ivr": counts["ivr"], "sms_link": counts["sms_link"],
            "sms_reply": counts["sms_reply"], "seconds": round(seconds, 2),
            "rss_growth_mib": round((maxrss_after - maxrss_before) / 1024, 1),
            "rss_peak_mib": round(max(maxrss_after, sampler.rss_peak) / 1024, 1),
            "server_growth_mib": round((sampler.server_peak - server_before) / 1024, 1)}), flush=True)
        db.engine.dispose()
    return 0


def table(rows):
    keys = {"sms link": "sms_link", "sms reply": "sms_reply", "RSS growth MiB": "rss_growth_mib",
            "RSS peak MiB": "rss_peak_mib", "server growth MiB": "server_growth_mib"}
    cells = []
    for row in rows:
        line = []
        for column in COLUMNS:
            value = row.get(keys.get(column, column))
            line.append(f"{value:,}" if isinstance(value, int) else f"{value:.2f}" if column == "seconds"
                        else f"{value:.1f}" if isinstance(value, float) else str(value))
        cells.append(line)
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(COLUMNS)]
    fmt = lambda values: "| " + " | ".join(v.ljust(w) if i < 2 else v.rjust(w)  # noqa: E731
                                           for i, (v, w) in enumerate(zip(values, widths, strict=True))) + " |"
    return "\n".join([fmt(COLUMNS), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *(fmt(r) for r in cells)])


if __name__ == "__main__":
    raise SystemExit(main())
