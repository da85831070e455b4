"""The call queue: claiming the next most urgent due task, atomically, and giving it back."""
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import func, update

from ... import labels, scope
from ...clock import utcnow
from ...extensions import db
from ...models import CallTask, QueuePause, Role, Setting, TaskStatus
from ...rules import why_first as why
from ...rules.routing import Severity
from ...templating import local_datetime
from ..core import audit, settings
from ..core.errors import Conflict, Forbidden
from ..core.tx import transaction, transaction_keeping_state
from ..records import records
from . import households

CALLER_ROLES = {Role.VOLUNTEER, Role.NODAL_OFFICER, Role.ADMIN}
CLAIM_RETRIES = 5


def _require_caller(user):
    if user.role not in CALLER_ROLES:
        raise Forbidden(_l("Only volunteers take calls from the queue."))


def claim_cutoff(now):
    return now - timedelta(minutes=settings.get("claim_timeout_minutes"))


def release_stale_claims(user=None, now=None):
    """Return claims older than the timeout to the queue (set-based). Part of the caller's transaction."""
    now = now or utcnow()
    stmt = (update(CallTask)
            .where(CallTask.status == TaskStatus.CLAIMED, CallTask.claimed_at < claim_cutoff(now))
            .values(status=TaskStatus.PENDING, claimed_by_id=None, claimed_at=None)
            .execution_options(synchronize_session=False))
    if user is not None and user.district_id is not None:
        stmt = stmt.where(CallTask.district_id == user.district_id)
    released = db.session.execute(stmt).rowcount
    if released:
        audit.record(user, "task.claims_expired", "call_task", None,
                     getattr(user, "district_id", None), now=now, count=released)
    return released


RELEASED = "sampark.claims_released"  # app.extensions: {district id: when this process last released its claims}
RELEASE_EVERY = timedelta(seconds=30)


def _release_due(user, now):
    """Whether this claim should first release the district's stale claims: at most every 30 s per district and
    process (an UPDATE on every claim was one statement in eight of the claim's; a claim may come back 30 s
    after its timeout)."""
    released = current_app.extensions.setdefault(RELEASED, {})
    last = released.get(user.district_id)
    if last is not None and last <= now < last + RELEASE_EVERY:
        return False
    released[user.district_id] = now
    return True


def holds(user, task):
    """Whether `user` is on this call now (claimed by them, not finished)."""
    return task is not None and task.status == TaskStatus.CLAIMED and task.claimed_by_id == user.id


def current_claim(user, now=None):
    """The task this user holds and has not finished, if it has not timed out."""
    now = now or utcnow()
    return db.session.scalar(db.select(CallTask).where(
        CallTask.claimed_by_id == user.id, CallTask.status == TaskStatus.CLAIMED,
        CallTask.claimed_at >= claim_cutoff(now)).order_by(CallTask.claimed_at.desc()).limit(1))


@transaction
def claim_next_task(user, setting=None, now=None):
    """Give this user the most urgent due task, or the one they already hold; None if the queue is empty.

    One statement picks and claims: an UPDATE of the row its subquery picks, returning the claimed task. On
    PostgreSQL the subquery locks its pick with SKIP LOCKED, so concurrent volunteers pass over each other's
    picks instead of waiting (a row claimed meanwhile is re-checked under the lock and passed over); on every
    database the UPDATE's own condition (status must still be pending) is what guarantees a task is never
    handed to two people. (SQLite has one writer at a time.)
    """
    _require_caller(user)
    now = now or utcnow()
    held = current_claim(user, now)
    if held is not None:
        return held
    if _release_due(user, now):
        release_stale_claims(user, now)
    pick = db.select(CallTask.id).where(CallTask.status == TaskStatus.PENDING, CallTask.due_at <= now,
                                        CallTask.desk.is_(None),  # desk follow-ups are not volunteers'
                                        ~households.stands_in())  # a household is one entry
    pick = scope.scoped(pick, CallTask, user).where(~_paused())
    if setting:
        pick = pick.where(CallTask.setting == setting)
    # Most urgent first; within a priority, the longest since the patient was last reached.
    pick = (pick.order_by(CallTask.priority, CallTask.last_contact_at, CallTask.due_at, CallTask.id)
            .limit(1).with_for_update(skip_locked=True, of=CallTask))
    for _ in range(CLAIM_RETRIES):
        task = db.session.scalars(
            update(CallTask).where(CallTask.id == pick.scalar_subquery(), CallTask.status == TaskStatus.PENDING)
            .values(status=TaskStatus.CLAIMED, claimed_by_id=user.id, claimed_at=now).returning(CallTask),
            execution_options={"populate_existing": True, "synchronize_session": False}).one_or_none()
        if task is not None:
            audit.record(user, "task.claim", "call_task", task.id, user.district_id, now=now)
            return task
        if db.session.scalar(pick) is None:
            return None  # nothing due, or all of it being taken by others (not a pick lost to a race)
    raise Conflict(_l("The queue is very busy; please try again."))


@transaction_keeping_state
def claim_and_show(user, setting=None, now=None):
    """The API's claim: the next task with its patient, whose view is logged (the answer shows them), in one
    transaction; the answer is made from what it committed, without reading the task and patient again."""
    task = claim_next_task(user, setting, now)
    if task is not None:
        with db.session.no_autoflush:  # the claim's audit row goes in with the view's, in one INSERT
            patient = task.patient
        records.log_view(user, patient, "call")
    return task


@transaction
def release_task(task_id, user, now=None):
    """The volunteer puts the task back without calling (e.g. stepped away)."""
    now = now or utcnow()
    task = scope.get_scoped(CallTask, task_id, user, lock=True)
    if task.status != TaskStatus.CLAIMED or task.claimed_by_id != user.id:
        raise Conflict(_l("This call is not yours to release."))
    task.status, task.claimed_by_id, task.claimed_at = TaskStatus.PENDING, None, None
    audit.record(user, "task.release", "call_task", task.id, task.district_id, now=now)
    return task


def queue_counts(user, now=None):
    """Due and waiting calls per setting (a household counts once), for the volunteer console's live counts."""
    now = now or utcnow()
    stmt = (db.select(CallTask.setting, func.count())
            .where(CallTask.status == TaskStatus.PENDING, CallTask.due_at <= now, CallTask.desk.is_(None),
                   ~households.stands_in())
            .group_by(CallTask.setting))
    counts = dict(db.session.execute(scope.scoped(stmt, CallTask, user)).all())
    return {s.value: counts.get(s.value, 0) for s in Setting}


def _paused():
    """True for a task whose queue a nodal officer has paused (in its district, or state-wide)."""
    return db.select(QueuePause.id).where(
        QueuePause.in_force_for(CallTask.district_id), QueuePause.setting == CallTask.setting).exists()


def why_first(task, history, thresholds, now=None):
    """Why this call is the one to make now, in the reader's words: [(code, text)], the weightiest first.
    `history` is records.recent_history(patient) (the call screen has it already)."""
    patient = task.patient
    factors = [str(labels.COMORBIDITIES.get(c, c)) for c in patient.comorbidity_list]
    if patient.age >= thresholds.high_risk_age:
        factors.insert(0, str(_l("over %(age)s", age=thresholds.high_risk_age)))
    tries = [a for a in history["attempts"] if a.task_id == task.id]  # newest first
    facts = why.CallFacts(
        priority=task.priority, reason=task.reason or "daily", attempts=task.attempts, due_at=task.due_at,
        open_emergency=any(e.severity == Severity.EMERGENCY for e in history["open_escalations"]),
        risk_factors=tuple(factors), callback_at=tries[0].callback_at if tries else None)
    return [(code, _why_text(code, values)) for code, values in why.reasons(facts, now or utcnow())]


def _why_text(code, values):
    if code == "tried":
        return ngettext("Tried once today, not reached", "Tried %(num)s times today, not reached", values["n"])
    words = {"factors": ", ".join, "at": lambda v: local_datetime(v, "HH:mm"),
             "since": lambda v: local_datetime(v, "HH:mm")}
    return str(labels.WHY_FIRST[code]) % {key: words[key](value) for key, value in values.items()}
