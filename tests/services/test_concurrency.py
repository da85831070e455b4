"""Concurrency: many volunteers pressing "take next call" at the same moment.

On PostgreSQL this is the real guarantee (SELECT … FOR UPDATE SKIP LOCKED plus a conditional
UPDATE); on SQLite, writers are serialised and the conditional UPDATE still gives each task once.
"""
from collections import Counter

import pytest

from callcenter.extensions import db
from callcenter.models import Escalation, User
from callcenter.services.calls import calls, queue
from callcenter.services.core.errors import Conflict
from callcenter.services.desks import escalations

from ..factories import make_patient, make_task, make_user
from ..helpers import run_in_threads

VOLUNTEERS = 12
TASKS = 40


def test_no_task_is_claimed_twice(app, district, is_postgres):
    users = [make_user("volunteer", district) for _ in range(VOLUNTEERS)]
    user_ids = [u.id for u in users]
    for i in range(TASKS):
        make_task(make_patient(district), priority=i % 4)

    def claim_until_empty(i):
        me = db.session.get(User, user_ids[i])
        mine = []
        while True:
            task = queue.claim_next_task(me)
            if task is None:
                return mine
            mine.append(task.id)
            # finish the call so the volunteer can take another
            calls.log_attempt(task.id, me, {"outcome": "connected"}, f"t{task.id}-u{me.id}")

    results, errors = run_in_threads(app, VOLUNTEERS, claim_until_empty)
    assert not errors, errors
    claimed = [t for mine in results for t in mine]
    duplicates = [t for t, n in Counter(claimed).items() if n > 1]
    assert duplicates == []
    assert len(claimed) == TASKS
    if is_postgres:
        # with SKIP LOCKED the work spreads over the volunteers instead of queueing behind one lock
        assert sum(1 for mine in results if mine) > 1


@pytest.mark.postgres
def test_two_operators_acting_at_once_never_corrupt_an_escalation(app, district, is_postgres):
    if not is_postgres:
        pytest.skip("row locks are a PostgreSQL guarantee; SQLite serialises writers")
    esc = escalations.raise_escalation(make_patient(district), "ambulance", "control_room", "emergency", "call")
    db.session.commit()
    esc_id = esc.id
    ops = [make_user("control_room", district).id for _ in range(6)]

    def act(i):
        me = db.session.get(User, ops[i])
        try:
            if i % 2:
                escalations.acknowledge(esc_id, me)
            else:
                escalations.cancel(esc_id, me, f"cancel {i}")
            return "ok"
        except Conflict:
            return "conflict"

    results, errors = run_in_threads(app, len(ops), act)
    assert not errors, errors
    final = db.session.get(Escalation, esc_id, populate_existing=True)
    # exactly one cancel won (perhaps after one acknowledgement); every other attempt was refused cleanly
    assert final.status == "cancelled"
    assert results.count("ok") in (1, 2) and results.count("conflict") == len(ops) - results.count("ok")
    assert final.version == 1 + results.count("ok")
