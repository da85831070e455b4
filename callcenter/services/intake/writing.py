"""Writing a checked chunk in the import's transaction: new patients (COPY on PostgreSQL), each in the household
of the patient followed up on their phone (checking.py says whose), changed ones with their moves (a transfer;
open calls follow to the new setting's queue) and an audit record of each update's old and new values (the
patient's timeline shows them), and one ImportRow per row. A dry run's writes are rolled back at the end: it
spills its rows to a temporary file and writes them again then."""
import json
import tempfile
from collections import Counter
from datetime import date

from sqlalchemy import JSON, bindparam, func, insert, select, update

from ...extensions import db
from ...models import (
    OPEN_TASK_STATUSES,
    AuditLog,
    CallTask,
    Household,
    ImportRow,
    Patient,
    PatientStatus,
    RowAction,
    Setting,
    Transfer,
)
from ...models.intake import UNWRITTEN_ROW_ACTIONS
from ..calls.households import MAX_MEMBERS, members
from ..core import audit
from ..core.tx import is_postgres
from .reading import chunks

UPDATE_COLUMNS = ["age", "sex", "attendant_phone", "address", "village_id", "abha_number", "language", "lab_id",
                  "symptom_onset_date", "comorbidities", "phone", "phone_invalid", "setting", "facility_id",
                  "isolation_start_date"]


# Core statements, not ORM bulk ones: executemany in one batch whatever the rows' None values.
PATIENT = Patient.__table__
UPDATE_PATIENT = update(PATIENT).where(PATIENT.c.id == bindparam("_id")).values(
    {c: bindparam(c) for c in UPDATE_COLUMNS})


def insert_patients(rows):
    """Insert patients, returning their ids in order. On PostgreSQL the ids come from the sequence first and
    the rows go in by COPY: a multi-row INSERT … RETURNING is several times slower there."""
    if not is_postgres():
        return db.session.scalars(insert(PATIENT).returning(PATIENT.c.id, sort_by_parameter_order=True), rows).all()
    ids = db.session.scalars(select(func.nextval(func.pg_get_serial_sequence("patient", "id")))
                             .select_from(func.generate_series(1, len(rows)))).all()
    bulk_insert(PATIENT, [dict(row, id=i) for row, i in zip(rows, ids, strict=True)])
    return ids


def bulk_insert(table, rows):
    """Insert rows (dicts with the same keys) in the session's transaction: COPY on PostgreSQL (psycopg's
    executemany costs more per row than everything else an import does), executemany elsewhere."""
    if not rows:
        return
    if table.name == "audit_log":
        audit.inserted_in_bulk()
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(insert(table), rows)
        return
    columns = list(rows[0])
    as_json = {c for c in columns if isinstance(table.c[c].type, JSON)}
    quote = connection.dialect.identifier_preparer.quote
    sql = f"COPY {quote(table.name)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
    with connection.connection.driver_connection.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row([json.dumps(row[c]) if c in as_json else row[c] for c in columns])


class ChunkWriter:
    """Writes one import's checked chunks (CheckedRow lists, resolved) and counts their actions."""

    def __init__(self, batch_id, user, now, name_column, dry_run):
        self.batch_id, self.user, self.now, self.name_column = batch_id, user, now, name_column
        self.reason = f"line list import #{batch_id}"
        self.counts = Counter()
        self.spill = tempfile.TemporaryFile("w+", encoding="utf-8") if dry_run else None

    def write(self, checked):
        """Write one checked chunk: its people, then its rows."""
        people = {id(r.person): r.person for r in checked if r.person is not None}.values()
        new = [p for p in people if p.new and p.id is None]
        transfers = []
        if new:
            rows = [self._patient_row(p) for p in new]
            ids = insert_patients(rows)
            for person, patient_id in zip(new, ids, strict=True):
                person.id = patient_id
                transfers.append({"patient_id": patient_id, "at": self.now, "from_setting": None,
                                  "to_setting": person.values["setting"], "from_facility_id": None,
                                  "to_facility_id": person.values["facility_id"], "reason": "imported",
                                  "by_user_id": self.user.id})
        changed = [p for p in people if not p.new and p.changed]
        if changed:
            db.session.execute(UPDATE_PATIENT, [
                {"_id": p.id, **{c: self._db_value(c, p.values[c]) for c in UPDATE_COLUMNS}} for p in changed])
            moved = {}
            for person in changed:
                place = (person.values["setting"], person.values["facility_id"])
                if place != person.original_place:
                    transfers.append({"patient_id": person.id, "at": self.now, "from_setting": person.original_place[0],
                                      "to_setting": place[0], "from_facility_id": person.original_place[1],
                                      "to_facility_id": place[1], "reason": self.reason, "by_user_id": self.user.id})
                    moved.setdefault(place[0], []).append(person.id)
                    person.original_place = place
            for setting, ids in moved.items():  # open calls move to the queue of the new setting
                db.session.execute(update(CallTask).where(CallTask.patient_id.in_(ids),
                                                          CallTask.status.in_(OPEN_TASK_STATUSES))
                                   .values(setting=setting).execution_options(synchronize_session=False))
            for person in changed:
                person.changed = False
        if transfers:
            bulk_insert(Transfer.__table__, transfers)
        self._join_households([r for r in checked if r.action == RowAction.ADDED and r.person.kin is not None])
        bulk_insert(AuditLog.__table__, [self._update_record(r) for r in checked if r.changes])
        import_rows = []
        for entry in checked:
            raw, action = entry.raw, entry.action
            self.counts[action] += 1
            unwritten = action in UNWRITTEN_ROW_ACTIONS
            # A rejected or held row keeps all its cells (for the error report); the others only the name (a
            # dry run's page names the people it would add).
            kept = raw if unwritten else {self.name_column: raw.get(self.name_column, "")}
            import_rows.append({"batch_id": self.batch_id, "row_number": entry.row_number, "action": str(action),
                                "patient_id": None if unwritten else entry.person.id, "raw": kept,
                                "errors": entry.errors})
        if import_rows:
            bulk_insert(ImportRow.__table__, import_rows)
            if self.spill is not None:
                for row in import_rows:
                    self.spill.write(json.dumps({k: v for k, v in row.items() if k != "batch_id"}) + "\n")

    def _update_record(self, entry):
        """The audit record of one row's update: every changed field's old and new value."""
        person = entry.person
        return {"at": self.now, "user_id": self.user.id, "action": "patient.import_update", "entity": "patient",
                "entity_id": person.id, "district_id": person.values["district_id"],
                "details": {"batch_id": self.batch_id, "row": entry.row_number,
                            "changes": {f: [_plain(old), _plain(new)] for f, (old, new) in entry.changes.items()}}}

    def _join_households(self, added):
        """Each new patient joins the household of their kin (checking.py), one made if the kin has none,
        unless it is full; the row says so. Audited as households.group audits it."""
        sizes = {}
        for entry in added:
            person, kin = entry.person, entry.person.kin
            household_id = kin.values["household_id"]
            if household_id is None:
                phone = kin.values["phone"]
                if kin.values["setting"] == Setting.HOSPITAL and kin.values["attendant_phone"]:
                    phone = kin.values["attendant_phone"]  # (Patient.call_phone)
                household = Household(district_id=kin.values["district_id"], phone=phone, created_at=self.now)
                db.session.add(household)
                db.session.flush()
                household_id = household.id
                audit.record(self.user, "household.create", "household", household_id, kin.values["district_id"],
                             now=self.now, phone=phone)
                self._join(kin, household_id)
                sizes[household_id] = 1
            elif household_id not in sizes:
                sizes[household_id] = len(members(household_id, active_only=True))
            if sizes[household_id] >= MAX_MEMBERS:
                continue
            self._join(person, household_id)
            sizes[household_id] += 1
            entry.errors.append({"column": self.name_column, "value": entry.raw.get(self.name_column, ""),
                                 "reason": "household_joined", "params": {"name": kin.values["name"]}})

    def _join(self, person, household_id):
        person.values["household_id"] = household_id
        db.session.execute(update(PATIENT).where(PATIENT.c.id == person.id).values(household_id=household_id))
        audit.record(self.user, "household.join", "patient", person.id, person.values["district_id"], now=self.now,
                     household_id=household_id)

    @staticmethod
    def _db_value(column, value):
        return ",".join(value) if column == "comorbidities" else value

    def _patient_row(self, person):
        v = person.values
        return {"district_id": v["district_id"], "name": v["name"], "name_key": v["name_key"], "age": v["age"],
                "sex": v["sex"], "phone": v["phone"], "attendant_phone": v["attendant_phone"],
                "address": v["address"] or "", "village_id": v["village_id"], "setting": v["setting"],
                "facility_id": v["facility_id"], "positive_date": v["positive_date"],
                "symptom_onset_date": v["symptom_onset_date"], "isolation_start_date": v["isolation_start_date"],
                "comorbidities": ",".join(v["comorbidities"]), "abha_number": v["abha_number"], "lab_id": v["lab_id"],
                "language": v["language"] or "hi", "status": str(PatientStatus.ACTIVE), "sms_opt_out": False,
                "phone_invalid": False, "created_at": self.now, "created_by_id": self.user.id}

    def write_spilled(self, batch_id):
        """A dry run, rolled back: its rows written again from the spill, on batch_id, without the patients
        it would have added (never written)."""
        self.spill.seek(0)
        for lines in chunks(self.spill):
            rows = [json.loads(line) for line in lines]
            ids = {r["patient_id"] for r in rows if r["patient_id"]}
            existing = set(db.session.scalars(select(Patient.id).where(Patient.id.in_(ids)))) if ids else set()
            for row in rows:
                row["batch_id"] = batch_id
                if row["patient_id"] not in existing:  # added by this dry run, so never written
                    row["patient_id"] = None
            bulk_insert(ImportRow.__table__, rows)
        self.spill.close()


def _plain(value):
    """A value as JSON holds it (dates as ISO text)."""
    return value.isoformat() if isinstance(value, date) else value
