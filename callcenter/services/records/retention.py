"""Retention (DPDP: erase once the purpose is served): personal data of patients whose follow-up ended more than
`retention_days` ago (a setting, default 180) is replaced, and messages and import rows older than that go.

- A patient past the limit keeps its id and every clinical and place figure the dashboard's history counts
  (district, village, setting, facility, age, sex, dates, status, comorbidities, vitals, needs, outcomes);
  name, phone, attendant's phone, address, ABHA number and lab/SRF ID are replaced, and so is every free text
  written about them (call notes, check-in texts, escalation summaries, resolutions and notes, consultation
  notes, transfer reasons, discharge-review notes); their messages and import rows are deleted, whatever their
  age. The phone becomes "" and the lab ID NULL: the importer and the SMS sender look-up match only normalised
  E.164 numbers and lab IDs, so an anonymised record is never taken for anyone again.
- Outbound messages (SMS text, IVR entry URL, number), inbound SMS and import rows older than the limit are
  deleted, whoever they belong to (an IVR call keeps its answers and loses the link to its message).
- The audit log is not touched here (its own rule keeps it at least 365 days).

The job works in batches of BATCH rows, one transaction each: patients by keyset over their id (a state holds a
million), the rest oldest first. What a batch did is committed with it (anonymised_at, rows gone), so a run
that is killed resumes where it stopped, and a second run finds nothing to do. Each batch leaves one audit row.
"""
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, exists, func, or_, select, text, update

from ...clock import utcnow
from ...extensions import db
from ...models import (
    CallAttempt,
    CheckIn,
    Consultation,
    DischargeReview,
    Escalation,
    EscalationNote,
    Household,
    ImportBatch,
    ImportRow,
    InboundMessage,
    IvrCall,
    OutboundMessage,
    Patient,
    PatientStatus,
    Transfer,
)
from ..core import audit, settings
from ..core.tx import transaction

BATCH = 1000
NAME_REPLACED = "—"  # shown where the name was; a name is required, so not empty


@dataclass(frozen=True)
class Blank:
    """Free text of an anonymised patient in one table: its rows are found by `rows(ids)`, `fields` blanked."""
    kind: str
    model: type
    fields: tuple

    def rows(self, ids):
        if self.model is EscalationNote:
            return EscalationNote.escalation_id.in_(select(Escalation.id).where(Escalation.patient_id.in_(ids)))
        return self.model.patient_id.in_(ids)

    def filled(self):
        return or_(*(getattr(self.model, f) != "" for f in self.fields))


BLANKS = (
    Blank("call_notes", CallAttempt, ("notes",)),
    Blank("checkin_texts", CheckIn, ("raw",)),
    Blank("escalation_texts", Escalation, ("summary", "resolution")),
    Blank("escalation_notes", EscalationNote, ("text",)),
    Blank("consultation_notes", Consultation, ("notes",)),
    Blank("transfer_reasons", Transfer, ("reason",)),
    Blank("review_notes", DischargeReview, ("note",)),
)
# Counted and reported in this order (the dry run's table, the job's details).
KINDS = ("patients", *(b.kind for b in BLANKS), "outbound_messages", "inbound_messages", "import_rows")


def retention_days():
    return settings.get("retention_days")


def cutoff(now, days=None):
    """Records whose follow-up ended (messages and imports made) before this are past the limit."""
    return now - timedelta(days=days if days is not None else retention_days())


# Written out, not bound: PostgreSQL uses the partial index ix_patient_to_anonymise (exactly the closed records
# not yet anonymised) only when it can see the query asks for what the index holds, in a prepared plan too.
_CLOSED = text(f"patient.status <> '{PatientStatus.ACTIVE.value}'")


def _due_patients(limit):
    return (Patient.anonymised_at.is_(None), _CLOSED, Patient.ended_at < limit)


def _old_outbound(limit):
    return OutboundMessage.created_at < limit


def _old_inbound(limit):
    return InboundMessage.received_at < limit


def _old_import_rows(limit):
    return ImportRow.batch_id.in_(select(ImportBatch.id).where(ImportBatch.started_at < limit))


def _count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def plan(now=None, days=None):
    """{kind: rows that a run now would change or delete}; changes nothing (the dry run)."""
    limit = cutoff(now or utcnow(), days)
    due = select(Patient.id).where(*_due_patients(limit))
    counts = {"patients": _count(Patient, *_due_patients(limit))}
    for blank in BLANKS:
        counts[blank.kind] = _count(blank.model, blank.rows(due), blank.filled())
    # A due patient's messages and import rows go with the patient, however young.
    for kind, model, old in (("outbound_messages", OutboundMessage, _old_outbound(limit)),
                             ("inbound_messages", InboundMessage, _old_inbound(limit)),
                             ("import_rows", ImportRow, _old_import_rows(limit))):
        counts[kind] = _count(model, or_(old, model.patient_id.in_(due)))
    return {kind: counts[kind] for kind in KINDS}


def run(now=None, days=None, batch=BATCH, progress=None):
    """Anonymise and delete what is past the limit, batch by batch. Returns {kind: rows changed or deleted}.
    `progress(kind, counts)` is called after each committed batch (the bench prints it)."""
    now = now or utcnow()
    days = days if days is not None else retention_days()
    limit = cutoff(now, days)
    counts = dict.fromkeys(KINDS, 0)
    after = 0
    while True:
        ids = db.session.scalars(select(Patient.id).where(Patient.id > after, *_due_patients(limit))
                                 .order_by(Patient.id).limit(batch)).all()
        if not ids:
            break
        _add(counts, anonymise(ids, now, days))
        after = ids[-1]
        if progress:
            progress("patients", counts)
    for kind, model, old, order in (("outbound_messages", OutboundMessage, _old_outbound, OutboundMessage.created_at),
                                    ("inbound_messages", InboundMessage, _old_inbound, InboundMessage.received_at),
                                    ("import_rows", ImportRow, _old_import_rows, ImportRow.batch_id)):
        while True:
            gone = _delete_batch(kind, model, old(limit), order, now, days, batch)
            if not gone:
                break
            counts[kind] += gone
            if progress:
                progress(kind, counts)
    return counts


def _add(counts, more):
    for kind, n in more.items():
        counts[kind] += n


@transaction
def anonymise(ids, now, days):
    """One batch of patients (ids past the limit, not yet anonymised): one transaction, one audit row."""
    done = {"patients": db.session.execute(
        update(Patient).where(Patient.id.in_(ids), Patient.anonymised_at.is_(None))
        .values(name=NAME_REPLACED, name_key="", phone="", attendant_phone=None, address="", abha_number=None,
                lab_id=None, anonymised_at=now)
        .execution_options(synchronize_session=False)).rowcount}
    for blank in BLANKS:
        done[blank.kind] = db.session.execute(
            update(blank.model).where(blank.rows(ids), blank.filled()).values(**dict.fromkeys(blank.fields, ""))
            .execution_options(synchronize_session=False)).rowcount
    # Their messages and import rows go now, whatever their age (they carry the phone, text and cells).
    done["outbound_messages"] = _delete_rows(OutboundMessage, OutboundMessage.patient_id.in_(ids))
    done["inbound_messages"] = _delete_rows(InboundMessage, InboundMessage.patient_id.in_(ids))
    done["import_rows"] = _delete_rows(ImportRow, ImportRow.patient_id.in_(ids))
    # A household's shared phone goes when none of its members is left with personal data.
    members = select(Patient.household_id).where(Patient.id.in_(ids), Patient.household_id.is_not(None))
    kept = exists().where(Patient.household_id == Household.id, Patient.anonymised_at.is_(None))
    db.session.execute(update(Household).where(Household.id.in_(members), ~kept, Household.phone != "")
                       .values(phone="")
                       .execution_options(synchronize_session=False))
    audit.record(None, "retention.anonymise", "patient", None, None, now=now, days=days, first_id=ids[0],
                 last_id=ids[-1], **{k: v for k, v in done.items() if v})
    return done


def _delete_rows(model, where):
    ids = select(model.id).where(where)
    if model is OutboundMessage:  # an IVR call keeps its answers, without its message
        db.session.execute(update(IvrCall).where(IvrCall.message_id.in_(ids)).values(message_id=None)
                           .execution_options(synchronize_session=False))
    return db.session.execute(delete(model).where(model.id.in_(ids))
                              .execution_options(synchronize_session=False)).rowcount


@transaction
def _delete_batch(kind, model, old, order, now, days, batch):
    """Up to `batch` rows older than the limit, oldest first (`order` is indexed: the last, empty look-up reads
    nothing, however large the table): one transaction, one audit row."""
    ids = db.session.scalars(select(model.id).where(old).order_by(order).limit(batch)).all()
    if not ids:
        return 0
    gone = _delete_rows(model, model.id.in_(ids))
    audit.record(None, f"retention.delete_{kind}", model.__tablename__, None, None, now=now, days=days,
                 first_id=min(ids), last_id=max(ids), rows=gone)
    return gone
