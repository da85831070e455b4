"""Exports of the dashboard's lists (CSV and XLSX, streamed) and the daily report as PDF.

CSV is a generator over a server-side cursor (yield_per): memory stays flat whatever the size.
XLSX is written by openpyxl's write-only workbook to a temporary file, then sent from disk.
PDF: the printable report page printed by headless Chromium (Debian's package, no network): it
shapes Hindi (Devanagari) correctly, which pure-Python PDF libraries do not without extra C libraries,
and the PDF is then exactly the page the officer sees and prints.
Every export is written to the audit log (DPDP: log every export) before the first byte goes out.
"""
import csv
import io
import subprocess
import tempfile
from datetime import date, datetime, timezone
from pathlib import Path

from flask import current_app
from openpyxl import Workbook

from ..clock import local_tz
from ..extensions import db
from . import audit
from .dashboard import list_query
from .errors import ServiceError
from .tx import transaction

YIELD_PER = 2000
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--no-pdf-header-footer"]
PDF_TIMEOUT_SECONDS = 60


class PdfUnavailable(ServiceError):
    status = 503


def _cell(value, tz):
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc).astimezone(tz).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in ("=", "@") or (
            isinstance(value, str) and value[:1] in ("+", "-") and not value[1:2].isdigit()):
        return "'" + value  # a spreadsheet must not read a name as a formula
    return value


@transaction
def record_export(user, kind, fmt, filters, **details):
    audit.record(user, "export", kind, None, filters.district_id or user.district_id, fmt=fmt,
                 filters=filters.args(), **details)


def _rows(stmt):
    tz = local_tz()
    for row in db.session.execute(stmt.execution_options(yield_per=YIELD_PER)):
        yield [_cell(v, tz) for v in row]


def csv_chunks(kind, user, f, **kw):
    """The list as CSV text chunks (header first), read from the database in batches.

    The query is built now (while the user is loaded); rows are read as the response is sent."""
    columns, stmt = list_query(kind, user, f, **kw)
    # Rows are read on a connection of our own: the response is sent after the request (and its
    # app context and session) has ended.
    return _csv(db.engine, local_tz(), columns, stmt)


def _csv(engine, tz, columns, stmt):
    buf = io.StringIO()
    writer = csv.writer(buf)
    buf.write("\ufeff")  # Excel opens UTF-8 (Hindi names) correctly only with a BOM
    writer.writerow(columns)
    with engine.connect() as conn:
        rows = conn.execution_options(stream_results=True, yield_per=YIELD_PER).execute(stmt)
        yield from _csv_body(buf, writer, rows, tz)


def _csv_body(buf, writer, rows, tz):
    for i, row in enumerate(rows, 1):
        writer.writerow([_cell(v, tz) for v in row])
        if i % 500 == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def xlsx_file(kind, user, f, **kw):
    """The list as an .xlsx in an open temporary file (positioned at 0); it is deleted when closed."""
    columns, stmt = list_query(kind, user, f, **kw)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(kind[:31])
    ws.append(columns)
    for row in _rows(stmt):
        ws.append(row)
    tmp = tempfile.TemporaryFile(suffix=".xlsx")
    wb.save(tmp)
    tmp.seek(0)
    return tmp


def html_to_pdf(html):
    """Print a self-contained HTML page to PDF bytes with headless Chromium."""
    chromium = current_app.config.get("CHROMIUM_PATH", CHROMIUM)
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
