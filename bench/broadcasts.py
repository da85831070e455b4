"""Queuing an awareness broadcast at state scale: a state-level officer's broadcast to every active patient
(300,000 in the generated data set; one message per phone), drafted (the audience counted) and approved by a
second officer (one INSERT … SELECT into the outbox), with this process's peak memory before and after.

    .venv/bin/python -m bench.generate --url postgresql://postgres@127.0.0.1:5432/sampark_bench_300k
    .venv/bin/python -m bench.broadcasts --url postgresql://postgres@127.0.0.1:5432/sampark_bench_300k

Each round's broadcast and its outbox rows are deleted afterwards (their audit rows stay: the log is
append-only).
"""
import argparse
import resource
import statistics
import time

from sqlalchemy import delete, func, select

from callcenter.extensions import db
from callcenter.models import Broadcast, OutboundMessage, Patient, User
from callcenter.services.broadcasts import broadcasts

from .databases import make_app

HELPLINE = {"district": "Chhattisgarh", "what": "oxygen", "number": "0771-4000000", "hours": "24 hours"}
OFFICERS = (10**8 + 11, 10**8 + 12)  # two state-level administrators made here if missing (four eyes)


def _officers():
    for n, user_id in enumerate(OFFICERS):
        if db.session.get(User, user_id) is None:
            db.session.add(User(id=user_id, username=f"bench-broadcaster-{n}", full_name=f"Bench officer {n}",
                                role="admin", district_id=None, password_hash="!bench-user-cannot-sign-in",
                                language="en", active=True))
    db.session.commit()
    return [db.session.get(User, user_id) for user_id in OFFICERS]


def _peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one_round(app):
    with app.app_context():
        drafter, approver = _officers()
        before = _peak_mib()
        t0 = time.perf_counter()
        draft = broadcasts.draft(drafter, "Bench: oxygen helpline", "broadcast_helpline", HELPLINE,
                                 {"who": "patients"}, None)
        t1 = time.perf_counter()
        queued = broadcasts.approve(draft.id, approver)
        t2 = time.perf_counter()
        rows = db.session.scalar(select(func.count()).where(OutboundMessage.broadcast_id == draft.id))
        result = {"people": draft.people, "phones": queued.phones, "rows": rows, "draft": t1 - t0,
                  "approve": t2 - t1, "peak_before": before, "peak_after": _peak_mib()}
        db.session.execute(delete(OutboundMessage).where(OutboundMessage.broadcast_id == draft.id))
        db.session.execute(delete(Broadcast).where(Broadcast.id == draft.id))
        db.session.commit()
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    app = make_app(args.url)
    with app.app_context():
        active = db.session.scalar(select(func.count()).where(Patient.status == "active"))
    print(f"{active:,} active patients")
    results = [one_round(app) for _ in range(args.rounds)]
    print(f"{'round':>5} {'people':>9} {'phones':>9} {'rows':>9} {'draft s':>8} {'approve s':>9} {'rows/s':>8} "
          f"{'peak MiB before → after':>24}")
    for n, r in enumerate(results, 1):
        print(f"{n:>5} {r['people']:>9,} {r['phones']:>9,} {r['rows']:>9,} {r['draft']:>8.2f} {r['approve']:>9.2f} "
              f"{r['rows'] / r['approve']:>8,.0f} {r['peak_before']:>12.0f} → {r['peak_after']:.0f}")
    for key in ("draft", "approve"):
        values = [r[key] for r in results]
        print(f"{key}: median {statistics.median(values):.2f} s (min {min(values):.2f}, max {max(values):.2f})")


if __name__ == "__main__":
    main()
