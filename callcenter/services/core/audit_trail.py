"""Reading the audit log: who viewed, changed, exported or sent anything about a patient, and what a user did.

A patient's rows are those about the patient itself (entity "patient"), those naming the patient among many
(AuditSubject: lists, searches, exports) and those about the patient's calls, check-ins, escalations,
consultations, messages and discharge reviews — each an index look-up, gathered into one id list before the
rows are read, so the page is as fast for a patient in a state's millions of rows as in a test's ten.
"""
import io
import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from flask_babel import lazy_gettext as _l
from sqlalchemy import not_, or_, select, union_all

from ... import scope
from ...clock import local_tz
from ...extensions import db
from ...models import (
    AuditLog,
    AuditSubject,
    CallTask,
    CheckIn,
    Consultation,
    DischargeReview,
    Escalation,
    InboundMessage,
    OutboundMessage,
    Patient,
    User,
)
from ...rules import spreadsheet
from ...rules.identity import mask_phones_in
from . import audit, settings
from .errors import Invalid
from .tx import transaction

PAGE_SIZE = 50
SHOWN_FIELDS = ("id", "at", "user_id", "action", "entity", "entity_id", "district_id", "details")
EXPORT_MAX_ROWS = 200_000
# Records about one patient under another entity's name (entity, model with patient_id).
PATIENT_PARTS = (("call_task", CallTask), ("check_in", CheckIn), ("escalation", Escalation),
                 ("consultation", Consultation), ("outbound_message", OutboundMessage),
                 ("inbound_message", InboundMessage), ("discharge_review", DischargeReview))
_action = AuditLog.action
KIND_RULES = {
    "view": or_(_action.like("%view%"), _action.like("%.search"), _action.like("%reveal%")),
    "export": or_(_action == "export", _action.like("%.export"), _action == "import.error_report"),
    "message": or_(_action.like("outbox.%"), _action.like("sms.%"), _action.like("checkin%"),
                   _action.in_(("escalation.realert", "escalation.dispatch"))),
}
KIND_RULES["change"] = not_(or_(*KIND_RULES.values()))
KINDS = {"view": _l("Viewed"), "change": _l("Changed"), "export": _l("Exported"), "message": _l("Sent or received")}


@dataclass
class Filters:
    patient_id: int | None = None
    username: str = ""
    kind: str = ""
    action: str = ""
    since: date | None = None
    until: date | None = None

    def args(self, **extra):
        """The filters as query-string arguments (links, the export's audit record), with `extra`."""
        values = {"patient_id": self.patient_id, "username": self.username, "kind": self.kind,
                  "action": self.action, "since": self.since and self.since.isoformat(),
                  "until": self.until and self.until.isoformat()}
        return {**{k: v for k, v in values.items() if v not in (None, "")}, **extra}


@dataclass
class Page:
    rows: list
    number: int
    has_next: bool
    retention_days: int
    patient: Patient | None = None
    filters: Filters = field(default_factory=Filters)


def retention_days():
    return settings.get("audit_retention_days")


def patient_audit_ids(patient_id):
    """The ids of every audit row about this patient (see the module's docstring)."""
    parts = [select(AuditLog.id).where(AuditLog.entity == "patient", AuditLog.entity_id == patient_id),
             select(AuditSubject.audit_id).where(AuditSubject.patient_id == patient_id)]
    for entity, model in PATIENT_PARTS:
        parts.append(select(AuditLog.id).where(
            AuditLog.entity == entity, AuditLog.entity_id.in_(select(model.id).where(model.patient_id == patient_id))))
    return set(db.session.scalars(union_all(*parts)))


def query(user, filters):
    """The select() of the rows this user may read that match the filters, newest first."""
    conditions = []
    patient = None
    if filters.patient_id is not None:
        # A patient in the user's reach: every row about them, whoever wrote it and from wherever.
        patient = scope.get_scoped(Patient, filters.patient_id, user)
        conditions.append(AuditLog.id.in_(patient_audit_ids(patient.id) or {0}))
    elif user.district_id is not None:
        conditions.append(AuditLog.district_id == user.district_id)
    if filters.username:
        person = db.session.scalar(select(User).where(User.username == filters.username.strip()))
        if person is None:
            raise Invalid(_l("No user with that username."), {"username": _l("No user with that username.")})
        conditions.append(AuditLog.user_id == person.id)
    if filters.kind:
        conditions.append(KIND_RULES[filters.kind])
    if filters.action:
        conditions.append(AuditLog.action.like(filters.action.strip().replace("%", "") + "%"))
    if filters.since:
        conditions.append(AuditLog.at >= _utc(filters.since))
    if filters.until:
        conditions.append(AuditLog.at < _utc(filters.until + timedelta(days=1)))
    table = AuditLog.__table__
    stmt = (select(*(table.c[f] for f in SHOWN_FIELDS), User.username).outerjoin(User, User.id == AuditLog.user_id)
            .where(*conditions).order_by(AuditLog.at.desc(), AuditLog.id.desc()))
    return stmt, patient


def read(user, filters, page=1):
    """One page of rows (PAGE_SIZE), newest first."""
    stmt, patient = query(user, filters)
    page = max(1, page)
    found = db.session.execute(stmt.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)).all()
    rows = [shown(row) for row in found[:PAGE_SIZE]]
    return Page(rows, page, len(found) > PAGE_SIZE, retention_days(), patient, filters)


def shown(row, tz=None):
    """One row (SHOWN_FIELDS and username) as the page and the CSV show it (phone numbers masked)."""
    details = dict(row.details or {})
    patient_ids = list(details.pop("patient_ids", None) or ())
    if row.entity == "patient" and row.entity_id is not None:
        patient_ids.insert(0, row.entity_id)
    purpose = details.pop("purpose", "")
    at = row.at.replace(tzinfo=timezone.utc).astimezone(tz or local_tz())
    return {"id": row.id, "at": at, "user": row.username or "", "action": row.action,
            "kind": next((k for k in ("view", "export", "message") if _is_kind(row.action, k)), "change"),
            "entity": row.entity, "entity_id": row.entity_id, "district_id": row.district_id,
            "purpose": purpose, "patient_ids": patient_ids,
            "details": mask_phones_in(json.dumps(details, sort_keys=True, ensure_ascii=False, default=str))}


def _is_kind(action, kind):
    if kind == "view":
        return "view" in action or action.endswith(".search") or "reveal" in action
    if kind == "export":
        return action == "export" or action.endswith(".export") or action == "import.error_report"
    return action.startswith(("outbox.", "sms.", "checkin")) or action in ("escalation.realert",
                                                                            "escalation.dispatch")


def _utc(day):
    """Midnight of a local day, as naive UTC (the database's time)."""
    return datetime.combine(day, time(), tzinfo=local_tz()).astimezone(timezone.utc).replace(tzinfo=None)

CSV_HEADINGS = ("time", "user", "action", "entity", "entity_id", "district_id", "purpose", "patient_ids", "details")


@transaction
def record_export(user, filters):
    """The export of the audit log is itself audited: who took which rows (the filters)."""
    audit.record(user, "audit.export", "audit_log", None, user.district_id, filters=filters.args())


def csv_lines(user, filters):
    """The filtered rows as CSV text chunks (at most EXPORT_MAX_ROWS), every cell through the formula guard.
    The filters are checked now; the rows are read on a connection of our own as the answer is sent, after the
    request's session has ended (as the dashboard's exports)."""
    stmt, _patient = query(user, filters)
    engine, tz = db.engine, local_tz()

    def chunks():
        buffer = io.StringIO()
        writer = spreadsheet.writer(buffer)
        buffer.write("\ufeff")  # Excel reads UTF-8 (Hindi) only with a BOM
        writer.writerow(CSV_HEADINGS)
        with engine.connect() as conn:
            rows = conn.execution_options(stream_results=True, yield_per=2000).execute(stmt.limit(EXPORT_MAX_ROWS))
            for i, row in enumerate(rows, 1):
                r = shown(row, tz)
                writer.writerow([r["at"].isoformat(timespec="seconds"), r["user"], r["action"], r["entity"],
                                 r["entity_id"], r["district_id"], r["purpose"],
                                 " ".join(map(str, r["patient_ids"])), r["details"]])
                if i % 500 == 0:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
        yield buffer.getvalue()
    return chunks()
