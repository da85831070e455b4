"""Today's figures for the nodal officer's overview (read-only)."""
from sqlalchemy import func

from .. import scope
from ..clock import local_date, utcnow
from ..extensions import db
from ..models import OPEN_ESCALATION_STATUSES, CallTask, Escalation, Patient, PatientStatus


def today(user, now=None):
    now = now or utcnow()
    day = local_date(now)
    tasks = dict(db.session.execute(scope.scoped(
        db.select(CallTask.status, func.count()).where(CallTask.task_date == day).group_by(CallTask.status),
        CallTask, user)).all())
    overdue = db.session.scalar(scope.scoped(
        db.select(func.count()).select_from(CallTask).where(
            CallTask.task_date == day, CallTask.status == "pending", CallTask.due_at < now), CallTask, user))
    escalations = db.session.execute(scope.scoped(
        db.select(Escalation.desk, Escalation.severity, func.count())
        .where(Escalation.status.in_(OPEN_ESCALATION_STATUSES))
        .group_by(Escalation.desk, Escalation.severity), Escalation, user)).all()
    active = dict(db.session.execute(scope.scoped(
        db.select(Patient.setting, func.count()).where(Patient.status == PatientStatus.ACTIVE)
        .group_by(Patient.setting), Patient, user)).all())
    return {"day": day, "tasks": tasks, "overdue": overdue or 0, "escalations": escalations, "active": active}
