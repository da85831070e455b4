"""Several senders at once (PostgreSQL): SKIP LOCKED claims share the work and no message is handed to
the provider twice; the advisory lock keeps scheduled passes to one at a time."""
import threading
from collections import Counter

import pytest

from callcenter.extensions import db
from callcenter.services.outbox.enqueue import enqueue_daily_checkins
from callcenter.services.outbox.sender import _one_sender, send_pending

from ..factories import make_patient
from ..helpers import run_in_threads
from .outbox_helpers import DAY, NOW, FakeGateway, at, config, messages  # noqa: F401  (config: a fixture)

SENDERS = 6
MESSAGES = 60


class SlowClock:
    """Real sleeping is not wanted; a tiny pause per message lets the senders interleave."""
    def __init__(self):
        self.t = 0.0

    def monotonic(self):
        return self.t

    def sleep(self, seconds):
        self.t += seconds
        threading.Event().wait(0.001)


def test_senders_at_once_never_hand_a_message_over_twice(app, district, config, is_postgres):  # noqa: F811
    config["OUTBOX_RATE_PER_SECOND"] = 5  # claims of five: the senders meet over the same rows
    for i in range(MESSAGES):
        make_patient(district, checkin_channel="ivr" if i % 3 == 0 else "sms_reply")
    enqueue_daily_checkins(DAY, now=NOW)
    gateway = FakeGateway()

    def sender(_i):
        return send_pending(gateway, clock=SlowClock(), now_fn=at(), exclusive=False)

    results, errors = run_in_threads(app, SENDERS, sender)
    assert not errors, errors
    handed = Counter(h.status_callback for h in gateway.handed)
    assert [cb for cb, n in handed.items() if n > 1] == []
    assert len(handed) == MESSAGES
    assert sum(r.get("sent", 0) for r in results) == MESSAGES
    assert {m.status for m in messages()} == {"sent"}
    assert len({m.provider_sid for m in messages()}) == MESSAGES
    if is_postgres:
        assert sum(1 for r in results if r.get("sent")) > 1  # the work was shared


@pytest.mark.postgres
def test_one_scheduled_pass_at_a_time(app, district, is_postgres):
    if not is_postgres:
        pytest.skip("the advisory lock is PostgreSQL's; SQLite runs one process")
    make_patient(district)
    enqueue_daily_checkins(DAY, now=NOW)
    with _one_sender(True) as mine:  # another process's pass is running
        assert mine
        assert send_pending(FakeGateway(), now_fn=at()) is None
    db.session.remove()
    assert send_pending(FakeGateway(), now_fn=at())["sent"] == 1
