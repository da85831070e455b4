"""Time one daily list build in a fresh process and print the measurements as one JSON line.

    .venv/bin/python -m bench.build_once --url … --day 2026-11-23

A process of its own for each build, so that its peak RSS belongs to that build alone. Run by
bench/run.py; it is the real service (callcenter.services.calls.call_lists.build_call_list) in an app
context, at the time the scheduler runs it (CALL_LIST_TIME, local).
"""
import argparse
import json
import os
import resource
import threading
import time
import tracemalloc
from datetime import date, datetime
from datetime import time as clock_time
from pathlib import Path

from flask import current_app
from sqlalchemy import text

from callcenter.clock import local_to_utc
from callcenter.extensions import db
from callcenter.services.calls.call_lists import build_call_list

from . import databases

MIB = 1024 * 1024


def build_time(day):
    """When the daily job builds `day`'s list (naive UTC)."""
    return local_to_utc(datetime.combine(day, clock_time.fromisoformat(current_app.config["CALL_LIST_TIME"])))


class PeakSampler(threading.Thread):
    """Samples memory every few milliseconds: this process's RSS and, on PostgreSQL, the private
    memory (RssAnon) of the server process serving our connection, when /proc lets us read it."""

    def __init__(self, server_pid=None, interval=0.005):
        super().__init__(daemon=True)
        self.server_pid, self.interval = server_pid, interval
        self.rss_peak = self.server_peak = 0
        self._stop_event = threading.Event()

    def run(self):
        while not self._stop_event.is_set():
            self.sample()
            time.sleep(self.interval)

    def sample(self):
        self.rss_peak = max(self.rss_peak, _status_kib("self", "VmRSS") or 0)
        if self.server_pid:
            self.server_peak = max(self.server_peak, _status_kib(self.server_pid, "RssAnon") or 0)

    def stop(self):
        self._stop_event.set()
        self.join()
        self.sample()


def _status_kib(pid, field):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _cpu_seconds(pid):
    """User + system CPU time of a process (from /proc/PID/stat), or None if unreadable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(day):
    """Build `day`'s list once; returns the measurements (memory in MiB)."""
    # Connect (and load the settings table's pages) before measuring: a running server is connected.
    server_pid = None
    if db.engine.dialect.name == "postgresql":
        server_pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
    db.session.commit()
    sampler = PeakSampler(server_pid)
    server_before = (_status_kib(server_pid, "RssAnon") or 0) if server_pid else 0
    rss_before = _status_kib("self", "VmRSS") or 0
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    server_cpu_before = _cpu_seconds(server_pid) if server_pid else None
    tracemalloc.start()
    sampler.start()
    started = time.perf_counter()
    result = build_call_list(day, now=build_time(day))
    seconds = time.perf_counter() - started
    sampler.stop()
    _, python_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    maxrss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    server_cpu_after = _cpu_seconds(server_pid) if server_cpu_before is not None else None
    return {
        "created": result["created"], "missed": result["missed"], "seconds": round(seconds, 3),
        "python_peak_mib": round(python_peak / MIB, 2),
        # Sampled peak RSS over the RSS just before the build; ru_maxrss only moves past the earlier peak.
        "rss_growth_mib": round((sampler.rss_peak - rss_before) / 1024, 2),
        "maxrss_growth_mib": round((maxrss_after - maxrss_before) / 1024, 2),
        "rss_peak_mib": round(max(maxrss_after, sampler.rss_peak) / 1024, 1),
        "server_growth_mib": round((sampler.server_peak - server_before) / 1024, 2) if server_pid else None,
        # CPU the database server process spent on the build: less disturbed by other load than wall time.
        "server_cpu_seconds": round(server_cpu_after - server_cpu_before, 2) if server_cpu_after is not None else None,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--day", type=date.fromisoformat, required=True)
    args = parser.parse_args(argv)
    app = databases.make_app(args.url)
    with app.app_context():
        print(json.dumps(measure(args.day)), flush=True)
        db.engine.dispose()


if __name__ == "__main__":
    main()
