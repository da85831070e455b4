"""Checking a line list's rows: each row's cells against the parsing and registration rules and the places
the import may name (rules/linelist/, services/records/patients.py check_fields), then, a chunk at a time,
who each valid row is about: someone on record, someone an earlier row of this file added, or a new patient.
Nothing here writes: writing.py does, once a chunk is checked.

Who is who (rules/linelist/records.py judge): a row updates a patient only when it is the same person, i.e.
the same phone (or lab ID) and name, the same sex, and an age within a year (plus the years since it was
recorded). Same phone but another name, age or sex: another person, a new patient, who joins the household
of the patient on that phone (same district, setting and facility; writing.py). Cannot tell (the same name
with another age or sex; a name a letter or two off with the same age and sex; a lab ID's owner with another
age or sex): the row is held for review, nothing written, and its reason says what to check. Never an
overwrite of someone else."""
from collections import namedtuple
from dataclasses import dataclass

from sqlalchemy import func, or_, select

from ...extensions import db
from ...models import Block, District, Facility, ImportRow, Patient, PatientStatus, RowAction, Setting, Village
from ...rules.identity import name_key
from ...rules.linelist.cells import CellError, cell_text
from ...rules.linelist.headers import IGNORE
from ...rules.linelist.places import Place, PlaceIndex
from ...rules.linelist.records import UNRELATED, age_sex, differences, judge, lab_key, overwrites, plan_update
from ...rules.linelist.rows import parse_row
from ..records.patients import check_facility, check_fields

FacilityRef = namedtuple("FacilityRef", "id kind district_id")


class Places:
    """The districts, facilities, blocks and villages an import may name, matched by rules.linelist."""

    def __init__(self, district_ids):
        places = Place
        self.districts = PlaceIndex(
            places(d.id, d.name) for d in db.session.scalars(select(District).where(District.id.in_(district_ids))))
        self.facilities, self.blocks, self.villages = {}, {}, {}
        self.facility_names, self.village_names = {}, {}
        rows = db.session.execute(select(Facility.id, Facility.name, Facility.kind, Facility.district_id)
                                  .where(Facility.district_id.in_(district_ids))).all()
        for d in district_ids:
            self.facilities[d] = PlaceIndex(places(i, n, group=dd, kind=k) for i, n, k, dd in rows if dd == d)
        self.facility_names = {i: n for i, n, _k, _d in rows}
        rows = db.session.execute(select(Block.id, Block.name, Block.district_id)
                                  .where(Block.district_id.in_(district_ids))).all()
        for d in district_ids:
            self.blocks[d] = PlaceIndex(places(i, n, group=dd) for i, n, dd in rows if dd == d)
        rows = db.session.execute(select(Village.id, Village.name, Village.block_id, Block.name, Block.district_id)
                                  .join(Block).where(Block.district_id.in_(district_ids))).all()
        for d in district_ids:
            self.villages[d] = PlaceIndex(places(i, n, group=b, label=f"{n} ({bn})")
                                                   for i, n, b, bn, dd in rows if dd == d)
        self.village_names = {i: n for i, n, _b, _bn, _d in rows}


# Which column an error is shown against, by the field the rule names.
ERROR_COLUMNS = {
    "setting": ("setting", "home_isolation", "facility"), "facility_id": ("facility", "setting", "home_isolation"),
    "facility": ("facility", "setting", "home_isolation"), "village_id": ("village",), "district_id": ("district",),
    "lab_conflict": ("lab_id",),
}
# What a row is matched against, of each person on record.
PATIENT_COLUMNS = ["id", "district_id", "name", "name_key", "phone", "lab_id", "status", "positive_date", "age", "sex",
                   "attendant_phone", "address", "village_id", "abha_number", "language", "symptom_onset_date",
                   "comorbidities", "setting", "facility_id", "isolation_start_date", "phone_invalid", "created_at",
                   "household_id"]


@dataclass
class Person:
    """A patient as this import sees them: on record (id) or added by it (id once inserted)."""
    values: dict
    id: int | None = None
    new: bool = False
    touched_at: int | None = None   # the first row of this file about them
    changed: bool = False
    original_place: tuple = (None, None)
    kin: "Person | None" = None     # a new patient: whose household they join (same phone and place)


@dataclass
class CheckedRow:
    """One row of the file: its cells by header (raw), its clean values (data, None if it has errors), then what
    the import does with it (action) and about whom (person)."""
    row_number: int
    raw: dict
    data: dict | None
    errors: list
    action: RowAction | None = None
    person: Person | None = None
    changes: dict | None = None     # an update: {field: (old, new)}, for the patient's timeline


class RowChecker:
    """One import's row checks and identity resolution (see the module's docstring)."""

    def __init__(self, inspection, district_id, places, today):
        self.district_id, self.places, self.today = district_id, places, today
        self.headers = inspection.headers
        fields = inspection.map.fields
        self.mapped = [(i, f) for i, f in enumerate(fields) if f not in (None, IGNORE)]
        self.column_of = {f: self.headers[i] for i, f in self.mapped}

    # --- checking one row ---

    def row(self, row_number, cells):
        """One row checked; who it is about is found with the rest of its chunk (resolve)."""
        raw = {h: (cell_text(cells[i]) if i < len(cells) else "") for i, h in enumerate(self.headers)}
        data, errors = self.check(cells, raw)
        return CheckedRow(row_number, raw, data, errors)

    def _column(self, field_name):
        for candidate in ERROR_COLUMNS.get(field_name, (field_name,)):
            if candidate in self.column_of:
                return self.column_of[candidate]
        return ""

    def _error(self, field_name, code, params, raw):
        column = self._column(field_name)
        return {"column": column, "value": raw.get(column, ""), "reason": code, "params": params or {}}

    def check(self, cells, raw):
        """(data, errors) for one row: data holds the clean values when there is no error."""
        values = {f: (cells[i] if i < len(cells) else None) for i, f in self.mapped}
        data, parse_errors = parse_row(values)
        errors = [self._error(f, code, params, raw) for f, code, params in parse_errors]
        failed = {f for f, _c, _p in parse_errors}

        district_id = self.district_id
        if data.get("district"):
            try:
                found = self.places.districts.match(data["district"]).id
            except CellError as exc:
                errors.append(self._error("district", exc.code, exc.params, raw))
                found = None
            if found is not None and district_id not in (None, found):
                errors.append(self._error("district", "district_other", {}, raw))
            district_id = district_id or found
        elif district_id is None and "district" not in failed:
            errors.append(self._error("district", "district_required", {}, raw))

        facility = village = None
        if district_id is not None:
            if data.get("facility"):
                try:
                    place = self.places.facilities[district_id].match(data["facility"])
                    facility = FacilityRef(place.id, place.kind, place.group)
                except CellError as exc:
                    errors.append(self._error("facility", exc.code, exc.params, raw))
                    failed.add("facility")
            block = None
            if data.get("block") and data.get("village"):
                try:
                    block = self.places.blocks[district_id].match(data["block"]).id
                except CellError as exc:
                    errors.append(self._error("block", exc.code, exc.params, raw))
                    failed.add("village")
            if data.get("village") and "village" not in failed:
                try:
                    village = self.places.villages[district_id].match(data["village"], group=block)
                except CellError as exc:
                    errors.append(self._error("village", exc.code, exc.params, raw))

        setting = data.get("setting")
        explicit = setting is not None or facility is not None
        setting = setting or (facility.kind if facility else None)
        if setting is None and data.get("not_home") and "facility" not in failed:
            errors.append(self._error("facility", "facility_missing", {}, raw))
            failed.add("facility")
        effective = str(setting or Setting.HOME)

        clean, codes = check_fields({
            "name": data.get("name"), "age": data.get("age"), "sex": data.get("sex"), "phone": data.get("phone"),
            "attendant_phone": data.get("attendant_phone"), "abha_number": data.get("abha_number"),
            "setting": effective, "positive_date": data.get("positive_date"),
            "symptom_onset_date": data.get("symptom_onset_date"), "comorbidities": data.get("comorbidities"),
            "language": data.get("language"), "address": data.get("address"), "lab_id": data.get("lab_id"),
        }, self.today)
        for field_name, code in codes.items():
            if field_name not in failed:
                errors.append(self._error(field_name, code, {}, raw))
        if not failed & {"facility", "setting", "home_isolation"} and district_id is not None:
            code = check_facility(effective, facility, district_id)
            if code:
                errors.append(self._error("facility_id", code, {}, raw))
        if errors:
            return None, errors
        clean.update(name_key=name_key(clean["name"]), district_id=district_id, setting=effective,
                     facility_id=facility.id if facility else None, village_id=village.id if village else None,
                     explicit_setting=explicit, comorbidities=data.get("comorbidities") or [],
                     language_given=data.get("language"))
        return clean, []

    # --- who each row is about ---

    def _candidates(self, checked, batch_id):
        labs = {r.data["lab_id"] for r in checked if r.data and r.data["lab_id"]}
        phones = {r.data["phone"] for r in checked if r.data}
        if not phones:
            return []
        columns = [getattr(Patient, c) for c in PATIENT_COLUMNS]
        condition = Patient.phone.in_(phones)
        if labs:
            condition = or_(condition, Patient.lab_id.in_(labs))
        found = db.session.execute(select(*columns).where(condition)).all()
        touched = dict(db.session.execute(
            select(ImportRow.patient_id, func.min(ImportRow.row_number))
            .where(ImportRow.batch_id == batch_id, ImportRow.patient_id.in_([r.id for r in found]))
            .group_by(ImportRow.patient_id)).all()) if found else {}
        people = []
        for row in found:
            values = dict(zip(PATIENT_COLUMNS, row, strict=True))
            values["comorbidities"] = [c for c in (values["comorbidities"] or "").split(",") if c]
            values["active"] = values["status"] == PatientStatus.ACTIVE
            values["age_on"] = values["created_at"].date()  # (an import's own new patients: today)
            people.append(Person(values, id=values["id"], touched_at=touched.get(values["id"]),
                                  original_place=(values["setting"], values["facility_id"])))
        # Prefer people still followed up, then the import's own district, then the latest.
        people.sort(key=lambda p: (not p.values["active"], p.values["district_id"] != self.district_id, -p.id))
        return people

    def resolve(self, checked, batch_id):
        """Set each checked row's action and person (a row found to conflict gets its error and is rejected).
        People this import already touched are found in the database, where its earlier chunks are."""
        by_lab, by_phone = {}, {}

        def index(person):
            if person.values.get("lab_id"):
                by_lab.setdefault(lab_key(person.values["lab_id"]), []).append(person)
            by_phone.setdefault(person.values["phone"], []).append(person)

        for person in self._candidates(checked, batch_id):
            index(person)
        for entry in checked:
            row_number, raw, data, errors = entry.row_number, entry.raw, entry.data, entry.errors
            if data is None:
                entry.action = RowAction.REJECTED
                continue
            verdict, person = self._find(data, by_lab, by_phone)
            how = verdict.how
            if how in (None, "other"):
                if person is not None and person.values["district_id"] != data["district_id"]:
                    person = None  # (nothing said about people elsewhere)
                new = self._new_person(data, row_number)
                new.kin = self._kin(new, person, by_phone)
                if person is not None:  # told apart from someone alike by age or sex
                    errors.append(self._error("name", "another_person", {
                        "name": person.values["name"], "recorded": age_sex(person.values), "given": age_sex(data)},
                        raw))
                index(new)
                entry.action, entry.person = RowAction.ADDED, new
                continue
            lab_field = how in ("lab", "lab_conflict") or verdict.reason == "held_lab"
            if person.values["district_id"] != data["district_id"]:
                errors.append(self._error("lab_id" if lab_field else "phone", "other_district", {}, raw))
            elif how == "lab_conflict":
                errors.append(self._error("lab_conflict", "lab_conflict", {"name": person.values["name"]}, raw))
            elif how == "held":
                errors.append(self._held(verdict.reason, person, data, raw))
                entry.action = RowAction.HELD
                continue
            else:
                action, changes = self._update(person, data, how, row_number, raw, errors, by_phone)
                if action is not None:
                    if person not in by_phone.get(person.values["phone"], ()):  # its phone changed
                        by_phone.setdefault(person.values["phone"], []).append(person)
                    entry.action, entry.person, entry.changes = action, person, changes
                    continue
            entry.action = RowAction.REJECTED

    def _find(self, data, by_lab, by_phone):
        """(verdict, person) for a row (rules.linelist.records.judge): the person its lab ID says, or the
        same person on its phone ('same' names before short forms), or whose lab ID it has, or why it is
        held; failing those, ('other' or None, the person alike it was told apart from, or None)."""
        conflict = None
        if data["lab_id"]:
            for person in by_lab.get(lab_key(data["lab_id"]), ()):
                verdict = judge(data, person.values, self.today)
                if verdict.how in ("lab", "held"):
                    return verdict, person
                conflict = conflict or (verdict, person)
        verdicts = [(judge(data, p.values, self.today), p) for p in by_phone.get(data["phone"], ())]
        same = [(v, p) for v, p in verdicts if v.how == "phone_name"]
        if same:
            return min(same, key=lambda vp: vp[0].name != "same")
        if conflict:
            return conflict
        return next(((v, p) for v, p in verdicts if v.how == "held"), None) or \
            next(((v, p) for v, p in verdicts if v.reason == "told_apart"), (UNRELATED, None))

    @staticmethod
    def _kin(new, alike, by_phone):
        """Whose household a new patient joins: a patient followed up on the same phone, in the same district,
        setting and facility (the one it was told apart from first), or None."""
        place = (new.values["district_id"], new.values["setting"], new.values["facility_id"])
        for other in ([alike] if alike else []) + by_phone.get(new.values["phone"], []):
            if other.values["active"] and place == (other.values["district_id"], other.values["setting"],
                                                    other.values["facility_id"]):
                return other
        return None

    def _held(self, reason, person, data, raw):
        """Why a row is held for review, against the column to check."""
        field_name = "name" if reason == "held_near_name" else \
            (differences(data, person.values, self.today) or ["age"])[0]
        return self._error(field_name, reason, {"name": person.values["name"], "recorded": age_sex(person.values),
                                                "given": age_sex(data)}, raw)

    def _new_person(self, data, row_number):
        values = {k: data[k] for k in ("district_id", "name", "name_key", "phone", "lab_id", "positive_date", "age",
                                       "sex", "attendant_phone", "address", "village_id", "abha_number", "language",
                                       "symptom_onset_date", "comorbidities", "setting", "facility_id")}
        values.update(status=PatientStatus.ACTIVE, active=True, phone_invalid=False, age_on=self.today,
                      household_id=None,
                      isolation_start_date=data["positive_date"] if data["setting"] == Setting.HOME else None)
        return Person(values, new=True, touched_at=row_number)

    def _update(self, person, data, how, row_number, raw, errors, by_phone):
        """Apply a row to a person on record (or added earlier in this file): (action, {field: (old, new)}),
        action None if the row is rejected. A later row about a person of this file says which row it repeats."""
        incoming = dict(data, language=data["language_given"])
        changes = plan_update(person.values, incoming, phone_may_change=how == "lab")
        if person.touched_at is not None:
            # The first row about a person may change their record; later rows may only fill blanks, or
            # importing the same file twice would change it again.
            for field_name, (old, _new) in overwrites(changes).items():
                errors.append(self._error(field_name, "conflicts_with_row",
                                          {"row": person.touched_at, "value": self._shown(field_name, old)}, raw))
            if errors:
                return None, None
        if "phone" in changes and any(other is not person and other.values["active"]
                                      and other.values["name_key"] == person.values["name_key"]
                                      for other in by_phone.get(changes["phone"][1], ())):
            errors.append(self._error("phone", "phone_name_taken", {}, raw))
            return None, None
        if "phone" in changes and person.values["phone_invalid"]:
            changes["phone_invalid"] = (True, False)
        if changes.get("setting", (None, None))[1] == Setting.HOME and not person.values["isolation_start_date"]:
            changes["isolation_start_date"] = (None, self.today)
        for field_name, (_old, new) in changes.items():
            person.values[field_name] = new
        if person.touched_at is None:
            person.touched_at = row_number
        elif person.touched_at != row_number:
            errors.append(self._error("name", "same_as_row", {"row": person.touched_at}, raw))
        if changes:
            person.changed = True
            return RowAction.UPDATED, changes
        return RowAction.UNCHANGED, None

    def _shown(self, field_name, value):
        if field_name == "facility_id":
            return self.places.facility_names.get(value, "—")
        if field_name == "village_id":
            return self.places.village_names.get(value, "—")
        if hasattr(value, "strftime"):
            return value.strftime("%d/%m/%Y")
        return str(value)
