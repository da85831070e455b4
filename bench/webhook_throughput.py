"""Inbound SMS webhook throughput: POST /twilio/sms on gunicorn, every request signed and validated.

    .venv/bin/python -m bench.webhook_throughput                       # SQLite and PostgreSQL, print a table
    .venv/bin/python -m bench.webhook_throughput --databases sqlite --requests 500   # a quick run

For each database: a fresh database (a temporary SQLite file, or the PostgreSQL database
sampark_bench_webhook, made again), a district of patients with today's call list, then gunicorn on
127.0.0.1 (sync workers) and a bounded client loop (a thread pool of --concurrency threads, urllib, one
connection per request, as Twilio makes them). Requests are signed beforehand with
twilio.request_validator.RequestValidator, so the client's time is only HTTP. Scenarios:

- mix: what a morning's replies look like — fine, a need with a reading, a warning sign, Hindi, text not
  understood, unknown numbers, and Twilio retries of a MessageSid already received (5%);
- forged: the same requests with a wrong signature (403): the cost of refusing, no database write.

Afterwards the database is checked: one InboundMessage per MessageSid, nothing stored for forged ones.
"""
import argparse
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, insert, select, text
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
PG_NAME = "sampark_bench_webhook"
TOKEN = "bench-auth-token-0123456789abcdef"
COLUMNS = ["database", "scenario", "requests", "concurrency", "workers", "req/s", "p50 ms", "p95 ms", "p99 ms",
           "errors"]
# (share of requests, body, known sender?)
MIX = [
    (40, "1", True), (15, "2 SPO2 96", True), (5, "SPO2 91", True), (10, "ठीक हूँ, बुखार 99.4", True),
    (10, "theek hai temp 98.6", True), (10, "kal baat karenge", True), (5, "4 ambulance", False),
]
RETRY_SHARE = 0.05


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--patients", type=int, default=20_000)
    args = parser.parse_args(argv)
    rows = []
    for backend in args.databases.split(","):
        rows += run_database(backend.strip(), args)
    print_table(rows)
    return 0


def run_database(backend, args):
    tmp = Path(tempfile.mkdtemp(prefix="sampark-webhook-"))
    try:
        url = fresh_database(backend, tmp)
        phones = seed(url, args.patients)
        port = free_port()
        server = start_gunicorn(url, port, args.workers, tmp / "gunicorn.log")
        try:
            endpoint = f"http://127.0.0.1:{port}/twilio/sms"
            rows = []
            warm = signed_requests(endpoint, phones, 50, prefix="WARM")
            fire(warm, args.concurrency)
            mix = signed_requests(endpoint, phones, args.requests, prefix="MIX")
            rows.append(measure(backend, "mix", mix, args))
            forged = signed_requests(endpoint, phones, args.requests, prefix="FORGED", token="not-the-token")
            rows.append(measure(backend, "forged (403)", forged, args, expect=403))
            check(url, warm + mix, forged)
            return rows
        finally:
            server.terminate()
            server.wait(timeout=30)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def fresh_database(backend, tmp):
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'webhook.db'}"
    engine = create_engine(f"{PG_SERVER}/postgres".replace("postgresql://", "postgresql+psycopg://"),
                           isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{PG_NAME}"'))
    engine.dispose()
    return f"{PG_SERVER}/{PG_NAME}"


def seed(url, patients):
    """A district of active patients with one phone each, and today's call list (check-ins move its tasks)."""
    from callcenter import create_app
    from callcenter.clock import local_date, utcnow
    from callcenter.extensions import db
    from callcenter.models import District, Patient
    from callcenter.services.calls import call_lists
    from config import database_url

    app = create_app("config.Config", SQLALCHEMY_DATABASE_URI=database_url(url))
    now = utcnow()
    phones = [f"+9197{n:08d}" for n in range(patients)]
    with app.app_context():
        db.create_all()
        district = District(name="Raipur", state="Chhattisgarh")
        db.session.add(district)
        db.session.flush()
        rows = [{"district_id": district.id, "name": f"Patient {n}", "name_key": f"patient {n}", "age": 30 + n % 50,
                 "sex": "female" if n % 2 else "male", "phone": phone, "setting": "home",
                 "positive_date": (now - timedelta(days=3)).date(), "comorbidities": "", "language": "hi" if n % 3
                 else "en", "status": "active", "created_at": now, "checkin_channel": "sms_reply"}
                for n, phone in enumerate(phones)]
        for start in range(0, len(rows), 5000):
            db.session.execute(insert(Patient), rows[start:start + 5000])
        db.session.commit()
        call_lists.build_call_list(local_date(now), now=now, due_at=now)
        db.engine.dispose()
    return phones


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(url, port, workers, log_path):
    env = dict(os.environ, DATABASE_URL=url, TWILIO_AUTH_TOKEN=TOKEN, SECRET_KEY="bench-secret",
               MESSAGING_BACKEND="console", WEBHOOK_BASE_URL="")
    log = open(log_path, "w")  # noqa: SIM115 (closed with the process)
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}", "--log-level", "warning",
         "app:create_app()"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise RuntimeError("gunicorn exited:\n" + Path(log_path).read_text())
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=10).read()
                return server
            except OSError:  # refused, reset or timed out while the workers boot
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start:\n" + Path(log_path).read_text())
    except BaseException:
        server.terminate()  # never leave a server behind
        server.wait(timeout=30)
        raise


def signed_requests(endpoint, phones, n, prefix, token=TOKEN):
    """n (sid, body bytes, headers), signed for `endpoint`; a share are retries of an earlier MessageSid."""
    rng = random.Random(f"{prefix}{n}")
    weights = [share for share, _body, _known in MIX]
    validator = RequestValidator(token)
    made, out = [], []
    for i in range(n):
        if made and rng.random() < RETRY_SHARE:
            out.append(rng.choice(made))  # Twilio retrying a webhook: the very same request
            continue
        _share, body, known = rng.choices(MIX, weights)[0]
        sender = rng.choice(phones) if known else f"+9196{rng.randrange(10 ** 8):08d}"
        params = {"MessageSid": f"SM{prefix}{i:08d}", "AccountSid": "ACbench", "From": sender,
                  "To": "+15005550006", "Body": body, "NumMedia": "0"}
        headers = {"X-Twilio-Signature": validator.compute_signature(endpoint, params),
                   "Content-Type": "application/x-www-form-urlencoded"}
        request = (endpoint, urllib.parse.urlencode(params).encode(), headers, params["MessageSid"])
        made.append(request)
        out.append(request)
    return out


def _post(request):
    endpoint, data, headers, _sid = request
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(urllib.request.Request(endpoint, data=data, headers=headers), timeout=30) as r:
            r.read()
            status = r.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError:
        status = 0
    return status, time.perf_counter() - started


def fire(requests, concurrency):
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(_post, requests))


def measure(backend, scenario, requests, args, expect=200):
    started = time.perf_counter()
    results = fire(requests, args.concurrency)
    elapsed = time.perf_counter() - started
    latencies = sorted(t for _status, t in results)
    errors = sum(1 for status, _t in results if status != expect)
    quantiles = statistics.quantiles(latencies, n=100)
    return {"database": backend, "scenario": scenario, "requests": len(requests), "concurrency": args.concurrency,
            "workers": args.workers, "req/s": f"{len(requests) / elapsed:.0f}", "p50 ms": f"{quantiles[49] * 1000:.1f}",
            "p95 ms": f"{quantiles[94] * 1000:.1f}", "p99 ms": f"{quantiles[98] * 1000:.1f}", "errors": errors}


def check(url, accepted, forged):
    """One stored message per MessageSid sent with a good signature; none for the forged ones."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        stored = set(conn.scalars(text("SELECT provider_sid FROM inbound_message")))
        checkins = conn.scalar(select(func.count()).select_from(text("check_in")))
    engine.dispose()
    sids = {sid for *_rest, sid in accepted}
    assert stored == sids, f"{len(stored)} messages stored for {len(sids)} MessageSids"
    assert not stored & {sid for *_rest, sid in forged}
    print(f"  checked: {len(stored)} messages for {len(sids)} MessageSids ({len(accepted) - len(sids)} retries), "
          f"{checkins} check-ins, 0 forged stored", file=sys.stderr)


def print_table(rows):
    print(f"\nInbound SMS webhook (signature validated), {datetime.now():%Y-%m-%d}\n")
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + "|".join("---:" if c not in ("database", "scenario") else "---" for c in COLUMNS) + "|")
    for row in rows:
        print("| " + " | ".join(str(row[c]) for c in COLUMNS) + " |")


if __name__ == "__main__":
    raise SystemExit(main())
