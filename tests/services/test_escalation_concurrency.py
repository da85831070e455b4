"""Two control-room operators acting on the same escalation at the same moment, on PostgreSQL: each in its
own thread, connection and transaction, released together by a barrier. The row lock and the version make
one of them win and the other get a clear Conflict; the escalation is never left half-changed, and no
second ambulance or second SMS slips through.
"""
from datetime import timedelta

import pytest

from callcenter.clock import utcnow
from callcenter.extensions import db
from callcenter.models import AuditLog, Dispatch, Escalation, OutboundMessage, User
from callcenter.services.core.errors import Conflict
from callcenter.services.desks import dispatch, escalations

from ..factories import facility, make_patient, make_user
from ..helpers import run_in_threads

pytestmark = pytest.mark.postgres
ROUNDS = 5


@pytest.fixture(autouse=True)
def _postgres_only(is_postgres):
    if not is_postgres:
        pytest.skip("row locks are a PostgreSQL guarantee; SQLite serialises writers")


def _acknowledged(district):
    esc = escalations.raise_escalation(make_patient(district), "ambulance", "control_room", "emergency", "call")
    db.session.commit()
    first = make_user("control_room", district)
    escalations.acknowledge(esc.id, first)
    return esc.id, db.session.get(Escalation, esc.id).version


def _ambulance(district, vehicle):
    return {"kind": "ambulance", "vehicle_number": vehicle, "driver_phone": "9826012345",
            "destination_facility_id": facility(district, "hospital").id,
            "eta": utcnow() + timedelta(minutes=20)}


def _each(user_ids, steps):
    """work(i) for run_in_threads: user i does steps[i]; returns "ok" or "conflict"."""
    def work(i):
        me = db.session.get(User, user_ids[i])
        try:
            steps[i](me)
            return "ok"
        except Conflict:
            return "conflict"
    return work


def _count(model, **where):
    stmt = db.select(db.func.count()).select_from(model)
    for name, value in where.items():
        stmt = stmt.where(getattr(model, name) == value)
    return db.session.scalar(stmt)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_dispatch_and_resolve_at_once_one_wins_cleanly(app, district, round_):
    esc_id, seen = _acknowledged(district)
    ops = [make_user("control_room", district).id for _ in range(2)]
    ambulance = _ambulance(district, "CG04AB1234")
    steps = [lambda me: dispatch.dispatch(esc_id, me, ambulance, version=seen),
             lambda me: escalations.resolve(esc_id, me, "Family took her by car", version=seen,
                                            outcome="not_needed")]
    results, errors = run_in_threads(app, 2, _each(ops, steps))
    assert not errors, errors
    assert sorted(results) == ["conflict", "ok"]
    final = db.session.get(Escalation, esc_id, populate_existing=True)
    assert final.version == seen + 1
    if results[0] == "ok":  # the ambulance went out; nobody closed it behind the dispatcher's back
        assert (final.status, final.closed_at, _count(Dispatch), _count(OutboundMessage)) == (
            "in_progress", None, 1, 1)
    else:                   # resolved; no ambulance, no SMS saying one is coming
        assert (final.status, final.outcome, _count(Dispatch), _count(OutboundMessage)) == (
            "resolved", "not_needed", 0, 0)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_operators_sending_an_ambulance_at_once_send_one(app, district, round_):
    esc_id, seen = _acknowledged(district)
    ops = [make_user("control_room", district).id for _ in range(2)]
    steps = [lambda me, v=v: dispatch.dispatch(esc_id, me, _ambulance(district, v), version=seen)
             for v in ("CG04AB1111", "CG04AB2222")]
    results, errors = run_in_threads(app, 2, _each(ops, steps))
    assert not errors, errors
    assert sorted(results) == ["conflict", "ok"]
    winner = results.index("ok")
    sent = db.session.scalars(db.select(Dispatch)).one()
    assert (sent.created_by_id, sent.vehicle_number) == (ops[winner], ("CG04AB1111", "CG04AB2222")[winner])
    assert _count(OutboundMessage) == 1
    final = db.session.get(Escalation, esc_id, populate_existing=True)
    assert (final.status, final.version) == ("in_progress", seen + 1)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_resolving_twice_at_once_without_a_version_resolves_once(app, district, round_):
    """No version sent (an older client): the row lock alone makes the second see it already resolved."""
    esc_id, seen = _acknowledged(district)
    ops = [make_user("control_room", district).id for _ in range(2)]
    steps = [lambda me, i=i: escalations.resolve(esc_id, me, f"done by {i}", outcome="other") for i in range(2)]
    results, errors = run_in_threads(app, 2, _each(ops, steps))
    assert not errors, errors
    assert sorted(results) == ["conflict", "ok"]
    final = db.session.get(Escalation, esc_id, populate_existing=True)
    winner = results.index("ok")
    assert (final.status, final.closed_by_id, final.resolution, final.version) == (
        "resolved", ops[winner], f"done by {winner}", seen + 1)
    assert _count(AuditLog, action="escalation.resolved") == 1


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_reassign_and_cancel_at_once(app, district, round_):
    esc_id, seen = _acknowledged(district)
    ops = [make_user("control_room", district).id for _ in range(3)]
    steps = [lambda me: escalations.reassign(esc_id, me, ops[2], "shift change", version=seen),
             lambda me: escalations.cancel(esc_id, me, "duplicate", version=seen)]
    results, errors = run_in_threads(app, 2, _each(ops, steps))
    assert not errors, errors
    assert sorted(results) == ["conflict", "ok"]
    final = db.session.get(Escalation, esc_id, populate_existing=True)
    if results[0] == "ok":
        assert (final.status, final.owner_id) == ("acknowledged", ops[2])
    else:
        assert (final.status, final.closed_by_id) == ("cancelled", ops[1])
        assert final.owner_id != ops[2]
    assert final.version == seen + 1
