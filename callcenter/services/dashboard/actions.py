"""What the nodal officer can do from the dashboard: hand a volunteer's calls on, pause or resume a queue.

Each function is one transaction and writes its audit record in it.
"""
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from ... import scope
from ...clock import utcnow
from ...extensions import db
from ...models import CallTask, QueuePause, Role, Setting, TaskStatus, User
from ..calls.queue import CALLER_ROLES
from ..core import audit
from ..core.errors import Conflict, Forbidden, Invalid, NotFound
from ..core.tx import transaction

OFFICERS = {Role.NODAL_OFFICER, Role.ADMIN}


def _require_officer(user):
    if user.role not in OFFICERS:
        raise Forbidden(_l("Only the nodal officer can do this."))


def _caller(user_id, officer):
    person = db.session.get(User, user_id) if user_id else None
    # A volunteer of another district is "not found" for a district officer (scope.py's rule).
    if person is None or (officer.district_id is not None and person.district_id != officer.district_id):
        raise NotFound(_l("Not found, or not in your district."))
    return person


@transaction
def reassign_tasks(officer, from_user_id, to_user_id=None, now=None):
    """The calls a volunteer holds (claimed) go back to the queue, or to another volunteer.

    Returns how many tasks moved. Only tasks in the officer's district move.
    """
    _require_officer(officer)
    now = now or utcnow()
    source = _caller(from_user_id, officer)
    target = None
    if to_user_id:
        target = _caller(to_user_id, officer)
        if target.id == source.id:
            raise Invalid(_l("Choose another volunteer."), {"to_user": _l("Choose another volunteer.")})
        if target.role not in CALLER_ROLES or not target.active:
            raise Invalid(_l("This person does not take calls."), {"to_user": _l("This person does not take calls.")})
    ids_stmt = scope.scoped(select(CallTask.id).where(CallTask.claimed_by_id == source.id,
                                                      CallTask.status == TaskStatus.CLAIMED), CallTask, officer)
    ids = list(db.session.scalars(ids_stmt.with_for_update()))
    if not ids:
        return 0
    values = ({"status": TaskStatus.CLAIMED, "claimed_by_id": target.id, "claimed_at": now} if target else
              {"status": TaskStatus.PENDING, "claimed_by_id": None, "claimed_at": None})
    db.session.execute(update(CallTask).where(CallTask.id.in_(ids), CallTask.status == TaskStatus.CLAIMED,
                                              CallTask.claimed_by_id == source.id)
                       .values(**values).execution_options(synchronize_session=False))
    audit.record(officer, "task.reassign", "user", source.id, source.district_id, now=now,
                 tasks=ids, to_user_id=target.id if target else None)
    return len(ids)


def _pause_district(officer, district_id):
    if officer.district_id is not None:
        return officer.district_id  # a district officer pauses only their own district's queue
    return district_id or None


def open_pauses(user):
    """The pauses in force that this user can see (their district's and state-wide ones)."""
    stmt = select(QueuePause).where(QueuePause.in_force_for(user.district_id)).order_by(QueuePause.paused_at)
    return db.session.scalars(stmt).all()


def paused_settings(district_id):
    """Settings whose queue is paused for this district (for the call queue to skip)."""
    return set(db.session.scalars(select(QueuePause.setting).where(QueuePause.in_force_for(district_id))))


@transaction
def pause_queue(officer, setting, district_id=None, reason="", now=None):
    _require_officer(officer)
    now = now or utcnow()
    if setting not in set(Setting):
        raise Invalid(_l("Choose a queue."), {"setting": _l("Choose a queue.")})
    district_id = _pause_district(officer, district_id)
    existing = db.session.scalar(select(QueuePause).where(
        QueuePause.resumed_at.is_(None), QueuePause.setting == setting,
        QueuePause.district_id.is_(None) if district_id is None else QueuePause.district_id == district_id))
    if existing is not None:
        raise Conflict(_l("This queue is already paused."))
    pause = QueuePause(district_id=district_id, setting=setting, reason=(reason or "").strip(), paused_at=now,
                       paused_by_id=officer.id)
    db.session.add(pause)
    db.session.flush()
    audit.record(officer, "queue.pause", "queue_pause", pause.id, district_id, now=now, setting=setting,
                 reason=pause.reason)
    return pause


@transaction
def resume_queue(officer, pause_id, now=None):
    _require_officer(officer)
    now = now or utcnow()
    pause = db.session.get(QueuePause, pause_id, with_for_update=True)
    if pause is None or (officer.district_id is not None and pause.district_id != officer.district_id):
        raise NotFound(_l("Not found, or not in your district."))
    if pause.resumed_at is not None:
        raise Conflict(_l("This queue is already running."))
    pause.resumed_at, pause.resumed_by_id = now, officer.id
    audit.record(officer, "queue.resume", "queue_pause", pause.id, pause.district_id, now=now,
                 setting=pause.setting)
    return pause
