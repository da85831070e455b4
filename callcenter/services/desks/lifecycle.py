"""An escalation's moves between statuses, and closing one, inside the caller's transaction.

Its own module, below escalations.py: ending a patient's follow-up (services/records/patients.py) cancels
their open escalations, and escalations.py itself moves an admitted patient (services/records/transfers.py),
so neither may import the other.
"""
from flask_babel import lazy_gettext as _l

from ... import labels
from ...clock import utcnow
from ...extensions import db
from ...models import OPEN_ESCALATION_STATUSES, Escalation, EscalationNote, EscalationStatus
from ...rules.routing import HOME_ONLY_KINDS
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


ADMITTED_REASON = "admitted"  # esc.reasons entry ["admitted", facility name]: the desk's flag


def settle_on_admission(patient, facility, user, now):
    """A patient isolated at home was admitted to `facility`, inside the caller's transaction (the transfer's).
    Home-only needs (HOME_ONLY_KINDS) are cancelled with the reason; every other open escalation stays open,
    flagged (a reason and a note) for its desk to check. Returns (cancelled ids, flagged ids)."""
    place = f"{facility.name} ({labels.FACILITY_KINDS[facility.kind]})"
    cancelled, flagged = [], []
    for esc in db.session.scalars(db.select(Escalation).where(
            Escalation.patient_id == patient.id, Escalation.status.in_(OPEN_ESCALATION_STATUSES))
            .order_by(Escalation.id).with_for_update()):
        if esc.kind in HOME_ONLY_KINDS:
            close(esc, user, EscalationStatus.CANCELLED,
                  str(_l("Not needed at home any more: the patient was admitted to %(place)s.", place=place)), now)
            cancelled.append(esc.id)
        else:
            esc.reasons = [*esc.reasons, [ADMITTED_REASON, facility.name]]
            db.session.add(EscalationNote(escalation=esc, user_id=getattr(user, "id", None), at=now, text=str(
                _l("The patient was admitted to %(place)s: check whether this is still needed.", place=place))))
            audit.record(user, "escalation.flag_admitted", "escalation", esc.id, esc.district_id, now=now,
                         facility_id=facility.id)
            flagged.append(esc.id)
    return cancelled, flagged


def cancel_all_for_patient(patient, text, user=None, now=None):
    """Cancel every open escalation of a patient whose follow-up has ended, inside the caller's transaction.
    Not a desk action: whoever ended the follow-up (or the import that did) need not work those desks."""
    now = now or utcnow()
    for esc in db.session.scalars(db.select(Escalation).where(
            Escalation.patient_id == patient.id, Escalation.status.in_(OPEN_ESCALATION_STATUSES))
            .order_by(Escalation.id).with_for_update()):
        close(esc, user, EscalationStatus.CANCELLED, text, now)
