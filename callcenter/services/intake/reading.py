"""Reading a line list: its rows (CSV in UTF-8 or UTF-16, any usual delimiter; or the first sheet of an
.xlsx), its header row and what each column holds, the columns a person matched remembered for next time.
The header rules are in rules/linelist/headers.py."""
import codecs
import csv
import io
import itertools
import warnings
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ...clock import utcnow
from ...extensions import db
from ...models import HeaderMapping
from ...rules.linelist.cells import Uncalculated, cell_text
from ...rules.linelist.headers import (
    BLANK_HEADER,
    FIELDS,
    IGNORE,
    REQUIRED,
    HeaderMap,
    find_header_row,
    guess_field,
    header_key,
    map_headers,
    unique_headers,
)
from ...rules.spreadsheet import unguard
from ..core import audit
from ..core.errors import Invalid
from ..core.tx import transaction
from .messages import Unreadable
from .refusing import check_role, district_for, refuse

CHUNK_ROWS = 1000       # rows read, checked and written at a time: memory follows the chunk, not the file
HEADER_SCAN_ROWS = 10   # a title may sit above the header row
SAMPLE_ROWS = 3         # shown beside each column on the mapping screen
MAX_COLUMNS = 100


def rows(stored):
    """The file's rows as lists of cell values."""
    if stored.extension == ".xlsx":
        return _xlsx_rows(stored.path)
    return _csv_rows(stored.path)


def _csv_rows(path):
    with open(path, "rb") as raw:
        head = raw.read(64 * 1024)
        utf16 = head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
        if not utf16 and b"\x00" in head:
            raise Unreadable("binary")
        raw.seek(0)
        # utf-8-sig also reads UTF-8 without a BOM; anything else (Excel's cp1252 "CSV") is refused.
        text = io.TextIOWrapper(raw, encoding="utf-16" if utf16 else "utf-8-sig", errors="strict", newline="")
        reader = None
        try:
            first_line = text.readline()
            delimiter = max(",;\t|", key=first_line.count) if first_line.strip() else ","
            text.seek(0)
            reader = csv.reader(text, delimiter=delimiter)
            # (An error report this app wrote comes back with its formula guard: taken off again.)
            for row in reader:
                yield [unguard(cell) for cell in row]
        except UnicodeError:
            raise Unreadable("encoding") from None
        except csv.Error:
            raise Unreadable("csv_broken", line=reader.line_num if reader else 1) from None


def _xlsx_rows(path):
    import openpyxl
    with open(path, "rb") as f:
        magic = f.read(8)
    if magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise Unreadable("xls")
    if not magic.startswith(b"PK"):
        raise Unreadable("xlsx_broken")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about features it does not read (validation …)
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:
        raise Unreadable("xlsx_broken") from None
    try:
        # The first sheet, as the README says (not whichever sheet was open when the file was saved).
        sheets = [s for s in workbook.worksheets if hasattr(s, "iter_rows")]
        if not sheets:
            raise Unreadable("xlsx_broken")
        try:
            yield from _sheet_values(workbook, sheets[0])
        except Unreadable:
            raise
        except Exception:
            raise Unreadable("xlsx_broken") from None
    finally:
        workbook.close()


def _sheet_values(workbook, sheet):
    """A read-only sheet's rows as lists of values (as iter_rows(values_only=True) gives them, from row 1), but a
    formula cell saved without its value (written by a program that never calculated it, e.g. "=A1+1") comes as
    Uncalculated, not as a blank. openpyxl's data_only reading drops the formula; its other reading drops the
    saved values: this is its own sheet parser, told to keep both, in one pass (no slower). It uses the
    read-only sheet's source and the workbook's date formats (openpyxl 3.1's internals, pinned)."""
    from openpyxl.worksheet._reader import FORMULA_TAG, WorkSheetParser

    class Parser(WorkSheetParser):
        def parse_cell(self, element):
            cell = super().parse_cell(element)
            # (A formula whose result is the empty string is saved with t="str" and an empty value: a blank.)
            if cell["value"] is None and cell["data_type"] == "n":
                formula = element.find(FORMULA_TAG)
                if formula is not None:
                    cell["value"] = Uncalculated("=" + (formula.text or ""))
            return cell

    with sheet._get_source() as source:
        parser = Parser(source, sheet._shared_strings, data_only=True, epoch=workbook.epoch,
                        date_formats=workbook._date_formats, timedelta_formats=workbook._timedelta_formats)
        expected = 1
        for index, cells in parser.parse():
            for _ in range(expected, index):  # rows the file leaves out are blank rows
                yield []
            expected = index + 1
            values = [None] * (cells[-1]["column"] if cells else 0)
            for cell in cells:
                values[cell["column"] - 1] = cell["value"]
            yield values


def blank_row(cells):
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


@dataclass
class Inspection:
    """A file's header row and what each column holds (or needs someone to say)."""
    header_row: int
    headers: list
    map: HeaderMap
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


def read_header(rows, required, chosen=None):
    buffered = list(itertools.islice(rows, HEADER_SCAN_ROWS))
    if not buffered:
        raise Unreadable("empty")
    remembered = remembered_mappings()
    index = find_header_row(buffered, remembered)
    if index is None:
        raise Unreadable("no_header")
    cells = list(buffered[index])
    while cells and cell_text(cells[-1]) == "":
        cells.pop()
    if len(cells) > MAX_COLUMNS:
        raise Unreadable("too_many_columns", columns=MAX_COLUMNS)
    headers = unique_headers(cells)
    data_rows = itertools.chain(enumerate(buffered[index + 1:], start=index + 2),
                                enumerate(rows, start=len(buffered) + 1))
    samples = [[cell_text(c) for c in row[:len(headers)]] for row in buffered[index + 1:]
               if not blank_row(row)][:SAMPLE_ROWS]
    return Inspection(index + 1, headers, map_headers(headers, remembered, chosen), required, samples,
                      data_rows)


def required(district_id):
    return REQUIRED + (() if district_id else ("district",))


def inspect(stored, user, district_id=None, chosen=None, source="web", now=None):
    """The file's columns and what they hold (for the mapping screen); a file that cannot be read is
    refused and the refusal recorded."""
    check_role(user)
    district_id = district_for(user, district_id)
    file_rows = rows(stored)
    try:
        return read_header(file_rows, required(district_id), chosen)
    except Unreadable as exc:
        refuse(exc.code, stored.filename, stored.sha256, user, source, district_id, now or utcnow(), **exc.params)
    finally:
        file_rows.close()


@transaction
def remember_mapping(choices, user, now=None):
    """Remember what a person said each header holds, for the next file with the same headers. A choice
    the built-in names already make is not stored (and replaces an earlier different one)."""
    check_role(user)
    now = now or utcnow()
    stored = {}
    for header, field_name in choices.items():
        if field_name not in (*FIELDS, IGNORE):
            raise Invalid(_l("Choose what the column holds."), {header: _l("Choose what the column holds.")})
        key = header_key(header)
        if not key or BLANK_HEADER.match(header):
            continue
        existing = db.session.scalar(select(HeaderMapping).where(HeaderMapping.header_key == key))
        if field_name == guess_field(header):
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


def chunks(iterable):
    """The rows (or lines) CHUNK_ROWS at a time."""
    iterator = iter(iterable)
    while chunk := list(itertools.islice(iterator, CHUNK_ROWS)):
        yield chunk


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
                rows = workbook.worksheets[0].max_row if workbook.worksheets else 0
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
