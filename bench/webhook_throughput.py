"""Signed Twilio webhooks (SMS and IVR mixed) through gunicorn as `bin/start` runs it, against a data set.

    .venv/bin/python -m bench.webhook_throughput --url postgresql://postgres@127.0.0.1:5432/NAME_bench
    .venv/bin/python -m bench.webhook_throughput --url sqlite:///bench/out/NAME_bench.db --requests 600

The database must already hold a data set (`python -m bench.generate`: active patients with today's call list;
for PostgreSQL a copy, `CREATE DATABASE x_bench TEMPLATE sampark_bench_300k`): the run WRITES to it (messages,
IVR calls, check-ins, audit rows), so never point it at the template. Its name must contain "bench".

One run starts gunicorn with bin/start's settings (`--workers 2 --worker-class gthread --threads 8 --timeout 120
--access-logfile -`, the repository's gunicorn.conf.py; the access log goes to a temporary file) and a second
gunicorn, with the same settings, serving bench/webhook_floor.py: one route that checks the signature with the
same RequestValidator and answers a fixed TwiML (no database). The client is a pool of 16 threads (urllib, one
connection per request, as Twilio calls); every request is signed beforehand, so the client's time is HTTP only.
Each repetition measures, one after the other, in the same minute:

- signed: the mix. Half the requests are SMS (a morning's replies: fine, needs with readings, a warning sign,
  Hindi, text not understood, unknown numbers, 5 % Twilio retries of a MessageSid already sent), half are IVR
  steps (calls of five webhooks each: answered, feeling, SpO2, temperature, need; one in ten answered a step
  again, as Twilio repeats a webhook). A call's webhooks go in order; calls and SMS interleave.
- forged: the same SMS with a wrong signature (403, nothing stored): the issue's reference.
- floor: the same SMS, signed, to the bare route: what gunicorn, the client and the signature check cost alone.

Afterwards the database is checked: one message per MessageSid sent, nothing stored for forged ones, one IVR call
per CallSid, each completed call with its one check-in.

For a runner (`bench.web --all`): `rows(url, repeat=3, requests=2000)` runs the above and returns

    [{"what": str, "now": [one value per repetition], "reference": [same, forged, same repetition],
      "target": str, "unit": str}, ...]

four rows: signed req/s (target ">= 500 req/s"), signed p95 ms, the floor's req/s, and the server's CPU ms per
signed request (gunicorn workers + PostgreSQL backends, from /proc); each "reference" is the forged run of the
same repetition. `summary(values)` gives "median (min–max)".
"""
import argparse
import os
import random
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
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-auth-token-0123456789abcdef"
SECRET = "bench-webhook-secret-key-0123456789abcdef-not-for-production"
CONCURRENCY = 16
# bin/start's gunicorn command line, less the bind.
GUNICORN = ["--workers", "2", "--worker-class", "gthread", "--threads", "8", "--timeout", "120",
            "--access-logfile", "-"]
# (share, body, from a known patient?)
SMS_MIX = [
    (40, "1", True), (15, "2 SPO2 96", True), (5, "SPO2 91", True), (10, "ठीक हूँ, बुखार 99.4", True),
    (10, "theek hai temp 98.6", True), (10, "kal baat karenge", True), (5, "4 ambulance", False),
]
RETRY_SHARE = 0.05
# Each IVR step's keys (one chosen at random): feeling, SpO2, temperature, need.
IVR_KEYS = [("feeling", ["1", "1", "1", "2"]), ("spo2", ["96", "97", "94", "0"]),
            ("temperature", ["986#", "990#", "1012#", "0#"]), ("need", ["0", "0", "0", "2"])]
IVR_REPEAT_SHARE = 0.1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="a data set's database (written to; name contains 'bench')")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--requests", type=int, default=2000, help="signed requests per repetition (about)")
    args = parser.parse_args(argv)
    table = rows(args.url, repeat=args.repeat, requests=args.requests)
    print(f"\nSigned Twilio webhooks, {backend(args.url)}, {CONCURRENCY} concurrent, "
          f"{args.repeat} repetitions: median (min–max)\n")
    print("| what | now | reference (forged, same run) | target |")
    print("| --- | ---: | ---: | --- |")
    for row in table:
        print(f"| {row['what']} | {summary(row['now'])} {row['unit']} | {summary(row['reference'])} {row['unit']} "
              f"| {row['target']} |")
    return 0


def summary(values):
    return f"{statistics.median(values):.0f} ({min(values):.0f}–{max(values):.0f})"


def rows(url, repeat=3, requests=2000, log=print):
    engine_url = _driver_url(url)
    if "bench" not in Path(engine_url.database or "").name:
        raise SystemExit(f"refusing to write to {engine_url.database!r}: its name must contain 'bench'")
    phones, pending = _patients(engine_url, 4000)
    log(f"webhooks: {backend(url)}, {len(phones)} patients sampled ({pending} with a pending call today)")
    results = {"signed": [], "signed_p95": [], "forged": [], "forged_p95": [], "floor": [], "signed_cpu": [],
               "forged_cpu": []}
    with tempfile.TemporaryDirectory(prefix="sampark-webhook-") as tmp:
        app_port, floor_port = _free_port(), _free_port()
        env = dict(os.environ, DATABASE_URL=url, TWILIO_AUTH_TOKEN=TOKEN, SECRET_KEY=SECRET, SAMPARK_ENV="development",
                   PUBLIC_URL=f"http://127.0.0.1:{app_port}", WEBHOOK_BASE_URL="", CLICK_TO_CALL_BACKEND="console")
        servers = [_gunicorn("app:create_app()", app_port, env, Path(tmp) / "app.log"),
                   _gunicorn("bench.webhook_floor:app", floor_port, env, Path(tmp) / "floor.log")]
        try:
            base, floor = f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{floor_port}"
            run = f"{int(time.time()) % 10**6:06d}"
            _fire(_sms_jobs(base, phones, 50, f"W{run}"))  # warm both workers' pools and caches
            sent_sms, sent_calls, forged_sids = set(), {}, set()
            cpu = _CpuMeter(servers[0].pid, engine_url)
            for r in range(repeat):
                jobs, sids, calls = _mixed_jobs(base, phones, requests, f"R{run}{r}")
                rate, p95 = _measure(jobs, expect=200, cpu=cpu)
                signed_cpu, signed_sessions = cpu.per_request, cpu.sessions
                sent_sms |= sids
                sent_calls.update(calls)
                forged = _sms_jobs(base, phones, requests, f"F{run}{r}", token="not-the-token")
                forged_sids |= {job[0][3] for job in forged}
                forged_rate, forged_p95 = _measure(forged, expect=403, cpu=cpu)
                forged_cpu = cpu.per_request
                floor_rate, _ = _measure(_sms_jobs(floor, phones, requests, f"B{run}{r}", path="/hello"), expect=200)
                log(f"  repetition {r + 1}: signed {rate:.0f} req/s (p95 {p95:.0f} ms), forged {forged_rate:.0f} "
                    f"req/s (p95 {forged_p95:.0f} ms), floor {floor_rate:.0f} req/s; CPU ms a request (app "
                    f"workers / database / client): signed {_ms(signed_cpu)}, forged {_ms(forged_cpu)}; "
                    f"database sessions opened by the signed run: {signed_sessions}")
                for key, value in (("signed", rate), ("signed_p95", p95), ("forged", forged_rate),
                                   ("forged_p95", forged_p95), ("floor", floor_rate),
                                   ("signed_cpu", signed_cpu[0] + signed_cpu[1]),
                                   ("forged_cpu", forged_cpu[0] + forged_cpu[1])):
                    results[key].append(value)
            log("  " + _check(engine_url, sent_sms, sent_calls, forged_sids))
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=30)
    where = backend(url)
    return [
        {"what": f"signed webhooks, mixed SMS/IVR, {CONCURRENCY} concurrent ({where})", "unit": "req/s",
         "now": results["signed"], "reference": results["forged"], "target": ">= 500 req/s"},
        {"what": f"signed webhooks, mixed SMS/IVR, p95 ({where})", "unit": "ms",
         "now": results["signed_p95"], "reference": results["forged_p95"], "target": "—"},
        {"what": "floor: a bare signed route (no database), same gunicorn", "unit": "req/s",
         "now": results["floor"], "reference": results["forged"], "target": "the most the signed row can reach"},
        {"what": f"server CPU per signed request: app workers + database ({where})", "unit": "ms",
         "now": results["signed_cpu"], "reference": results["forged_cpu"], "target": "—"},
    ]


def backend(url):
    return "PostgreSQL" if _driver_url(url).get_backend_name() == "postgresql" else "SQLite"


def _driver_url(url):
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _patients(engine_url, n):
    """Phones of n random active patients (one patient each), and how many have a pending task today."""
    engine = create_engine(engine_url)
    try:
        with engine.connect() as conn:
            phones = list(conn.scalars(text(
                "SELECT phone FROM patient WHERE status = 'active' AND phone IN (SELECT phone FROM patient "
                "WHERE status = 'active' GROUP BY phone HAVING count(*) = 1) ORDER BY random() LIMIT :n"), {"n": n}))
            pending = conn.scalar(text(
                "SELECT count(*) FROM call_task JOIN patient ON patient.id = call_task.patient_id WHERE "
                "call_task.status = 'pending' AND patient.phone IN (SELECT value FROM "
                + ("unnest(CAST(:phones AS text[])) AS value)" if engine.dialect.name == "postgresql"
                   else "json_each(:phones))")),
                {"phones": phones if engine.dialect.name == "postgresql" else __import__("json").dumps(phones)})
    finally:
        engine.dispose()
    if len(phones) < 100:
        raise SystemExit("the database holds too few active patients: generate a data set first (bench.generate)")
    return phones, pending


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _gunicorn(target, port, env, log_path):
    log = open(log_path, "w")  # noqa: SIM115 (closed with the process)
    server = subprocess.Popen([str(ROOT / ".venv/bin/gunicorn"), "--bind", f"127.0.0.1:{port}", *GUNICORN, target],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise RuntimeError("gunicorn exited:\n" + Path(log_path).read_text())
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2):
                    return server
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("gunicorn did not start:\n" + Path(log_path).read_text())
    except BaseException:
        server.terminate()  # never leave a server behind
        server.wait(timeout=30)
        raise


def _signed(base, path, params, token=TOKEN):
    """(url, body, headers, sid): a POST signed as Twilio signs it."""
    url = base + path
    headers = {"X-Twilio-Signature": RequestValidator(token).compute_signature(url, params),
               "Content-Type": "application/x-www-form-urlencoded"}
    return url, urllib.parse.urlencode(params).encode(), headers, params.get("MessageSid") or params.get("CallSid")


def _sms(base, rng, phones, sid, token=TOKEN, path="/twilio/sms"):
    _share, body, known = rng.choices(SMS_MIX, [share for share, _b, _k in SMS_MIX])[0]
    sender = rng.choice(phones) if known else f"+9196{rng.randrange(10 ** 8):08d}"
    return _signed(base, path, {"MessageSid": sid, "AccountSid": "ACbench", "From": sender, "To": "+15005550006",
                                "Body": body, "NumMedia": "0"}, token)


def _sms_jobs(base, phones, n, prefix, token=TOKEN, path="/twilio/sms"):
    """n single-request jobs; a share repeat an earlier MessageSid (Twilio's retry: the very same request)."""
    rng = random.Random(prefix)
    made, jobs = [], []
    for i in range(n):
        if made and rng.random() < RETRY_SHARE:
            jobs.append([rng.choice(made)])
            continue
        request = _sms(base, rng, phones, f"SM{prefix}{i:06d}", token, path)
        made.append(request)
        jobs.append([request])
    return jobs


def _call(base, rng, phone, sid):
    """One IVR call's webhooks, in order; sometimes a step is sent twice (a repeated webhook)."""
    params = {"CallSid": sid, "AccountSid": "ACbench", "From": "+15005550006", "To": phone,
              "Direction": "outbound-api", "CallStatus": "in-progress"}
    steps = [_signed(base, "/twilio/voice", params)]
    for step, choices in IVR_KEYS:
        request = _signed(base, f"/twilio/voice/{step}?a=0", {**params, "Digits": rng.choice(choices)})
        steps.append(request)
        if rng.random() < IVR_REPEAT_SHARE:
            steps.append(request)
    return steps


def _mixed_jobs(base, phones, n, prefix):
    """About n requests: half SMS, half IVR steps, shuffled. Returns (jobs, MessageSids, {CallSid: phone})."""
    rng = random.Random(prefix)
    sms = _sms_jobs(base, phones, n // 2, prefix)
    calls, jobs, count = {}, list(sms), 0
    while count < n - n // 2:
        sid, phone = f"CA{prefix}{len(calls):06d}", rng.choice(phones)
        if phone in calls.values():
            continue  # one call per patient in a run: its check-in is then its own
        calls[sid] = phone
        job = _call(base, rng, phone, sid)
        jobs.append(job)
        count += len(job)
    rng.shuffle(jobs)
    return jobs, {job[0][3] for job in sms}, calls


def _post(request):
    url, data, headers, _sid = request
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=60) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError:
        status = 0
    return status, time.perf_counter() - started


def _job(requests):
    return [_post(request) for request in requests]


def _fire(jobs):
    with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        return [result for results in pool.map(_job, jobs) for result in results]


def _measure(jobs, expect, cpu=None):
    """(requests a second, p95 ms); every answer must have the expected status. `cpu` (a _CpuMeter) keeps the
    CPU time each request took."""
    if cpu:
        cpu.start()
    started = time.perf_counter()
    results = _fire(jobs)
    elapsed = time.perf_counter() - started
    if cpu:
        cpu.stop(len(results))
    wrong = [status for status, _t in results if status != expect]
    if wrong:
        raise RuntimeError(f"{len(wrong)} of {len(results)} answers were not {expect}: {sorted(set(wrong))}")
    p95 = statistics.quantiles([t for _status, t in results], n=100)[94]
    return len(results) / elapsed, p95 * 1000


class _CpuMeter:
    """CPU seconds spent by the app's gunicorn workers, the database's backends (PostgreSQL; SQLite runs inside
    the workers) and this client, from /proc (Linux), over one scenario; `per_request` in ms. A backend that
    ends during the scenario takes its CPU with it (not counted): `sessions` says how many were opened."""

    def __init__(self, master_pid, engine_url):
        self.master, self.engine_url = master_pid, engine_url
        self.per_request, self.sessions = (0.0, 0.0, 0.0), 0

    @staticmethod
    def _cpu(pids):
        seconds = {}
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # a process that ended meanwhile
            seconds[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
        return seconds

    def _workers(self):
        children = Path(f"/proc/{self.master}/task/{self.master}/children")
        return self._cpu(children.read_text().split() if children.exists() else [])

    def _database(self):
        """({backend pid: CPU s}, sessions opened so far) of the bench database."""
        if self.engine_url.get_backend_name() != "postgresql":
            return {}, 0
        engine = create_engine(self.engine_url)
        try:
            with engine.connect() as conn:
                pids = list(conn.scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                              "AND pid <> pg_backend_pid()")))
                sessions = conn.scalar(text("SELECT sessions FROM pg_stat_database WHERE datname = current_database()"))
        finally:
            engine.dispose()
        return self._cpu(pids), sessions or 0

    def start(self):
        self.before = (self._workers(), self._database(), time.process_time())

    def stop(self, requests):
        workers, (database, sessions), client = self._workers(), self._database(), time.process_time()
        (workers_0, (database_0, sessions_0), client_0) = self.before

        def spent(now, then):
            return sum(seconds - then.get(pid, 0.0) for pid, seconds in now.items())

        self.sessions = sessions - sessions_0 - 1  # less this meter's own
        self.per_request = tuple(1000 * value / requests for value in (
            spent(workers, workers_0), spent(database, database_0), client - client_0))


def _ms(values):
    return " / ".join(f"{v:.1f}" for v in values)


def _check(engine_url, sms_sids, calls, forged_sids):
    """One message per MessageSid, none for forged ones; one IVR call per CallSid, each completed call checked
    in once."""
    engine = create_engine(engine_url)
    try:
        with engine.connect() as conn:
            stored = list(conn.scalars(text("SELECT provider_sid FROM inbound_message WHERE provider_sid LIKE 'SMR%' "
                                            "OR provider_sid LIKE 'SMF%'")))
            ivr = conn.execute(text(
                "SELECT ivr_call.call_sid, ivr_call.status, ivr_call.checkin_id, (SELECT count(*) FROM check_in "
                "WHERE check_in.id = ivr_call.checkin_id) FROM ivr_call WHERE call_sid LIKE 'CAR%'")).all()
    finally:
        engine.dispose()
    assert len(stored) == len(set(stored)), "a MessageSid stored twice"
    ours = {sid for sid in stored if sid in sms_sids}
    assert ours == sms_sids, f"{len(ours)} messages stored for {len(sms_sids)} MessageSids"
    assert not set(stored) & forged_sids, "a forged message was stored"
    mine = [row for row in ivr if row[0] in calls]
    assert len(mine) == len(calls), f"{len(mine)} IVR calls stored for {len(calls)} CallSids"
    completed = [row for row in mine if row[1] == "completed"]
    assert all(row[2] is not None and row[3] == 1 for row in completed), "a completed call without its check-in"
    return (f"checked: {len(ours)} messages for {len(sms_sids)} MessageSids, 0 forged stored, {len(mine)} IVR calls "
            f"({len(completed)} completed, each with its check-in)")


if __name__ == "__main__":
    sys.exit(main())
