"""The order in which a patient's rows are locked, shared by every change that may race a call being logged."""
from sqlalchemy import select

from ...extensions import db
from ...models import OPEN_TASK_STATUSES, CallTask, Patient


def lock_for_change(patient_id):
    """Lock a patient's open call tasks, then the patient row; returns the patient, fresh.

    That is the order in which logging a call takes its locks (the task, the patient, then an escalation of
    the patient's). A transfer, an admission, a field visit's result or the end of the follow-up that locks
    in the same order waits for a call being logged instead of deadlocking with it. Call it before locking
    any of the patient's escalations (tests/services/test_lock_order.py)."""
    db.session.execute(select(CallTask.id).where(CallTask.patient_id == patient_id,
                                                 CallTask.status.in_(OPEN_TASK_STATUSES))
                       .order_by(CallTask.id).with_for_update())
    return db.session.get(Patient, patient_id, with_for_update=True, populate_existing=True)
