"""The daily summary for the district collector: the day's figures broken down by sex, block and setting.
Read-only; the database counts."""
from sqlalchemy import func, select

from ...clock import utcnow
from ...extensions import db
from ...models import (
    Block,
    CallAttempt,
    CallTask,
    CheckIn,
    Escalation,
    Outcome,
    Patient,
    PatientStatus,
    TaskStatus,
    Village,
)
from .overview import _in, _restrict

DIMENSIONS = ("sex", "block", "setting")
SUMMARY_METRICS = ("active", "new", "discharged", "calls", "connected", "unreachable", "escalations", "checkins")


def _dimension(dim):
    return {"sex": Patient.sex, "setting": Patient.setting, "block": Block.name}[dim]


def _metric(metric, f, now):
    """(model, select_from, extra where, count expression) for one summary metric over the day."""
    if metric == "active":
        return Patient, Patient, [Patient.status == PatientStatus.ACTIVE], func.count()
    if metric == "new":
        return Patient, Patient, [_in(Patient.created_at, f)], func.count()
    if metric == "discharged":
        return Patient, Patient, [Patient.status == PatientStatus.RECOVERED, _in(Patient.ended_at, f)], func.count()
    if metric in ("calls", "connected"):
        where = [_in(CallAttempt.created_at, f)]
        if metric == "connected":
            where.append(CallAttempt.outcome == Outcome.CONNECTED)
        return CallAttempt, CallAttempt, where, func.count()
    if metric == "unreachable":
        return CallTask, CallTask, [CallTask.task_date.between(f.date_from, f.date_to),
                                    CallTask.status == TaskStatus.UNREACHABLE], \
            func.count(func.distinct(CallTask.patient_id))
    if metric == "escalations":
        return Escalation, Escalation, [_in(Escalation.created_at, f)], func.count()
    return CheckIn, CheckIn, [_in(CheckIn.at, f)], func.count()


def daily_summary(user, f, now=None):
    """The day's figures (f.date_to) broken down by sex, block and setting: {dim: {value: {metric: n}}}."""
    now = now or utcnow()
    day = f.with_(date_from=f.date_to)
    out = {}
    for dim in DIMENSIONS:
        table = {}
        col = _dimension(dim)
        for metric in SUMMARY_METRICS:
            model, base, where, count = _metric(metric, day, now)
            stmt = select(col, count).select_from(base)
            if model is not Patient:
                stmt = stmt.join(Patient, Patient.id == model.patient_id)
            if dim == "block":
                stmt = stmt.outerjoin(Village, Village.id == Patient.village_id).outerjoin(
                    Block, Block.id == Village.block_id)
            stmt = _restrict(stmt.where(*where).group_by(col), model, user, day, patient_joined=True)
            for value, n in db.session.execute(stmt):
                table.setdefault(value or "", dict.fromkeys(SUMMARY_METRICS, 0))[metric] = n
        out[dim] = dict(sorted(table.items()))
    return out
