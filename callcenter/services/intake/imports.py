"""Importing a daily line list: the file, its columns, every row checked, the valid rows written in one
transaction with today's calls, the rest in a downloadable error report; every import recorded.

Rows go through in chunks of CHUNK_ROWS: one query finds each chunk's people already on record and
executemany writes them, so memory follows the chunk, not the file. The same person further down the
file is found in the database, where the earlier chunks already are (same transaction). A dry run
does exactly the same work, rolls it back, and then records what it found.

The parsing rules are in rules/linelist.py; the registration rules (phone, ABHA, age, dates …) are
services.patients.check_fields, applied to every row as to every form.
"""
import codecs
import csv
import hashlib
import io
import itertools
import json
import logging
import os
import re
import tempfile
import time
import warnings
from collections import Counter, namedtuple
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, and_, bindparam, func, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError

from ... import scope
from ...clock import local_date, utcnow
from ...extensions import db
from ...models import (
    OPEN_TASK_STATUSES,
    Block,
    CallTask,
    District,
    Facility,
    HeaderMapping,
    ImportBatch,
    ImportRow,
    ImportStatus,
    Patient,
    PatientStatus,
    Role,
    RowAction,
    Setting,
    Transfer,
    User,
    Village,
)
from ...models.intake import WAITING_IMPORT_STATUSES
from ...rules import linelist
from ...rules.identity import name_key
from ..calls import call_lists
from ..core import audit
from ..core.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError
from ..core.tx import is_postgres, transaction
from ..records.patients import FIELD_MESSAGES, check_facility, check_fields

IMPORTER_ROLES = {Role.NODAL_OFFICER, Role.ADMIN}
EXTENSIONS = (".csv", ".xlsx")
CHUNK_ROWS = 1000
HEADER_SCAN_ROWS = 10   # a title may sit above the header row
SAMPLE_ROWS = 3         # shown beside each column on the mapping screen
MAX_COLUMNS = 100
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
PROGRESS_EVERY_SECONDS = 1.0  # a background import writes how far it got at most this often
STALLED_MINUTES = 3           # a queued import not started after this long: is the scheduler running?
log = logging.getLogger(__name__)

# Why a row was rejected, by rule code (the registration rules' own messages first).
REASONS = {
    **FIELD_MESSAGES,
    "required_blank": _l("This is blank; every patient needs it."),
    "name_no_letters": _l("The name has no letters. If it shows as ????, the file lost its Hindi letters when it "
                          "was saved: save it as \"CSV UTF-8\" or upload the .xlsx."),
    "age_unreadable": _l("Not an age in years."),
    "sex_unknown": _l("Write M, F or Other (पुरुष, महिला, अन्य)."),
    "setting_unknown": _l("Write hospital, CCC or home isolation."),
    "comorbidity_unknown": _l("Unknown comorbidity %(word)s: write, e.g., diabetes, hypertension, heart, lung, "
                              "kidney, liver or stroke."),
    "language_unknown": _l("Write Hindi or English."),
    "date_unreadable": _l("Not a date: write it day first, e.g. 12/05/2021."),
    "date_invalid": _l("No such date: check the day and the month."),
    "date_too_old": _l("Before %(earliest)s: check the year."),
    "phone_excel_shortened": _l("Excel shortened this number: format the column as text and type it again."),
    "lab_id_excel_shortened": _l("Excel shortened this ID: format the column as text and type it again."),
    "place_unknown": _l("Not a name we know in this district."),
    "place_unknown_suggest": _l("Not a name we know in this district. Did you mean: %(suggestions)s?"),
    "place_ambiguous": _l("More than one place has this name: %(choices)s. Add the block, or write it in full."),
    "facility_missing": _l("Name the hospital or care centre the patient is in."),
    "facility_wrong_kind": _l("This facility is not of the kind the setting says (hospital or care centre)."),
    "facility_wrong_district": _l("This facility is in another district."),
    "district_required": _l("Name the district: this import is not for one district."),
    "district_other": _l("This row is for another district than the one this import is for."),
    # Not "in another district": the refusal must not tell where else a person is a patient.
    "other_district": _l("This person is already on record and cannot be changed by this import; ask the state "
                         "office."),
    "lab_conflict": _l("This lab ID belongs to %(name)s, whose phone and name differ: check the ID."),
    "conflicts_with_row": _l("Differs from %(value)s, which this person already has: row %(row)s of this file "
                             "is the same person. Correct one of the two rows."),
    "phone_name_taken": _l("Another patient being followed up has this phone number and name."),
}
# Why a whole file was refused.
REFUSALS = {
    "type": _l("Upload a line list as a CSV file or an Excel workbook (.xlsx)."),
    "xls": _l("This is an old Excel file (.xls). Open it in Excel and save it as .xlsx or as \"CSV UTF-8\"."),
    "empty": _l("The file is empty."),
    "too_big": _l("The file is larger than %(mb)s MB. Split it into smaller files."),
    "too_many_rows": _l("The file has more than %(rows)s rows. Split it into smaller files."),
    "too_many_columns": _l("The file has more than %(columns)s columns: it does not look like a line list."),
    "binary": _l("This is not a CSV (text) file."),
    "encoding": _l("The file's text is not UTF-8 or UTF-16, so its letters cannot be read. In Excel choose "
                   "\"Save as\" → \"CSV UTF-8\" (plain \"CSV\" loses Hindi letters), or upload the .xlsx."),
    "csv_broken": _l("The CSV file is damaged near line %(line)s."),
    "xlsx_broken": _l("This is not an Excel workbook that can be read. Open it in Excel and save it again as .xlsx."),
    "no_header": _l("No header row: the first rows of the file are blank."),
    "no_rows": _l("The file has a header row but no patients under it."),
}


def message(template, params=None):
    """A stored code's message in the reader's language, its %(…)s filled."""
    text = str(template)
    return text % params if params else text


def reason_text(error):
    """One row error ({"column", "value", "reason", "params"}) as a sentence."""
    template = REASONS.get(error.get("reason"))
    return message(template, error.get("params")) if template is not None else str(error.get("reason"))


class Refused(ServiceError):
    """The file is not a line list we can read; the refusal is recorded as a batch."""
    status = 422

    def __init__(self, text, batch=None):
        super().__init__(text)
        self.batch = batch


class NeedsMapping(ServiceError):
    """Some columns are not known (or a needed one is missing): a person must say what they hold."""
    status = 409

    def __init__(self, inspection):
        super().__init__(_l("Say what these columns hold; the choice is remembered for the next file."))
        self.inspection = inspection


class _Unreadable(Exception):
    def __init__(self, code, **params):
        super().__init__(code)
        self.code, self.params = code, params


# --- files -------------------------------------------------------------------------------------------

@dataclass
class StoredFile:
    """A line list on disk: an upload waiting in IMPORT_UPLOAD_DIR, or a file named on the command line."""
    path: Path
    filename: str
    sha256: str
    size: int

    @property
    def extension(self):
        return self.path.suffix.lower()

    @property
    def uploaded(self):
        return self.path.parent.resolve() == upload_dir().resolve()


def upload_dir():
    path = Path(current_app.config["IMPORT_UPLOAD_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def megabytes(size):
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0")


def _safe_name(filename):
    return (os.path.basename((filename or "").replace("\\", "/")).strip() or "line-list")[:255]


def shell_user(district_id=None):
    """Who imports from the shell: state level (or one district), with an administrator's rights, no account."""
    return SimpleNamespace(id=None, role=Role.ADMIN, district_id=district_id, username="shell")


def _check_role(user):
    if user.role not in IMPORTER_ROLES:
        raise Forbidden(_l("Only a nodal officer or an administrator can import line lists."))


def store_upload(stream, filename, user, district_id=None, now=None):
    """Keep an uploaded file (named by its SHA-256) until it is imported; a file of the wrong type or
    size is refused, and the refusal recorded."""
    _check_role(user)
    now = now or utcnow()
    district_id = _district_for(user, district_id)
    filename = _safe_name(filename)
    extension = Path(filename).suffix.lower()
    prune_uploads()
    if extension not in EXTENSIONS:
        _refuse("xls" if extension == ".xls" else "type", filename, "", user, "web", district_id, now)
    limit = current_app.config["IMPORT_MAX_BYTES"]
    digest, size = hashlib.sha256(), 0
    handle, part = tempfile.mkstemp(dir=upload_dir(), suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            while chunk := stream.read(1 << 16):
                size += len(chunk)
                if size > limit:
                    break
                digest.update(chunk)
                out.write(chunk)
        if size == 0 or size > limit:
            os.unlink(part)
            _refuse("empty" if size == 0 else "too_big", filename, "", user, "web", district_id, now,
                    mb=megabytes(limit))
        path = upload_dir() / f"{digest.hexdigest()}{extension}"
        os.replace(part, path)
        _owner_mark(digest.hexdigest(), user).touch()
    except BaseException:
        Path(part).unlink(missing_ok=True)
        raise
    return StoredFile(path, filename, digest.hexdigest(), size)


UPLOAD_GONE = _l("This file is no longer kept here (it was imported, or it is more than a day old). "
                 "Upload it again.")


def stored_upload(sha256, filename):
    """An upload still kept, by its hash; NotFound once it has been imported or has expired."""
    if SHA256_RE.match(sha256 or ""):
        for extension in EXTENSIONS:
            path = upload_dir() / f"{sha256}{extension}"
            if path.is_file():
                return StoredFile(path, _safe_name(filename), sha256, path.stat().st_size)
    raise NotFound(UPLOAD_GONE)


def _owner_mark(sha256, user):
    """An empty file beside an upload saying which district's officer sent it (the hash alone is no key:
    the same file could be known elsewhere)."""
    return upload_dir() / f"{sha256}.{user.district_id or 'state'}.owner"


def stored_upload_for(user, sha256, filename):
    """An upload this user may continue (map its columns, import it): one sent by an officer of their district;
    state-level officers reach every upload. Another district's upload is "no longer kept", as a missing one."""
    stored = stored_upload(sha256, filename)
    if user.district_id is not None and not _owner_mark(sha256, user).is_file():
        raise NotFound(UPLOAD_GONE)
    return stored


def local_file(path):
    """A file named on the command line, hashed where it lies."""
    path = Path(path)
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return StoredFile(path, path.name, digest.hexdigest(), path.stat().st_size)


def prune_uploads():
    """Uploads hold personal data: none is kept longer than IMPORT_UPLOAD_HOURS."""
    cutoff = time.time() - current_app.config["IMPORT_UPLOAD_HOURS"] * 3600
    for path in upload_dir().iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
        except FileNotFoundError:  # another worker pruned it first
            pass


def _discard(stored):
    if stored.uploaded:
        stored.path.unlink(missing_ok=True)
        for mark in upload_dir().glob(f"{stored.sha256}.*.owner"):
            mark.unlink(missing_ok=True)


def _rows(stored):
    """The file's rows as lists of cell values."""
    if stored.extension == ".xlsx":
        return _xlsx_rows(stored.path)
    return _csv_rows(stored.path)


def _csv_rows(path):
    with open(path, "rb") as raw:
        head = raw.read(64 * 1024)
        utf16 = head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
        if not utf16 and b"\x00" in head:
            raise _Unreadable("binary")
        raw.seek(0)
        # utf-8-sig also reads UTF-8 without a BOM; anything else (Excel's cp1252 "CSV") is refused.
        text = io.TextIOWrapper(raw, encoding="utf-16" if utf16 else "utf-8-sig", errors="strict", newline="")
        reader = None
        try:
            first_line = text.readline()
            delimiter = max(",;\t|", key=first_line.count) if first_line.strip() else ","
            text.seek(0)
            reader = csv.reader(text, delimiter=delimiter)
            yield from reader
        except UnicodeError:
            raise _Unreadable("encoding") from None
        except csv.Error:
            raise _Unreadable("csv_broken", line=reader.line_num if reader else 1) from None


def _xlsx_rows(path):
    import openpyxl
    with open(path, "rb") as f:
        magic = f.read(8)
    if magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise _Unreadable("xls")
    if not magic.startswith(b"PK"):
        raise _Unreadable("xlsx_broken")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about features it does not read (validation …)
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:
        raise _Unreadable("xlsx_broken") from None
    try:
        sheets = [s for s in [workbook.active, *workbook.worksheets] if hasattr(s, "iter_rows")]
        if not sheets:
            raise _Unreadable("xlsx_broken")
        try:
            for row in sheets[0].iter_rows(values_only=True):
                yield list(row)
        except _Unreadable:
            raise
        except Exception:
            raise _Unreadable("xlsx_broken") from None
    finally:
        workbook.close()


def _blank_row(cells):
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


@dataclass
class Inspection:
    """A file's header row and what each column holds (or needs someone to say)."""
    header_row: int
    headers: list
    map: linelist.HeaderMap
    required: tuple
    samples: list = field(default_factory=list)  # first data rows' texts, column by column
    data_rows: object = None                     # the rows after the header: (row number, cells)

    @property
    def needs_mapping(self):
        return self.map.needs_mapping(self.required)

    @property
    def missing(self):
        return self.map.missing(self.required)


def remembered_mappings():
    return dict(db.session.execute(select(HeaderMapping.header_key, HeaderMapping.field)).all())


def _read_header(rows, required, chosen=None):
    buffered = list(itertools.islice(rows, HEADER_SCAN_ROWS))
    if not buffered:
        raise _Unreadable("empty")
    remembered = remembered_mappings()
    index = linelist.find_header_row(buffered, remembered)
    if index is None:
        raise _Unreadable("no_header")
    cells = list(buffered[index])
    while cells and linelist.cell_text(cells[-1]) == "":
        cells.pop()
    if len(cells) > MAX_COLUMNS:
        raise _Unreadable("too_many_columns", columns=MAX_COLUMNS)
    headers = linelist.unique_headers(cells)
    data_rows = itertools.chain(enumerate(buffered[index + 1:], start=index + 2),
                                enumerate(rows, start=len(buffered) + 1))
    samples = [[linelist.cell_text(c) for c in row[:len(headers)]] for row in buffered[index + 1:]
               if not _blank_row(row)][:SAMPLE_ROWS]
    return Inspection(index + 1, headers, linelist.map_headers(headers, remembered, chosen), required, samples,
                      data_rows)


def _required(district_id):
    return linelist.REQUIRED + (() if district_id else ("district",))


def inspect(stored, user, district_id=None, chosen=None, source="web", now=None):
    """The file's columns and what they hold (for the mapping screen); a file that cannot be read is
    refused and the refusal recorded."""
    _check_role(user)
    district_id = _district_for(user, district_id)
    rows = _rows(stored)
    try:
        return _read_header(rows, _required(district_id), chosen)
    except _Unreadable as exc:
        _refuse(exc.code, stored.filename, stored.sha256, user, source, district_id, now or utcnow(), **exc.params)
    finally:
        rows.close()


@transaction
def remember_mapping(choices, user, now=None):
    """Remember what a person said each header holds, for the next file with the same headers. A choice
    the built-in names already make is not stored (and replaces an earlier different one)."""
    _check_role(user)
    now = now or utcnow()
    stored = {}
    for header, field_name in choices.items():
        if field_name not in (*linelist.FIELDS, linelist.IGNORE):
            raise Invalid(_l("Choose what the column holds."), {header: _l("Choose what the column holds.")})
        key = linelist.header_key(header)
        if not key or linelist.BLANK_HEADER.match(header):
            continue
        existing = db.session.scalar(select(HeaderMapping).where(HeaderMapping.header_key == key))
        if field_name == linelist.guess_field(header):
            if existing is not None:
                db.session.delete(existing)
            continue
        if existing is None:
            db.session.add(HeaderMapping(header_key=key[:120], field=field_name, created_at=now,
                                         created_by_id=user.id))
        elif existing.field != field_name:
            existing.field, existing.created_at, existing.created_by_id = field_name, now, user.id
        else:
            continue
        stored[key] = field_name
    if stored:
        audit.record(user, "import.mapping", "header_mapping", None, user.district_id, now=now, mappings=stored)


# --- refusing ----------------------------------------------------------------------------------------

def _refuse(code, filename, sha256, user, source, district_id, now, batch_id=None, **params):
    """Record that a file was refused (on its queued batch, if it has one), and raise Refused with the reason."""
    db.session.rollback()
    text = message(REFUSALS[code], params)
    batch = db.session.get(ImportBatch, batch_id) if batch_id else None
    if batch is None:
        batch = ImportBatch(district_id=district_id, user_id=user.id, filename=filename[:255], file_hash=sha256,
                            source=source, started_at=now, mapping={})
        db.session.add(batch)
    batch.status, batch.message, batch.finished_at = ImportStatus.REFUSED, text, now
    db.session.flush()
    audit.record(user, "import.refused", "import_batch", batch.id, district_id, now=now, reason=code)
    db.session.commit()
    raise Refused(text, batch)


def _district_for(user, district_id):
    """The district an import is for: a district officer's own; a state officer's choice, or None (the
    file then names each row's district)."""
    if user.district_id is not None:
        if district_id not in (None, user.district_id):
            raise Forbidden(_l("You can import only into your own district."))
        return user.district_id
    if district_id is not None and db.session.get(District, district_id) is None:
        raise NotFound(_l("Not found, or not in your district."))
    return district_id


# --- the import ----------------------------------------------------------------------------------------

def import_line_list(stored, user, dry_run=False, district_id=None, mapping=None, source="web", now=None,
                     queued=None, progress=None):
    """Import a line list (see the module's docstring). `mapping` is header → field as a person chose it.

    Returns the ImportBatch. Raises Refused (recorded) for a file that is not a readable line list,
    NeedsMapping when columns must be matched first, Conflict when another import or registration
    wrote the same people at the same moment (nothing is written then: run it again).

    `queued` is the (batch id, attempt) of a background import (see run_queued): its batch gets the result
    instead of a new one. `progress(rows)` is called after each chunk with the rows read so far."""
    _check_role(user)
    clock_given = now is not None
    now = now or utcnow()
    district_id = _district_for(user, district_id)
    batch_id = queued[0] if queued else None
    if stored.extension not in EXTENSIONS:
        _refuse("xls" if stored.extension == ".xls" else "type", stored.filename, stored.sha256, user, source,
                district_id, now, batch_id)
    if stored.size == 0:
        _refuse("empty", stored.filename, stored.sha256, user, source, district_id, now, batch_id)
    limit = current_app.config["IMPORT_MAX_BYTES"]
    if stored.size > limit:
        _refuse("too_big", stored.filename, stored.sha256, user, source, district_id, now, batch_id,
                mb=megabytes(limit))
    rows = _rows(stored)
    try:
        inspection = _read_header(rows, _required(district_id), mapping)
        if inspection.needs_mapping:
            raise NeedsMapping(inspection)
        run = _Run(user, district_id, inspection, stored, dry_run, source, now, queued)
        for chunk in _chunks(inspection.data_rows, CHUNK_ROWS):
            run.chunk(chunk)
            if progress is not None:
                progress(run.total)
        batch = run.finish(None if clock_given else utcnow)
    except _Unreadable as exc:
        rows.close()
        _refuse(exc.code, stored.filename, stored.sha256, user, source, district_id, now, batch_id, **exc.params)
    except IntegrityError:
        db.session.rollback()
        raise Conflict(_l("Another import or a registration wrote some of these patients at the same moment. "
                          "Nothing was saved: run the import again.")) from None
    except BaseException:
        db.session.rollback()
        raise
    finally:
        rows.close()
    if not dry_run and batch is not None and not _still_wanted(stored, batch.id):
        _discard(stored)
    return batch


def _still_wanted(stored, batch_id):
    """Whether another import waiting in the queue needs this upload (a check of the same file, say)."""
    return db.session.scalar(select(func.count()).select_from(ImportBatch).where(
        ImportBatch.file_hash == stored.sha256, ImportBatch.status.in_(WAITING_IMPORT_STATUSES),
        ImportBatch.id != batch_id)) > 0


def _chunks(iterable, size):
    iterator = iter(iterable)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


FacilityRef = namedtuple("FacilityRef", "id kind district_id")


class _Places:
    """The districts, facilities, blocks and villages an import may name, matched by rules.linelist."""

    def __init__(self, district_ids):
        places = linelist.Place
        self.districts = linelist.PlaceIndex(
            places(d.id, d.name) for d in db.session.scalars(select(District).where(District.id.in_(district_ids))))
        self.facilities, self.blocks, self.villages = {}, {}, {}
        self.facility_names, self.village_names = {}, {}
        rows = db.session.execute(select(Facility.id, Facility.name, Facility.kind, Facility.district_id)
                                  .where(Facility.district_id.in_(district_ids))).all()
        for d in district_ids:
            self.facilities[d] = linelist.PlaceIndex(places(i, n, group=dd, kind=k) for i, n, k, dd in rows if dd == d)
        self.facility_names = {i: n for i, n, _k, _d in rows}
        rows = db.session.execute(select(Block.id, Block.name, Block.district_id)
                                  .where(Block.district_id.in_(district_ids))).all()
        for d in district_ids:
            self.blocks[d] = linelist.PlaceIndex(places(i, n, group=dd) for i, n, dd in rows if dd == d)
        rows = db.session.execute(select(Village.id, Village.name, Village.block_id, Block.name, Block.district_id)
                                  .join(Block).where(Block.district_id.in_(district_ids))).all()
        for d in district_ids:
            self.villages[d] = linelist.PlaceIndex(places(i, n, group=b, label=f"{n} ({bn})")
                                                   for i, n, b, bn, dd in rows if dd == d)
        self.village_names = {i: n for i, n, _b, _bn, _d in rows}


# Which column an error is shown against, by the field the rule names.
ERROR_COLUMNS = {
    "setting": ("setting", "home_isolation", "facility"), "facility_id": ("facility", "setting", "home_isolation"),
    "facility": ("facility", "setting", "home_isolation"), "village_id": ("village",), "district_id": ("district",),
    "lab_conflict": ("lab_id",),
}
PATIENT_COLUMNS = ["id", "district_id", "name", "name_key", "phone", "lab_id", "status", "positive_date", "age", "sex",
                   "attendant_phone", "address", "village_id", "abha_number", "language", "symptom_onset_date",
                   "comorbidities", "setting", "facility_id", "isolation_start_date", "phone_invalid"]
UPDATE_COLUMNS = ["age", "sex", "attendant_phone", "address", "village_id", "abha_number", "language", "lab_id",
                  "symptom_onset_date", "comorbidities", "phone", "phone_invalid", "setting", "facility_id",
                  "isolation_start_date"]


# Core statements, not ORM bulk ones: executemany in one batch whatever the rows' None values.
PATIENT = Patient.__table__
UPDATE_PATIENT = update(PATIENT).where(PATIENT.c.id == bindparam("_id")).values(
    {c: bindparam(c) for c in UPDATE_COLUMNS})


def _insert_patients(rows):
    """Insert patients, returning their ids in order. On PostgreSQL the ids come from the sequence first and
    the rows go in by COPY: a multi-row INSERT … RETURNING is several times slower there."""
    if not is_postgres():
        return db.session.scalars(insert(PATIENT).returning(PATIENT.c.id, sort_by_parameter_order=True), rows).all()
    ids = db.session.scalars(select(func.nextval(func.pg_get_serial_sequence("patient", "id")))
                             .select_from(func.generate_series(1, len(rows)))).all()
    _bulk_insert(PATIENT, [dict(row, id=i) for row, i in zip(rows, ids, strict=True)])
    return ids


def _bulk_insert(table, rows):
    """Insert rows (dicts with the same keys) in the session's transaction: COPY on PostgreSQL (psycopg's
    executemany costs more per row than everything else an import does), executemany elsewhere."""
    if not rows:
        return
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


@dataclass
class _Person:
    """A patient as this import sees them: on record (id) or added by it (id once inserted)."""
    values: dict
    id: int | None = None
    new: bool = False
    touched_at: int | None = None   # the first row of this file about them
    changed: bool = False
    original_place: tuple = (None, None)


class _Run:
    def __init__(self, user, district_id, inspection, stored, dry_run, source, now, queued=None):
        self.user, self.district_id, self.inspection = user, district_id, inspection
        self.stored, self.dry_run, self.source, self.now = stored, dry_run, source, now
        self.today = local_date(now)
        self.max_rows = current_app.config["IMPORT_MAX_ROWS"]
        self.headers = inspection.headers
        fields = inspection.map.fields
        self.mapped = [(i, f) for i, f in enumerate(fields) if f not in (None, linelist.IGNORE)]
        self.column_of = {f: self.headers[i] for i, f in self.mapped}
        self.name_column = self.column_of["name"]
        district_ids = [district_id] if district_id else [d.id for d in scope.districts(user)]
        self.places = _Places(district_ids)
        self.counts = Counter()
        self.total = 0
        self.spill = tempfile.TemporaryFile("w+", encoding="utf-8") if dry_run else None
        # One import at a time per district: the second waits for the first's commit, then sees its patients.
        db.session.execute(select(District.id).where(District.id.in_(district_ids)).with_for_update())
        self.queued = queued
        if queued:
            # A background import's batch (committed when it was queued): read, not written until the end,
            # so the progress the worker writes beside this transaction never waits for it.
            self.batch = db.session.get(ImportBatch, queued[0])
        else:
            self.batch = ImportBatch(district_id=district_id, user_id=user.id, filename=stored.filename,
                                     file_hash=stored.sha256, source=source,
                                     status=ImportStatus.DRY_RUN if dry_run else ImportStatus.COMPLETED,
                                     started_at=now, mapping=inspection.map.as_dict())
            db.session.add(self.batch)
            db.session.flush()
        self.batch_id = self.batch.id
        self.reason = f"line list import #{self.batch_id}"

    # --- checking one row ---

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
        data, parse_errors = linelist.parse_row(values)
        errors = [self._error(f, code, params, raw) for f, code, params in parse_errors]
        failed = {f for f, _c, _p in parse_errors}

        district_id = self.district_id
        if data.get("district"):
            try:
                found = self.places.districts.match(data["district"]).id
            except linelist.CellError as exc:
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
                except linelist.CellError as exc:
                    errors.append(self._error("facility", exc.code, exc.params, raw))
                    failed.add("facility")
            block = None
            if data.get("block") and data.get("village"):
                try:
                    block = self.places.blocks[district_id].match(data["block"]).id
                except linelist.CellError as exc:
                    errors.append(self._error("block", exc.code, exc.params, raw))
                    failed.add("village")
            if data.get("village") and "village" not in failed:
                try:
                    village = self.places.villages[district_id].match(data["village"], group=block)
                except linelist.CellError as exc:
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

    # --- a chunk of rows ---

    def chunk(self, rows):
        checked = []
        for row_number, cells in rows:
            if _blank_row(cells):
                continue
            self.total += 1
            if self.total > self.max_rows:
                raise _Unreadable("too_many_rows", rows=f"{self.max_rows:,}")
            raw = {h: (linelist.cell_text(cells[i]) if i < len(cells) else "") for i, h in enumerate(self.headers)}
            data, errors = self.check(cells, raw)
            checked.append([row_number, raw, data, errors, None, None])  # … action, person
        self._resolve(checked)
        self._write(checked)

    def _candidates(self, checked):
        labs = {d["lab_id"] for _n, _r, d, _e, _a, _p in checked if d and d["lab_id"]}
        phones = {d["phone"] for _n, _r, d, _e, _a, _p in checked if d}
        if not phones:
            return []
        columns = [getattr(Patient, c) for c in PATIENT_COLUMNS]
        condition = Patient.phone.in_(phones)
        if labs:
            condition = or_(condition, Patient.lab_id.in_(labs))
        found = db.session.execute(select(*columns).where(condition)).all()
        touched = dict(db.session.execute(
            select(ImportRow.patient_id, func.min(ImportRow.row_number))
            .where(ImportRow.batch_id == self.batch_id, ImportRow.patient_id.in_([r.id for r in found]))
            .group_by(ImportRow.patient_id)).all()) if found else {}
        people = []
        for row in found:
            values = dict(zip(PATIENT_COLUMNS, row, strict=True))
            values["comorbidities"] = [c for c in (values["comorbidities"] or "").split(",") if c]
            values["active"] = values["status"] == PatientStatus.ACTIVE
            people.append(_Person(values, id=values["id"], touched_at=touched.get(values["id"]),
                                  original_place=(values["setting"], values["facility_id"])))
        # Prefer people still followed up, then the import's own district, then the latest.
        people.sort(key=lambda p: (not p.values["active"], p.values["district_id"] != self.district_id, -p.id))
        return people

    def _resolve(self, checked):
        by_lab, by_phone = {}, {}

        def index(person):
            if person.values.get("lab_id"):
                by_lab.setdefault(linelist.lab_key(person.values["lab_id"]), []).append(person)
            by_phone.setdefault(person.values["phone"], []).append(person)

        for person in self._candidates(checked):
            index(person)
        for entry in checked:
            row_number, raw, data, errors = entry[:4]
            if data is None:
                entry[4] = RowAction.REJECTED
                continue
            person, how = self._find(data, by_lab, by_phone)
            if person is not None and person.values["district_id"] != data["district_id"]:
                errors.append(self._error("lab_id" if how != "phone_name" else "phone", "other_district", {}, raw))
            elif how == "lab_conflict":
                errors.append(self._error("lab_conflict", "lab_conflict", {"name": person.values["name"]}, raw))
            elif person is None:
                person = self._new_person(data, row_number)
                index(person)
                entry[4], entry[5] = RowAction.ADDED, person
                continue
            else:
                action = self._update(person, data, how, row_number, raw, errors, by_phone)
                if action is not None:
                    if person not in by_phone.get(person.values["phone"], ()):  # its phone changed
                        by_phone.setdefault(person.values["phone"], []).append(person)
                    entry[4], entry[5] = action, person
                    continue
            entry[4] = RowAction.REJECTED

    def _find(self, data, by_lab, by_phone):
        conflict = None
        if data["lab_id"]:
            for person in by_lab.get(linelist.lab_key(data["lab_id"]), ()):
                how = linelist.same_person(data, person.values)
                if how == "lab":
                    return person, how
                conflict = conflict or person
        for person in by_phone.get(data["phone"], ()):
            if linelist.same_person(data, person.values) == "phone_name":
                return person, "phone_name"
        return (conflict, "lab_conflict") if conflict else (None, None)

    def _new_person(self, data, row_number):
        values = {k: data[k] for k in ("district_id", "name", "name_key", "phone", "lab_id", "positive_date", "age",
                                       "sex", "attendant_phone", "address", "village_id", "abha_number", "language",
                                       "symptom_onset_date", "comorbidities", "setting", "facility_id")}
        values.update(status=PatientStatus.ACTIVE, active=True, phone_invalid=False,
                      isolation_start_date=data["positive_date"] if data["setting"] == Setting.HOME else None)
        return _Person(values, new=True, touched_at=row_number)

    def _update(self, person, data, how, row_number, raw, errors, by_phone):
        """Apply a row to a person on record (or added earlier in this file); None if the row is rejected."""
        incoming = dict(data, language=data["language_given"])
        changes = linelist.plan_update(person.values, incoming, phone_may_change=how == "lab")
        if person.touched_at is not None:
            # The first row about a person may change their record; later rows may only fill blanks, or
            # importing the same file twice would change it again.
            for field_name, (old, _new) in linelist.overwrites(changes).items():
                errors.append(self._error(field_name, "conflicts_with_row",
                                          {"row": person.touched_at, "value": self._shown(field_name, old)}, raw))
            if errors:
                return None
        if "phone" in changes and any(other is not person and other.values["active"]
                                      and other.values["name_key"] == person.values["name_key"]
                                      for other in by_phone.get(changes["phone"][1], ())):
            errors.append(self._error("phone", "phone_name_taken", {}, raw))
            return None
        for field_name, (_old, new) in changes.items():
            person.values[field_name] = new
        if "phone" in changes:
            person.values["phone_invalid"] = False
        if changes.get("setting", (None, None))[1] == Setting.HOME and not person.values["isolation_start_date"]:
            person.values["isolation_start_date"] = self.today
        if person.touched_at is None:
            person.touched_at = row_number
        if changes:
            person.changed = True
            return RowAction.UPDATED
        return RowAction.UNCHANGED

    def _shown(self, field_name, value):
        if field_name == "facility_id":
            return self.places.facility_names.get(value, "—")
        if field_name == "village_id":
            return self.places.village_names.get(value, "—")
        if hasattr(value, "strftime"):
            return value.strftime("%d/%m/%Y")
        return str(value)

    # --- writing a chunk ---

    def _write(self, checked):
        people = {id(p): p for *_rest, p in checked if p is not None}.values()
        new = [p for p in people if p.new and p.id is None]
        transfers = []
        if new:
            rows = [self._patient_row(p) for p in new]
            ids = _insert_patients(rows)
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
            _bulk_insert(Transfer.__table__, transfers)
        import_rows = []
        for row_number, raw, _data, errors, action, person in checked:
            self.counts[action] += 1
            rejected = action == RowAction.REJECTED
            # A rejected row keeps all its cells (for the error report); the others only the name (a dry
            # run's page names the people it would add).
            kept = raw if rejected else {self.name_column: raw.get(self.name_column, "")}
            import_rows.append({"batch_id": self.batch_id, "row_number": row_number, "action": str(action),
                                "patient_id": None if rejected else person.id, "raw": kept, "errors": errors})
        if import_rows:
            _bulk_insert(ImportRow.__table__, import_rows)
            if self.spill is not None:
                for row in import_rows:
                    self.spill.write(json.dumps({k: v for k, v in row.items() if k != "batch_id"}) + "\n")

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

    # --- the end ---

    def _queue_today(self):
        """Today's calls for the imported patients still followed up: the daily list's policy (slots,
        priority), narrowed to this batch's patients, the slots still ahead today (one call due at once).
        Patients who already have today's tasks get nothing twice."""
        imported = select(ImportRow.patient_id).where(ImportRow.batch_id == self.batch_id,
                                                      ImportRow.action != RowAction.REJECTED)
        if is_postgres():
            # Statistics as of now (our own rows included): soon after the morning's list or another import,
            # stale ones say today has no tasks and the "not made yet" check is planned as a nested loop
            # over all of them for every patient: minutes instead of a second.
            db.session.execute(text("ANALYZE call_task, import_row"))
        return call_lists.add_tasks_for_patients(imported, self.today, self.now, reason="line_list")

    def finish(self, clock):
        if self.total == 0:
            raise _Unreadable("no_rows")
        counts = {"rows_total": self.total, "rows_added": self.counts[RowAction.ADDED],
                  "rows_updated": self.counts[RowAction.UPDATED], "rows_unchanged": self.counts[RowAction.UNCHANGED],
                  "rows_rejected": self.counts[RowAction.REJECTED]}
        finished = clock() if clock else self.now
        if not self.dry_run:
            if not self._still_ours():
                return None
            batch = self.batch
            for name, value in counts.items():
                setattr(batch, name, value)
            batch.status, batch.finished_at, batch.rows_done, batch.message = (
                ImportStatus.COMPLETED, finished, self.total, "")
            tasks = self._queue_today()
            batch.tasks_created = tasks
            audit.record(self.user, "import.line_list", "import_batch", batch.id, self.district_id, now=self.now,
                         file_hash=self.stored.sha256, tasks_created=tasks, **counts)
            db.session.commit()
            return batch
        # A dry run: forget everything it wrote, then record what it found.
        db.session.rollback()
        if self.queued:
            if not self._still_ours():
                return None
            batch = db.session.get(ImportBatch, self.batch_id)
            for name, value in counts.items():
                setattr(batch, name, value)
            batch.status, batch.finished_at, batch.rows_done, batch.message = (
                ImportStatus.DRY_RUN, finished, self.total, "")
        else:
            batch = ImportBatch(district_id=self.district_id, user_id=self.user.id, filename=self.stored.filename,
                                file_hash=self.stored.sha256, source=self.source, status=ImportStatus.DRY_RUN,
                                started_at=self.now, finished_at=finished, mapping=self.inspection.map.as_dict(),
                                **counts)
            db.session.add(batch)
        db.session.flush()
        self.spill.seek(0)
        for lines in _chunks(self.spill, CHUNK_ROWS):
            rows = [json.loads(line) for line in lines]
            ids = {r["patient_id"] for r in rows if r["patient_id"]}
            existing = set(db.session.scalars(select(Patient.id).where(Patient.id.in_(ids)))) if ids else set()
            for row in rows:
                row["batch_id"] = batch.id
                if row["patient_id"] not in existing:  # added by this dry run, so never written
                    row["patient_id"] = None
            _bulk_insert(ImportRow.__table__, rows)
        self.spill.close()
        audit.record(self.user, "import.dry_run", "import_batch", batch.id, self.district_id, now=self.now,
                     file_hash=self.stored.sha256, **counts)
        db.session.commit()
        return batch

    def _still_ours(self):
        """A background import finishes only while its claim stands: if it was given up as stale and taken
        by another worker meanwhile, this run writes nothing (the other one records the result)."""
        if not self.queued:
            return True
        batch_id, attempt = self.queued
        row = db.session.execute(select(ImportBatch.status, ImportBatch.attempts)
                                 .where(ImportBatch.id == batch_id).with_for_update()).one_or_none()
        if row is None or row.status != ImportStatus.RUNNING or row.attempts != attempt:
            db.session.rollback()
            return False
        return True


# --- background imports ----------------------------------------------------------------------------------
#
# A web request has IMPORT_INLINE_MAX_BYTES of file to import (a district's daily list: a few seconds);
# anything larger is queued: its upload stays in IMPORT_UPLOAD_DIR, an ImportBatch "queued" records who
# asked for what, and the import_queue job (jobs/import_queue.py, every IMPORT_QUEUE_INTERVAL_SECONDS in the
# scheduler process) claims it ("running", committed), imports it with the code above and writes the result
# on the same batch. The batch page shows the progress and refreshes itself until the result is there.
#
# Idempotent: the same file (by SHA-256) asked again while it waits is the same batch; a real import is
# one transaction, so a worker that dies mid-way leaves nothing but its claim, which goes stale after
# IMPORT_STALE_MINUTES and is taken again (the progress refreshes it while the worker lives); even a
# re-run of a finished file only finds the people it already added (same file twice = nothing changes).

QUEUE_MESSAGES = {
    "file_gone": _l("The uploaded file is no longer kept here (more than a day old, or already imported). "
                    "Upload it again."),
    "mapping": _l("The file's columns need to be matched again. Upload it again."),
    "conflict": _l("Another import or a registration wrote some of these patients at the same moment; "
                   "the import will be tried again."),
    "retrying": _l("The import stopped on an error (attempt %(attempt)s of %(max)s); it will be tried again."),
    "gave_up": _l("The import stopped on an error %(max)s times; nothing was saved. Ask the administrator to "
                  "look at the log, or split the file and upload it again."),
}


def background(stored):
    """Whether a web upload is imported in the background (by size: rows are only known once read)."""
    return stored.size > current_app.config["IMPORT_INLINE_MAX_BYTES"]


def submit(stored, user, dry_run=False, district_id=None, mapping=None, now=None):
    """Import a web upload now, or queue it when it is large (see above). Returns the batch; a queued
    one has `.already_waiting` True when the same file was already waiting for the same run."""
    if not background(stored):
        return import_line_list(stored, user, dry_run=dry_run, district_id=district_id, mapping=mapping, now=now)
    return queue_import(stored, user, dry_run=dry_run, district_id=district_id, mapping=mapping, now=now)


def queue_import(stored, user, dry_run=False, district_id=None, mapping=None, now=None):
    """Queue a stored upload for the import_queue job. Its header row is read first, so an unreadable
    file is refused (recorded) and unknown columns raise NeedsMapping at once, as for an import in the
    request."""
    _check_role(user)
    now = now or utcnow()
    district_id = _district_for(user, district_id)
    inspection = inspect(stored, user, district_id, chosen=mapping, now=now)
    if inspection.needs_mapping:
        raise NeedsMapping(inspection)
    waiting = db.session.scalar(select(ImportBatch).where(
        ImportBatch.file_hash == stored.sha256, ImportBatch.status.in_(WAITING_IMPORT_STATUSES),
        ImportBatch.dry_run == bool(dry_run),
        ImportBatch.district_id.is_(None) if district_id is None else ImportBatch.district_id == district_id)
        .order_by(ImportBatch.id).limit(1))
    if waiting is not None:
        waiting.already_waiting = True
        return waiting
    batch = ImportBatch(district_id=district_id, user_id=user.id, filename=stored.filename, file_hash=stored.sha256,
                        source="web", status=ImportStatus.QUEUED, dry_run=bool(dry_run), started_at=now,
                        mapping=inspection.map.as_dict(), rows_expected=estimate_rows(stored, inspection))
    db.session.add(batch)
    db.session.flush()
    audit.record(user, "import.queued", "import_batch", batch.id, district_id, now=now, file_hash=stored.sha256,
                 dry_run=bool(dry_run), size=stored.size)
    db.session.commit()
    batch.already_waiting = False
    return batch


def estimate_rows(stored, inspection=None):
    """About how many rows the file has (for the progress bar): its lines, or the sheet's stated size."""
    header_row = inspection.header_row if inspection else 1
    try:
        if stored.extension == ".xlsx":
            import openpyxl
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                workbook = openpyxl.load_workbook(stored.path, read_only=True, data_only=True)
            try:
                rows = workbook.active.max_row
            finally:
                workbook.close()
        else:
            rows, last = 0, b"\n"
            with open(stored.path, "rb") as f:
                while chunk := f.read(1 << 20):
                    rows, last = rows + chunk.count(b"\n"), chunk[-1:]
            rows += last != b"\n"  # a last line without a newline
    except Exception:  # only an estimate: the import itself says what is wrong with the file
        return None
    return max(rows - header_row, 0) if rows else None


def claim_next(now=None):
    """Claim the oldest queued import, or a running one whose worker went quiet for IMPORT_STALE_MINUTES:
    'running', committed, attempts + 1. Returns (batch id, attempt) or None."""
    now = now or utcnow()
    stale = now - timedelta(minutes=current_app.config["IMPORT_STALE_MINUTES"])
    claimable = or_(ImportBatch.status == ImportStatus.QUEUED,
                    and_(ImportBatch.status == ImportStatus.RUNNING, ImportBatch.claimed_at < stale))
    try:
        for batch_id, attempts in db.session.execute(
                select(ImportBatch.id, ImportBatch.attempts).where(claimable).order_by(ImportBatch.id).limit(5)):
            taken = db.session.execute(
                update(ImportBatch).where(ImportBatch.id == batch_id, ImportBatch.attempts == attempts, claimable)
                .values(status=ImportStatus.RUNNING, claimed_at=now, attempts=attempts + 1, rows_done=0)
                .execution_options(synchronize_session=False)).rowcount
            db.session.commit()
            if taken:
                return batch_id, attempts + 1
        db.session.commit()
        return None
    except BaseException:
        db.session.rollback()
        raise


def _progress_writer(batch_id):
    """progress(rows): written beside the import's own transaction (PostgreSQL), at most once a second,
    refreshing the claim. SQLite allows one writer at a time: there the page shows "running" until the end."""
    if not is_postgres():
        return None
    last = [0.0]

    def write(rows):
        if time.monotonic() - last[0] < PROGRESS_EVERY_SECONDS:
            return
        last[0] = time.monotonic()
        try:
            with db.engine.begin() as connection:
                connection.execute(text("SET LOCAL lock_timeout = '2s'"))
                connection.execute(update(ImportBatch.__table__).where(ImportBatch.__table__.c.id == batch_id)
                                   .values(rows_done=rows, claimed_at=utcnow()))
        except OperationalError:  # progress is a courtesy: never stop an import for it
            log.warning("import #%s: progress not written", batch_id, exc_info=True)
    return write


def _set_state(batch_id, attempt, status, note, now):
    """End (or give back) a claimed import that did not finish, if the claim is still this worker's."""
    db.session.rollback()
    db.session.execute(update(ImportBatch).where(ImportBatch.id == batch_id, ImportBatch.attempts == attempt,
                                                 ImportBatch.status == ImportStatus.RUNNING)
                       .values(status=status, message=str(note),
                               finished_at=now if status != ImportStatus.QUEUED else None)
                       .execution_options(synchronize_session=False))
    db.session.commit()


def run_queued(claim, now=None):
    """Import one claimed batch (from claim_next). Returns its status afterwards."""
    batch_id, attempt = claim
    now = now or utcnow()
    batch = db.session.get(ImportBatch, batch_id)
    max_attempts = current_app.config["IMPORT_MAX_ATTEMPTS"]
    if attempt > max_attempts:  # its worker died every time (killed, out of memory): stop trying
        log.error("import #%s: given up after %s attempts", batch_id, max_attempts)
        _set_state(batch_id, attempt, ImportStatus.FAILED, message(QUEUE_MESSAGES["gave_up"], {"max": max_attempts}),
                   now)
        return ImportStatus.FAILED
    user = db.session.get(User, batch.user_id) if batch.user_id else None
    user = user or shell_user(batch.district_id)
    asked = dict(dry_run=batch.dry_run, district_id=batch.district_id, mapping=dict(batch.mapping or {}),
                   source=batch.source)
    try:
        stored = stored_upload(batch.file_hash, batch.filename)
    except NotFound:
        _set_state(batch_id, attempt, ImportStatus.FAILED, QUEUE_MESSAGES["file_gone"], now)
        return ImportStatus.FAILED
    log.info("import #%s (%s): attempt %s", batch_id, batch.filename, attempt)
    try:
        done = import_line_list(stored, user, now=now, queued=claim, progress=_progress_writer(batch_id),
                                **asked)
    except Refused:
        return ImportStatus.REFUSED  # recorded on the batch
    except NeedsMapping:
        _set_state(batch_id, attempt, ImportStatus.FAILED, QUEUE_MESSAGES["mapping"], now)
        return ImportStatus.FAILED
    except (Conflict, Forbidden, NotFound) as exc:
        if isinstance(exc, Conflict) and attempt < max_attempts:
            _set_state(batch_id, attempt, ImportStatus.QUEUED, QUEUE_MESSAGES["conflict"], now)
            return ImportStatus.QUEUED
        _set_state(batch_id, attempt, ImportStatus.FAILED, exc.message, now)
        return ImportStatus.FAILED
    except Exception:
        log.exception("import #%s: attempt %s failed", batch_id, attempt)
        if attempt < max_attempts:
            _set_state(batch_id, attempt, ImportStatus.QUEUED,
                       message(QUEUE_MESSAGES["retrying"], {"attempt": attempt, "max": max_attempts}), now)
            return ImportStatus.QUEUED
        _set_state(batch_id, attempt, ImportStatus.FAILED, message(QUEUE_MESSAGES["gave_up"], {"max": max_attempts}),
                   now)
        return ImportStatus.FAILED
    if done is None:
        log.warning("import #%s: attempt %s was overtaken by another worker; its result is not recorded",
                    batch_id, attempt)
        return ImportStatus.RUNNING
    return ImportStatus(done.status)


def run_queue(now=None, limit=None):
    """Import queued line lists one after another until none is left (or `limit`). Returns a Counter of
    the statuses they ended in (a retried one counts as queued)."""
    counts = Counter()
    while limit is None or sum(counts.values()) < limit:
        claim = claim_next(now)
        if claim is None:
            break
        counts[str(run_queued(claim, now))] += 1
    return counts


def waiting_since(batch, now=None):
    """Minutes a queued import has waited for a worker (the page warns when no scheduler seems to run)."""
    return ((now or utcnow()) - batch.started_at).total_seconds() / 60


# --- looking at imports ----------------------------------------------------------------------------------

def batches(user, offset=0, limit=50):
    """The imports this user may see, newest first: (batches, total)."""
    _check_role(user)
    stmt = scope.scoped(select(ImportBatch), ImportBatch, user)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    found = db.session.scalars(stmt.order_by(ImportBatch.started_at.desc(), ImportBatch.id.desc())
                               .offset(offset).limit(limit)).all()
    return found, total


@transaction
def open_batch(user, batch_id):
    """One import, for its page; logged, as the page shows patients' rows (DPDP)."""
    _check_role(user)
    batch = scope.get_scoped(ImportBatch, batch_id, user)
    if batch.status not in WAITING_IMPORT_STATUSES:  # (a waiting import's page, refreshed, shows no patient)
        audit.record(user, "import.view", "import_batch", batch.id, batch.district_id)
    return batch


def batch_rows(batch, action=None, offset=0, limit=100):
    """(rows, total): an import's rows with their patient's name and phone, rejected ones first."""
    stmt = select(ImportRow, Patient.name, Patient.phone).outerjoin(Patient, Patient.id == ImportRow.patient_id) \
        .where(ImportRow.batch_id == batch.id)
    if action:
        stmt = stmt.where(ImportRow.action == action)
    total = db.session.scalar(select(func.count()).select_from(
        select(ImportRow.id).where(ImportRow.batch_id == batch.id,
                                   *([ImportRow.action == action] if action else [])).subquery()))
    rejected_first = (ImportRow.action != RowAction.REJECTED)
    rows = db.session.execute(stmt.order_by(rejected_first, ImportRow.row_number).offset(offset).limit(limit)).all()
    return rows, total


def earlier_imports(batch):
    """Completed imports of the same file before this one."""
    if not batch.file_hash:
        return []
    return db.session.scalars(select(ImportBatch).where(
        ImportBatch.file_hash == batch.file_hash, ImportBatch.id != batch.id,
        ImportBatch.status == ImportStatus.COMPLETED, ImportBatch.started_at <= batch.started_at)
        .order_by(ImportBatch.id)).all()


def can_run(batch):
    """A checked (dry-run) file can be imported from its page while its upload is kept."""
    if batch.status != ImportStatus.DRY_RUN or batch.source != "web":
        return False
    try:
        stored_upload(batch.file_hash, batch.filename)
    except NotFound:
        return False
    return True


def error_report_name(batch):
    return f"{Path(batch.filename).stem}-errors-{batch.id}.csv"


@transaction
def log_error_report(user, batch):
    audit.record(user, "import.error_report", "import_batch", batch.id, batch.district_id,
                 rows=batch.rows_rejected)


def error_report(batch):
    """The rejected rows as CSV text, chunk by chunk: the file's own columns, then an 'errors' column
    saying what to correct. Corrected and imported again, it finishes the job (the extra column is ignored)."""
    headers = list(batch.mapping or {})
    columns = headers + [linelist.ERRORS_COLUMN]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    yield "\ufeff" + buffer.getvalue()  # a BOM, so Excel opens the Hindi letters as UTF-8
    last = 0
    while True:
        rows = db.session.execute(select(ImportRow.id, ImportRow.raw, ImportRow.errors).where(
            ImportRow.batch_id == batch.id, ImportRow.action == RowAction.REJECTED, ImportRow.id > last)
            .order_by(ImportRow.id).limit(CHUNK_ROWS)).all()
        if not rows:
            return
        buffer.seek(0)
        buffer.truncate()
        for row_id, raw, errors in rows:
            writer.writerow([raw.get(h, "") for h in headers] + [errors_text(errors)])
            last = row_id
        yield buffer.getvalue()


def errors_text(errors):
    return "; ".join(f"{e['column'] or '—'}: {reason_text(e)}" for e in errors)


def summary(batch):
    """One sentence on what an import did (or, for a dry run, would do)."""
    params = {"total": batch.rows_total, "added": batch.rows_added, "updated": batch.rows_updated,
              "unchanged": batch.rows_unchanged, "rejected": batch.rows_rejected}
    if batch.status in (ImportStatus.REFUSED, ImportStatus.FAILED):
        return batch.message
    if batch.status == ImportStatus.QUEUED:
        return message(_l("Waiting to be imported: it starts within a minute."))
    if batch.status == ImportStatus.RUNNING:
        if batch.rows_expected:
            return message(_l("Importing: %(done)s of about %(expected)s rows read."),
                           {"done": batch.rows_done, "expected": batch.rows_expected})
        return message(_l("Importing: %(done)s rows read."), {"done": batch.rows_done})
    if batch.status == ImportStatus.DRY_RUN:
        return message(_l("Checked %(total)s rows: %(added)s would be added, %(updated)s updated, %(unchanged)s "
                          "unchanged, %(rejected)s rejected. Nothing was saved."), params)
    return message(_l("Imported %(total)s rows: %(added)s added, %(updated)s updated, %(unchanged)s unchanged, "
                      "%(rejected)s rejected."), params)


def progress(batch, now=None):
    """A background import's state, for its page and the page's polling (JSON-ready)."""
    waiting = batch.status in WAITING_IMPORT_STATUSES
    percent = None
    if batch.status == ImportStatus.RUNNING and batch.rows_expected:
        percent = min(99, int(100 * batch.rows_done / batch.rows_expected))
    # A queued import nobody picked up for a few minutes: the scheduler process is probably not running.
    stalled = batch.status == ImportStatus.QUEUED and waiting_since(batch, now) > STALLED_MINUTES
    return {"id": batch.id, "status": str(batch.status), "waiting": waiting, "rows_done": batch.rows_done,
            "rows_expected": batch.rows_expected, "percent": percent, "stalled": stalled, "summary": summary(batch)}
