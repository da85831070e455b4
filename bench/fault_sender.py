"""The outbox sender killed mid-pass (bench/faults.py), against a fake Twilio that also misbehaves.

A few hundred SMS check-ins are queued; `flask send-outbox` (one pass, the scheduler's outbox job from the
shell) hands them to the fake provider (bench/fake_twilio.py) through the app's twilio backend, and is killed
(-9) three times part-way through a pass. Then passes run to the end until no message is waiting. The provider
refuses some requests (503), takes some and loses the answer (500), and stalls some past the client's timeout.

Counted from the provider's own record (each request names its outbox message in the status callback URL):
messages it received twice (must be 0) and messages it never received (must be 0 after the last pass).
OUTBOX_RECONCILE_AFTER_MINUTES is 0 here (10 in production), so that the next pass looks up at once what a
killed pass left `sending`; OUTBOX_RETRY_SECONDS is 1 (60), so that refused messages come round quickly.
"""
import secrets
import time

from sqlalchemy import text

from callcenter.clock import utcnow
from callcenter.extensions import db
from callcenter.services.core import job_runs
from callcenter.services.outbox.enqueue import enqueue_sms

from . import databases, generate, instances, proctree
from .fake_twilio import FakeTwilio

MESSAGES = 600
KILLS = 3
FINAL_PASSES = 12


def _enqueue(url, n):
    """`n` SMS check-ins to distinct active patients, due now. Returns their outbox ids."""
    app = databases.make_app(url)
    with app.app_context():
        patients = db.session.execute(text(
            "SELECT id, phone, language FROM patient WHERE status = 'active' AND NOT sms_opt_out "
            "AND NOT phone_invalid ORDER BY id LIMIT :n"), {"n": n}).all()
        now = utcnow()
        for patient_id, phone, language in patients:
            enqueue_sms(f"bench-fault-{patient_id}", phone, "checkin_reply", language, now=now, patient_id=patient_id)
        db.session.commit()
        ids = db.session.scalars(text("SELECT id FROM outbound_message")).all()
        db.engine.dispose()
    return [str(i) for i in ids]


def _statuses(url):
    app = databases.make_app(url)
    with app.app_context():
        rows = dict(db.session.execute(text("SELECT status, count(*) FROM outbound_message GROUP BY status")).all())
        sids = dict(db.session.execute(text("SELECT id, provider_sid FROM outbound_message")).all())
        running = db.session.scalar(text("SELECT count(*) FROM job_run WHERE status = 'running'"))
        db.engine.dispose()
    return rows, {str(k): v for k, v in sids.items()}, running


def _sweep(url):
    """What every scheduler does each CATCH_UP_INTERVAL_SECONDS: runs whose process is dead marked stopped."""
    app = databases.make_app(url)
    with app.app_context():
        marked = job_runs.sweep()
        db.engine.dispose()
    return marked


def _env(url, provider):
    return instances.app_env(
        url, MESSAGING_BACKEND="bench.fake_twilio:FakeTwilioGateway", FAKE_TWILIO_URL=provider.url,
        TWILIO_ACCOUNT_SID="ACfake" + secrets.token_hex(13), TWILIO_AUTH_TOKEN=secrets.token_hex(16),
        TWILIO_SMS_FROM="+15005550006", TWILIO_HTTP_TIMEOUT=2, OUTBOX_RECONCILE_AFTER_MINUTES=0,
        OUTBOX_RETRY_SECONDS=1, WEBHOOK_BASE_URL="https://sampark.example.org")


def run(pg, active=None):
    active = active or 2_000
    url = pg.url("bench_sender")
    generate.generate(url, round(active * 10 / 3), active, days=1, log=lambda line: None)
    ids = _enqueue(url, MESSAGES)
    print(f"{len(ids)} SMS queued; the fake provider refuses 10 % (503), loses the answer to 5 % (500), "
          f"stalls 3 % past the 2 s timeout", flush=True)
    with FakeTwilio(refuse=0.10, lose_answer=0.05, stall=0.03, stall_seconds=3) as provider:
        env = _env(url, provider)
        for kill in range(1, KILLS + 1):
            before = len(provider.messages)
            proc = instances.flask(env, "send-outbox", name=f"send-outbox-killed-{kill}")
            # killed part-way: once it has handed over a sixth of the messages
            proctree.wait_until(
                lambda b=before, p=proc: len(provider.messages) >= b + len(ids) // 6 or p.poll() is not None,
                timeout=120, what="the sender to hand over messages")
            proctree.started().kill(proc)
            proc.wait()
            statuses, _sids, _running = _statuses(url)
            print(f"  kill {kill}: after {len(provider.messages) - before} more accepted by the provider; "
                  f"outbox now {statuses}", flush=True)
        for n in range(1, FINAL_PASSES + 1):
            done = instances.run_flask(env, "send-outbox", timeout=300)
            if done.returncode != 0:
                print(done.stdout, done.stderr)
            statuses, sids, running = _statuses(url)
            waiting = sum(v for k, v in statuses.items() if k in ("queued", "sending", "unknown"))
            print(f"  pass {n}: {done.stdout.strip()} → outbox {statuses}", flush=True)
            if not waiting:
                break
            time.sleep(2)  # the refused ones wait out their back-off
        received = provider.received()
        requests = dict(provider.requests)
    twice = sorted(i for i, count in received.items() if count > 1)
    never = sorted(set(ids) - set(received))
    ours = {m["outbox_id"]: m["sid"] for m in provider.messages}
    mismatched = sum(1 for i in ids if i in ours and sids.get(i) != ours[i])
    print(f"provider requests: {requests}")
    print(f"sent twice: {len(twice)}; never sent: {len(never)}; outbox rows whose provider id differs from the "
          f"provider's: {mismatched}")
    swept = _sweep(url)
    _statuses_after, _sids, still = _statuses(url)
    print(f"Jobs entries of the killed passes left running: {running}; marked stopped by a scheduler's sweep "
          f"(job_runs.sweep): {swept}; running after it: {still}")
    problems = []
    if twice:
        problems.append(f"{len(twice)} messages sent twice (outbox ids {twice[:10]})")
    if never:
        problems.append(f"{len(never)} messages never sent (outbox ids {never[:10]})")
    if still:
        problems.append(f"{still} Jobs entries still running after the sweep")
    if mismatched:
        problems.append(f"{mismatched} outbox rows record another provider id than the provider's")
    return problems
