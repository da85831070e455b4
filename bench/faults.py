"""The fault runs: what is lost and what is duplicated when a part of Sampark dies mid-work, on PostgreSQL.

    .venv/bin/python -m bench.faults                       # all three
    .venv/bin/python -m bench.faults --only db_restart     # or scheduler_kill, sender_kill

- db_restart (bench/fault_db.py): volunteers at work (the load run's), the database stopped as by a power cut
  and started again mid-run; acknowledged attempts missing afterwards (must be 0) and the errors volunteers saw.
- scheduler_kill (bench/fault_scheduler.py): `flask scheduler` killed (-9) in the middle of the daily list's
  INSERT; a scheduler started again at once, or a second one already running, or a killed `flask
  make-call-lists`: today's list built within a minute, exactly once, no Jobs entry left `running`.
- sender_kill (bench/fault_sender.py): `flask send-outbox` killed (-9) three times mid-pass against a local fake
  Twilio (bench/fake_twilio.py) that refuses, loses answers and stalls; messages sent twice and never sent
  (both must be 0 after the last pass).

Each run uses a PostgreSQL cluster of its own (bench/cluster.py), never the shared server. The exit status is 1
if anything that must be 0 is not.
"""
import argparse
import sys

from . import fault_db, fault_scheduler, fault_sender
from .cluster import Cluster

RUNS = {"db_restart": fault_db.run, "scheduler_kill": fault_scheduler.run, "sender_kill": fault_sender.run}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=sorted(RUNS), action="append",
                        help="run only this one (repeatable; default: all)")
    parser.add_argument("--active", type=int, default=None,
                        help="active patients in the data set (defaults: db_restart 30,000, scheduler_kill "
                             "100,000, sender_kill 2,000)")
    args = parser.parse_args(argv)
    failures = []
    for name in args.only or list(RUNS):
        print(f"\n== {name}", flush=True)
        with Cluster() as pg:
            problems = RUNS[name](pg, active=args.active)
        failures += [f"{name}: {p}" for p in problems]
    print()
    for failure in failures:
        print(f"FAIL {failure}")
    if not failures:
        print("nothing lost, nothing duplicated")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
