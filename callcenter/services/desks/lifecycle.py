"""An escalation's moves between statuses, and closing one, inside the caller's transaction.

Its own module, below escalations.py: ending a patient's follow-up (services/records/patients.py) cancels
their open escalations, and escalations.py itself moves an admitted patient (services/records/transfers.py),
so neither may import the other.
"""
from flask_babel import lazy_gettext as _l

from ... import labels
from ...clock import utcnow
from ...extensions import db
from ...models import OPEN_ESCALATION_STATUSES, Escalation, EscalationStatus
from ..core import audit
from ..core.errors import Conflict


def move(esc, status):
    if not esc.can_move_to(status):
        raise Conflict(_l("This escalation is marked “%(current)s”; it cannot be changed to “%(wanted)s”.",
                          current=labels.ESCALATION_STATUSES[esc.status], wanted=labels.ESCALATION_STATUSES[status]))
    esc.status = status


def close(esc, user, status, text, now, outcome=None):
    move(esc, status)
    esc.closed_at, esc.closed_by_id, esc.resolution, esc.outcome = now, getattr(user, "id", None), text, outcome
    details = {"text": text, **({"outcome": outcome} if outcome else {})}
    audit.record(user, f"escalation.{status}", "escalation", esc.id, esc.district_id, now=now, **details)


def cancel_all_for_patient(patient, text, user=None, now=None):
    """Cancel every open escalation of a patient whose follow-up has ended, inside the caller's transaction.
    Not a desk action: whoever ended the follow-up (or the import that did) need not work those desks."""
    now = now or utcnow()
    for esc in db.session.scalars(db.select(Escalation).where(
            Escalation.patient_id == patient.id, Escalation.status.in_(OPEN_ESCALATION_STATUSES))
            .order_by(Escalation.id).with_for_update()):
        close(esc, user, EscalationStatus.CANCELLED, text, now)
