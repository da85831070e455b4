"""The call loop through the JSON API at state scale (issue 20's first row): N volunteers, each with a bearer token,
claim the next call (POST /api/v1/tasks/claim) and log it (POST /api/v1/tasks/{id}/attempts), again and again,
against gunicorn as bin/start runs it (2 gthread workers × 8 threads), on a data set made by bench/generate.py.

    .venv/bin/python -m bench.call_loop --url postgresql://postgres@127.0.0.1:5432/sampark_bench_300k
    .venv/bin/python -m bench.call_loop --url sqlite:///bench/out/x_bench.db --volunteers 20

Each repetition (--repeat, 3) runs, against the same instance:
- the reference: the sign-in page (GET /login) asked by the same number of clients without pauses, for the same
  time: requests/s and the app's CPU per request;
- the volunteers without pauses: cycles/s (a cycle: a claim and its logged call), the claim's p95, and the app's
  (gunicorn's processes) and PostgreSQL's (the backends serving this database) CPU milliseconds per cycle;
- the volunteers pausing about --pause seconds (1) after each request, as people do: the claim's p50 and p95 and
  the log's p95. Each pause is drawn between half and one and a half times the mean, and each volunteer starts
  at a random moment of the first two pauses: volunteers pausing in step would send their claims in bursts of a
  hundred every two seconds, which no call centre does (the first runs measured that burst: p50 30 ms, p95 400).
Every claim must be of a task nobody else holds (checked: 0 double claims), every log must answer 201.

`rows(url, repeat=3, ...)` gives bench.web its rows: [{"what", "unit", "now": [value per repetition],
"reference": [...] or None, "reference_what", "target"}].
"""
import argparse
import asyncio
import random
import threading
import time
import uuid
from datetime import timedelta

import aiohttp
from sqlalchemy import create_engine, event, text, update

from callcenter.clock import local_date, utcnow
from callcenter.extensions import db
from callcenter.models import CallTask, TaskStatus, User
from callcenter.services.calls.call_lists import build_call_list
from callcenter.services.core import accounts, audit

from . import databases, instances, proctree
from .load import _pct, spread_volunteers


def prepare(url, n):
    """Tokens for `n` volunteers spread over the districts; today's list built and due now. Returns the tokens."""
    now = utcnow()
    app = databases.make_app(url)
    with app.app_context():
        ids = [user_id for user_id, _name in spread_volunteers(n)]
        # Calls held by the bench's volunteers from an earlier run go back to the queue.
        db.session.execute(update(CallTask)
                           .where(CallTask.status == TaskStatus.CLAIMED, CallTask.claimed_by_id.in_(ids))
                           .values(status=TaskStatus.PENDING, claimed_by_id=None, claimed_at=None))
        db.session.commit()
        tokens = [accounts.issue_token(db.session.get(User, i))[0] for i in ids]
        db.session.commit()
        build_call_list(local_date(now), now=now, due_at=now - timedelta(minutes=1))
        db.engine.dispose()
    return tokens


def statements_per_cycle(url, token, cycles=5):
    """SQL statements of one API cycle in a running process (in-process, the real app and database): counted over
    `cycles` cycles after two that warm it up (settings read, stale claims released)."""
    app = databases.make_app(url)
    client, headers, seen = app.test_client(), {"Authorization": f"Bearer {token}"}, []

    def cycle():
        task = client.post("/api/v1/tasks/claim", json={}, headers=headers).get_json()
        report = {"submission_key": uuid.uuid4().hex, "outcome": "connected", "spo2": 97}
        assert client.post(f"/api/v1/tasks/{task['id']}/attempts", json=report, headers=headers).status_code == 201

    with app.app_context():
        for _ in range(2):
            cycle()
        counter = lambda *args: seen.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", counter)
        for _ in range(cycles):
            cycle()
        event.remove(db.engine, "before_cursor_execute", counter)
        db.engine.dispose()
    return len(seen) / cycles


def commit_rates(url, writers=16, seconds=5.0):
    """(audited commits/s, plain commits/s) by `writers` threads: an audited commit (one audit row, chained under
    the chain's lock, held until the commit's WAL flush) against a plain one (one row into a scratch table), the
    same run. The first is the ceiling of audited work on this database (two audited commits a cycle)."""
    app = databases.make_app(url)
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("CREATE TABLE IF NOT EXISTS bench_commit (x integer)"))

    def audited():
        audit.record(None, "bench.commit", "bench", 1, None)
        db.session.commit()

    def plain():
        db.session.execute(text("INSERT INTO bench_commit (x) VALUES (1)"))
        db.session.commit()

    def rate(work):
        counts, stop = [], time.monotonic() + seconds

        def writer():
            n = 0
            with app.app_context():
                while time.monotonic() < stop:
                    work()
                    n += 1
                db.session.remove()
            counts.append(n)

        threads = [threading.Thread(target=writer) for _ in range(writers)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return sum(counts) / (time.monotonic() - started)

    try:
        return rate(audited), rate(plain)
    finally:
        with app.app_context():
            with db.engine.begin() as conn:
                conn.execute(text("DROP TABLE bench_commit"))
            db.engine.dispose()


class _Meter:
    """CPU seconds of the gunicorn instance and of the PostgreSQL backends serving `database` (None on SQLite)."""

    def __init__(self, instance, url):
        self.instance, self.url = instance, url

    def _backends(self):
        if databases.backend(self.url) != "postgresql":
            return None
        name = databases.normalized(self.url).database
        engine = create_engine(databases.normalized(self.url).set(database="postgres"))
        with engine.connect() as conn:
            pids = conn.scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = :d AND pid <> "
                                     "pg_backend_pid()"), {"d": name}).all()
        engine.dispose()
        return sum(proctree.cpu_seconds(pid, reaped=False) for pid in pids)

    def sample(self):
        return self.instance.cpu_seconds(), self._backends()


async def _sign_in_pages(base, clients, seconds):
    """The reference: GET /login by `clients` clients without pauses. Returns the requests answered."""
    done = 0
    stop = time.monotonic() + seconds

    async def client(session):
        nonlocal done
        while time.monotonic() < stop:
            async with session.get(f"{base}/login") as response:
                await response.read()
                assert response.status == 200, response.status
                done += 1

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients)) as session:
        await asyncio.gather(*(client(session) for _ in range(clients)))
    return done


async def _volunteers(base, tokens, seconds, pause):
    """The volunteers at work. Returns (cycles, claim latencies in s, claimed task ids, errors, save latencies)."""
    claims, claimed, errors, saves = [], [], [], []
    cycles = 0
    stop = time.monotonic() + seconds

    rng = random.Random(20)

    def wait():  # people do not pause in step: each pause is drawn around the mean (0.5-1.5 of it)
        return asyncio.sleep(pause * rng.uniform(0.5, 1.5) if pause else 0)

    async def volunteer(session, token):
        nonlocal cycles
        headers = {"Authorization": f"Bearer {token}"}
        if pause:  # nor do they start in step
            await asyncio.sleep(rng.uniform(0, 2 * pause))
        while time.monotonic() < stop:
            started = time.monotonic()
            async with session.post(f"{base}/api/v1/tasks/claim", json={}, headers=headers) as response:
                body = await response.json() if response.status == 200 else await response.read()
            claims.append(time.monotonic() - started)
            if response.status == 204:
                await asyncio.sleep(1)  # nothing due for this volunteer's district now
                continue
            if response.status != 200:
                errors.append(f"claim {response.status}")
                await asyncio.sleep(1)
                continue
            claimed.append(body["id"])
            await wait()
            report = {"submission_key": uuid.uuid4().hex, "outcome": "connected", "spo2": 97}
            started = time.monotonic()
            async with session.post(f"{base}/api/v1/tasks/{body['id']}/attempts", json=report,
                                    headers=headers) as response:
                await response.read()
                saves.append(time.monotonic() - started)
                if response.status != 201:
                    errors.append(f"log {response.status}")
                else:
                    cycles += 1
            await wait()

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=len(tokens)),
                                     timeout=aiohttp.ClientTimeout(total=120)) as session:
        await asyncio.gather(*(volunteer(session, t) for t in tokens))
    return cycles, claims, claimed, errors, saves


def _cpu_per(before, after, count):
    """Milliseconds of CPU per unit of work, for each meter (None where it cannot be read)."""
    return [None if a is None or b is None or not count else (a - b) * 1000 / count
            for b, a in zip(before, after, strict=True)]


def measure(url, repeat=3, volunteers=100, seconds=20.0, pause=1.0, workers=2, threads=8, log=print):
    """Run the reference and the loops `repeat` times; returns {figure: [value per repetition]}."""
    tokens = prepare(url, volunteers + 1)
    tokens, spare = tokens[:-1], tokens[-1]
    env = instances.app_env(url, SETTINGS_CACHE_SECONDS=5)
    instance = instances.start_instance(env, workers=workers, threads=threads, name="call-loop")
    meter = _Meter(instance, url)
    figures = {}
    try:
        for rep in range(repeat):
            before = meter.sample()
            t0 = time.monotonic()
            pages = asyncio.run(_sign_in_pages(instance.url, volunteers, seconds))
            elapsed = time.monotonic() - t0
            app_ms, _pg = _cpu_per(before, meter.sample(), pages)
            figures.setdefault("sign-in req/s", []).append(pages / elapsed)
            figures.setdefault("sign-in app ms", []).append(app_ms)

            before = meter.sample()
            t0 = time.monotonic()
            cycles, claims, claimed, errors, _saves = asyncio.run(_volunteers(instance.url, tokens, seconds, 0))
            elapsed = time.monotonic() - t0
            app_ms, pg_ms = _cpu_per(before, meter.sample(), cycles)
            doubles = len(claimed) - len(set(claimed))
            figures.setdefault("cycles/s", []).append(cycles / elapsed)
            figures.setdefault("claim p95 ms", []).append(_pct(sorted(claims), 95))
            figures.setdefault("app ms/cycle", []).append(app_ms)
            figures.setdefault("PG ms/cycle", []).append(pg_ms)
            figures.setdefault("errors", []).append(len(errors) + doubles)

            _c, paused_claims, paused_claimed, paused_errors, paused_saves = asyncio.run(
                _volunteers(instance.url, tokens, seconds, pause))
            figures.setdefault("claim p50 ms, paused", []).append(_pct(sorted(paused_claims), 50))
            figures.setdefault("log p95 ms, paused", []).append(_pct(sorted(paused_saves), 95))
            figures.setdefault("claim p95 ms, paused", []).append(_pct(sorted(paused_claims), 95))
            figures["errors"][-1] += len(paused_errors) + len(paused_claimed) - len(set(paused_claimed))
            log(f"  call loop {rep + 1}/{repeat}: sign-in {pages / seconds:.0f} req/s; {cycles / elapsed:.1f} "
                f"cycles/s, claim p95 {figures['claim p95 ms'][-1]:.0f} ms, app {app_ms:.1f} ms/cycle, PG "
                f"{pg_ms if pg_ms is None else round(pg_ms, 1)} ms/cycle; paused p95 "
                f"{figures['claim p95 ms, paused'][-1]:.0f} ms (p50 {figures['claim p50 ms, paused'][-1]:.0f}, log p95 "
                f"{figures['log p95 ms, paused'][-1]:.0f}); errors {figures['errors'][-1]}"
                + (f" ({', '.join(sorted(set(errors + paused_errors)))})" if errors or paused_errors else ""))
    finally:
        proctree.started().stop(instance.proc)
    figures["statements"] = [statements_per_cycle(url, spare)] * repeat
    if databases.backend(url) == "postgresql":  # (SQLite: one writer at a time whatever the chain does)
        for _ in range(repeat):
            chained, plain = commit_rates(url)
            figures.setdefault("audited commits/s", []).append(chained)
            figures.setdefault("plain commits/s", []).append(plain)
    return figures


def rows(url, repeat=3, volunteers=100, seconds=20.0, pause=1.0, workers=2, threads=8, log=print):
    f = measure(url, repeat, volunteers, seconds, pause, workers, threads, log=log)
    who = f"{volunteers} volunteers"
    return [
        {"what": f"claim + log a call, {who} without pauses", "unit": "cycles/s", "now": f["cycles/s"],
         "reference": f["sign-in req/s"], "reference_what": "sign-in page GET, req/s", "target": ">= 150"},
        {"what": "app CPU per cycle", "unit": "ms", "now": f["app ms/cycle"], "reference": f["sign-in app ms"],
         "reference_what": "sign-in page GET, ms of CPU", "target": "<= 10"},
        {"what": "PostgreSQL CPU per cycle", "unit": "ms", "now": f["PG ms/cycle"], "reference": None,
         "target": ""},
        {"what": f"claim p95, {who} without pauses", "unit": "ms", "now": f["claim p95 ms"], "reference": None,
         "target": ""},
        {"what": f"claim p95, {who} pausing {pause:g} s", "unit": "ms", "now": f["claim p95 ms, paused"],
         "reference": None, "target": "< 250"},
        {"what": f"claim p50, {who} pausing {pause:g} s", "unit": "ms", "now": f["claim p50 ms, paused"],
         "reference": None, "target": ""},
        {"what": f"log p95, {who} pausing {pause:g} s", "unit": "ms", "now": f["log p95 ms, paused"],
         "reference": None, "target": ""},
        {"what": "SQL statements per cycle (a running process; the same count once, not per repetition)",
         "unit": "statements",
         "now": f["statements"], "reference": None, "target": "<= 10"},
        {"what": "audited commits/s, 16 writers (the chain's lock is held to the commit's WAL flush; a cycle has two)",
         "unit": "commits/s", "now": f.get("audited commits/s", []), "reference": f.get("plain commits/s"),
         "reference_what": "plain commits/s, 16 writers", "target": ">= 300"},
        {"what": "errors and double claims", "unit": "", "now": f["errors"], "reference": None, "target": "<= 0"},
    ]


def main(argv=None):
    from .web import table

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="a data set made by bench/generate.py")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--volunteers", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds of each run")
    parser.add_argument("--pause", type=float, default=1.0, help="the paused run's seconds between requests")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (bin/start: 2)")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker (bin/start: 8)")
    args = parser.parse_args(argv)
    print(table(rows(args.url, args.repeat, args.volunteers, args.seconds, args.pause, args.workers, args.threads)))


if __name__ == "__main__":
    main()
