"""Exports of the dashboard's lists (CSV and XLSX, streamed) and the daily report as PDF.

Both list formats are generators over a server-side cursor (stream_results + yield_per) on a connection of
their own: rows go out as they are read, so memory stays flat whatever the size, and no ORM object is made.
Headings and coded values (setting, status, outcome …) are written in the officer's language, resolved once
when the export starts (the response is sent after the request context has ended).
XLSX is written directly as SpreadsheetML into a zip stream (inline strings, one sheet): openpyxl's
write-only mode made the same file at ~3,300 rows/s on the benchmark machine (a 350,000-row list took
minutes), this writer at ~45,000 rows/s, and it streams instead of building a temporary file.
PDF: the printable report page printed by headless Chromium (Debian's package, no network): it
shapes Hindi (Devanagari) correctly, which pure-Python PDF libraries do not without extra C libraries,
and the PDF is then exactly the page the officer sees and prints.
Every export is written to the audit log (DPDP: log every export) before the first byte goes out.
"""
import io
import re
import subprocess
import tempfile
import zipfile
from datetime import timezone
from pathlib import Path
from types import SimpleNamespace
from xml.sax.saxutils import escape

from flask import current_app
from flask_babel import gettext as _

from ... import labels
from ...clock import local_tz
from ...extensions import db
from ...rules import spreadsheet
from ..core import audit
from ..core.errors import ServiceError
from ..core.tx import transaction
from .overview import list_query

YIELD_PER = 2000
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--no-pdf-header-footer"]
PDF_TIMEOUT_SECONDS = 60


class PdfUnavailable(ServiceError):
    status = 503


DATETIME_COLUMNS = frozenset(("due_at", "created_at", "ended_at", "respond_by", "acknowledged_at", "closed_at", "at"))
DATE_COLUMNS = frozenset(("task_date", "positive_date"))
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def headings(columns):
    """The columns' headings in the current language (as on the list page)."""
    return [str(labels.EXPORT_COLUMNS.get(c, c)) for c in columns]


def _coded(kind):
    """{column: {code: label}} for the coded columns of a list, resolved now in the current language."""
    status = {"tasks": labels.TASK_STATUSES, "escalations": labels.ESCALATION_STATUSES}.get(
        kind, labels.PATIENT_STATUSES)
    maps = {"setting": labels.SETTINGS, "sex": labels.SEXES, "status": status, "last_outcome": labels.OUTCOMES,
            "outcome": labels.OUTCOMES, "kind": labels.ESCALATION_KINDS, "desk": labels.DESKS,
            "severity": labels.SEVERITIES, "channel": labels.CHANNELS}
    out = {col: {k: str(v) for k, v in m.items()} for col, m in maps.items()}
    out["feeling_ok"] = {True: _("yes"), False: _("no")}
    return out


def converters(kind, columns, tz):
    """One function per column turning a database value into what the file shows (built in the request,
    used while streaming): local times, ISO dates, translated codes, numbers as numbers."""
    coded = _coded(kind)

    def when(v):
        return None if v is None else v.replace(tzinfo=timezone.utc).astimezone(tz).strftime("%Y-%m-%d %H:%M")

    def day(v):
        return None if v is None else v.isoformat()

    def label(mapping):
        return lambda v: None if v is None else mapping.get(v, v)

    out = []
    for c in columns:
        if c in DATETIME_COLUMNS:
            out.append(when)
        elif c in DATE_COLUMNS:
            out.append(day)
        elif c in coded:
            out.append(label(coded[c]))
        else:
            out.append(_as_is)
    return out


def _as_is(v):
    return v


@transaction
def record_export(user, kind, fmt, filters, **details):
    audit.record(user, "export", kind, None, filters.district_id or user.district_id, fmt=fmt,
                 filters=filters.args(), **details)


def patient_column(columns):
    """Where a list's rows carry the patient's id (the patients list: its own id)."""
    return columns.index("patient_id") if "patient_id" in columns else columns.index("id")


@transaction
def record_exported(user, kind, fmt, patient_ids):
    """Which patients an export contained (DPDP: who took whose data out), once its last row is written."""
    audit.record(user, "export.patients", kind, None, user.district_id, fmt=fmt, patient_ids=sorted(patient_ids))


def _recorded(rows, at, user, kind, fmt):
    """The rows as they stream, their patients' ids collected and recorded when the stream ends (finished,
    or the download broken off: what went out so far), in an app context of its own (the request is over)."""
    app = current_app._get_current_object()  # (now: a generator's body runs only once the response is sent)
    who = SimpleNamespace(id=user.id, district_id=user.district_id)

    def stream():
        ids = set()
        try:
            for row in rows:
                ids.add(row[at])
                yield row
        finally:
            if ids:
                with app.app_context():
                    record_exported(who, kind, fmt, ids)
    return stream()


def csv_chunks(kind, user, f, **kw):
    """The list as CSV text chunks (heading row first), read from the database in batches.

    The query, headings and labels are made now (while the user and the request are there); rows are
    read on a connection of our own as the response is sent, after the request's session has ended."""
    columns, stmt = list_query(kind, user, f, **kw)
    rows = _recorded(_stream(db.engine, stmt), patient_column(columns), user, kind, "csv")
    return _csv(headings(columns), converters(kind, columns, local_tz()), rows)


def _stream(engine, stmt):
    with engine.connect() as conn:
        yield from conn.execution_options(stream_results=True, yield_per=YIELD_PER).execute(stmt)


def _csv(header, convert, rows):
    buf = io.StringIO()
    # The formula guard is the writer's (rules/spreadsheet.py); an XLSX inline string is never a formula.
    writer = spreadsheet.writer(buf)
    buf.write("\ufeff")  # Excel opens UTF-8 (Hindi names) correctly only with a BOM
    writer.writerow(header)
    for i, row in enumerate(rows, 1):
        writer.writerow([fn(v) for fn, v in zip(convert, row, strict=True)])
        if i % 500 == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


# --- XLSX, streamed ------------------------------------------------------------------------------------

_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_CONTENT_TYPES = (_XML + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                  '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                  '<Default Extension="xml" ContentType="application/xml"/>'
                  '<Override PartName="/xl/workbook.xml" ContentType="application/'
                  'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                  '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
                  'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                  '<Override PartName="/xl/styles.xml" ContentType="application/'
                  'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>')
_ROOT_RELS = (_XML + f'<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1" Type="{_REL}/officeDocument" '
              'Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK_RELS = (_XML + f'<Relationships xmlns="{_PKG_REL}">'
                  f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
                  f'<Relationship Id="rId2" Type="{_REL}/styles" Target="styles.xml"/></Relationships>')
_STYLES = (_XML + f'<styleSheet xmlns="{_NS}"><fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
           '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
           '<fills count="2"><fill><patternFill patternType="none"/></fill>'
           '<fill><patternFill patternType="gray125"/></fill></fills>'
           '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
           '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
           '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
           '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
           '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>')
_SHEET_START = (_XML + f'<worksheet xmlns="{_NS}"><sheetViews><sheetView workbookViewId="0">'
                '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>'
                '<sheetData>')
_SHEET_END = "</sheetData></worksheet>"
# Characters XML 1.0 cannot carry (a stray control character in a name must not break the file).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def column_letter(i):
    """0 -> A, 25 -> Z, 26 -> AA."""
    name, i = "", i + 1
    while i:
        i, r = divmod(i - 1, 26)
        name = chr(65 + r) + name
    return name


def _xlsx_row(n, letters, values, style=""):
    cells = []
    last = len(letters) - 1
    for i, (letter, v) in enumerate(zip(letters, values, strict=True)):
        if v is None or v == "":
            if i == last:  # an empty last cell keeps every row as wide as the heading for readers
                cells.append(f'<c r="{letter}{n}"{style}/>')
            continue
        if isinstance(v, bool):
            cells.append(f'<c r="{letter}{n}" t="b"{style}><v>{int(v)}</v></c>')
        elif isinstance(v, (int, float)):
            cells.append(f'<c r="{letter}{n}"{style}><v>{v!r}</v></c>')
        else:
            v = escape(_NOT_XML.sub("", str(v)))
            cells.append(f'<c r="{letter}{n}" t="inlineStr"{style}><is><t xml:space="preserve">{v}</t></is></c>')
    return f'<row r="{n}">{"".join(cells)}</row>'


class _Sink:
    """A write-only file for zipfile: keeps what is written until the response takes it."""

    def __init__(self):
        self._parts = []

    def write(self, data):
        self._parts.append(bytes(data))
        return len(data)

    def flush(self):
        pass

    def take(self):
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def xlsx_chunks(kind, user, f, **kw):
    """The list as an .xlsx, as byte chunks (a zip written as it streams; headings in bold, frozen)."""
    columns, stmt = list_query(kind, user, f, **kw)
    return xlsx_stream(kind[:31], headings(columns), converters(kind, columns, local_tz()),
                       _recorded(_stream(db.engine, stmt), patient_column(columns), user, kind, "xlsx"))


def xlsx_stream(sheet, header, convert, rows):
    """Byte chunks of a one-sheet workbook: `header`, then each row of `rows` through `convert`."""
    sink = _Sink()
    letters = [column_letter(i) for i in range(len(header))]
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("[Content_Types].xml", _CONTENT_TYPES)
        zf.writestr("_rels/.rels", _ROOT_RELS)
        zf.writestr("xl/workbook.xml", _XML + f'<workbook xmlns="{_NS}" xmlns:r="{_REL}"><sheets>'
                    f'<sheet name="{escape(sheet, {chr(34): "&quot;"})}" sheetId="1" r:id="rId1"/></sheets></workbook>')
        zf.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        zf.writestr("xl/styles.xml", _STYLES)
        with zf.open("xl/worksheets/sheet1.xml", "w") as out:
            out.write((_SHEET_START + _xlsx_row(1, letters, header, ' s="1"')).encode())
            batch = []
            for n, row in enumerate(rows, 2):
                batch.append(_xlsx_row(n, letters, [fn(v) for fn, v in zip(convert, row, strict=True)]))
                if len(batch) == 500:
                    out.write("".join(batch).encode())
                    batch.clear()
                    yield sink.take()
            out.write(("".join(batch) + _SHEET_END).encode())
    yield sink.take()


def html_to_pdf(html):
    """Print a self-contained HTML page to PDF bytes with headless Chromium."""
    chromium = current_app.config["CHROMIUM_PATH"]
    if not Path(chromium).exists():
        raise PdfUnavailable("Chromium is not installed; print the report page instead.")
    with tempfile.TemporaryDirectory() as tmp:
        page, out = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
        page.write_text(html, encoding="utf-8")
        cmd = [chromium, *CHROMIUM_ARGS, f"--user-data-dir={tmp}/profile", f"--print-to-pdf={out}",
               page.as_uri()]
        try:
            subprocess.run(cmd, check=True, capture_output=True, timeout=PDF_TIMEOUT_SECONDS)
        except (subprocess.SubprocessError, OSError) as exc:
            raise PdfUnavailable("The PDF could not be made; print the report page instead.") from exc
        if not out.exists():
            raise PdfUnavailable("The PDF could not be made; print the report page instead.")
        return out.read_bytes()
