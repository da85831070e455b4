"""Response-deadline breaches on the nodal officer's dashboard (read-only; templates/dashboard/_breaches.html).

- Now: escalations still OPEN (nobody acknowledged them) past their respond_by, the most overdue first, with
  how late they are and how many alerts the duty officer got (services/desks/deadlines.py).
- Over the dashboard's date range: escalations the deadline job flagged as breached (breached_at, kept after
  they are acknowledged, for reports), by kind, and how many of those are still open.
- The districts in view with no duty officer phone: their breaches are flagged but alert nobody.

Scoped like every dashboard figure: the user's district (scope.py) and the officer's filters (district,
block, setting, facility).
"""
from sqlalchemy import case, func, select

from ... import scope
from ...clock import utcnow
from ...extensions import db
from ...models import District, Escalation, EscalationStatus, Patient
from .overview import _restrict as dashboard_restrict

LIST_LIMIT = 50  # the most overdue shown on the dashboard; the count covers them all


def _restrict(stmt, user, f):
    """`stmt` selects from Escalation joined to Patient: the user's district and the officer's filters, as
    every dashboard figure (services/dashboard/overview.py)."""
    return dashboard_restrict(stmt, Escalation, user, f, patient_joined=True)


def _overdue(now):
    return (Escalation.status == EscalationStatus.OPEN, Escalation.respond_by.is_not(None),
            Escalation.respond_by < now)


def current(user, f, now=None, limit=LIST_LIMIT):
    """(how many open escalations are past their deadline now, the `limit` most overdue as dicts)."""
    now = now or utcnow()
    base = select(Escalation.id).join(Patient, Patient.id == Escalation.patient_id).where(*_overdue(now))
    count = db.session.scalar(select(func.count()).select_from(_restrict(base, user, f).subquery()))
    if not count:
        return 0, []
    stmt = (select(Escalation.id, Escalation.kind, Escalation.desk, Escalation.severity, Escalation.created_at,
                   Escalation.respond_by, Escalation.breached_at, Escalation.alert_count, Escalation.last_alert_at,
                   Patient.id.label("patient_id"), Patient.name, District.name.label("district"),
                   District.duty_phone)
            .join(Patient, Patient.id == Escalation.patient_id).join(District, District.id == Escalation.district_id)
            .where(*_overdue(now)).order_by(Escalation.respond_by, Escalation.id).limit(limit))
    rows = [dict(r._mapping, late_minutes=int((now - r.respond_by).total_seconds() // 60))
            for r in db.session.execute(_restrict(stmt, user, f))]
    return count, rows


def in_period(user, f):
    """Breaches flagged in the date range (breached_at, kept after acknowledgement), by kind:
    [{"kind", "breaches", "still_open"}], most breaches first."""
    stmt = (select(Escalation.kind, func.count().label("breaches"),
                   func.sum(case((Escalation.status == EscalationStatus.OPEN, 1), else_=0)).label("still_open"))
            .join(Patient, Patient.id == Escalation.patient_id)
            .where(Escalation.breached_at >= f.start, Escalation.breached_at < f.end)
            .group_by(Escalation.kind))
    rows = [dict(r._mapping) for r in db.session.execute(_restrict(stmt, user, f))]
    return sorted(rows, key=lambda r: (-r["breaches"], r["kind"]))


def without_duty_phone(user, f):
    """Names of the districts in view that have no duty officer phone."""
    return [d.name for d in scope.districts(user)
            if not d.duty_phone and (not f.district_id or d.id == f.district_id)]


def summary(user, f, now=None):
    """Everything the dashboard's breach panel shows."""
    now = now or utcnow()
    count, rows = current(user, f, now)
    period = in_period(user, f)
    return {"open_count": count, "open": rows, "period": period,
            "period_total": sum(r["breaches"] for r in period),
            "period_still_open": sum(r["still_open"] for r in period),
            "no_duty_phone": without_duty_phone(user, f), "limit": LIST_LIMIT}
