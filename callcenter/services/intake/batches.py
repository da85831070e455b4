"""Imports looked at afterwards: the batches a user may see, one batch's rows, its summary and progress
(for the page's polling), and its error report (the rejected and held rows as CSV, to correct and import
again)."""
import io
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ... import scope
from ...clock import utcnow
from ...extensions import db
from ...models import ImportBatch, ImportRow, ImportStatus, Patient
from ...models.intake import UNWRITTEN_ROW_ACTIONS, WAITING_IMPORT_STATUSES
from ...rules import spreadsheet
from ...rules.linelist.headers import ERRORS_COLUMN
from ..core import audit
from ..core.errors import NotFound
from ..core.tx import transaction
from . import heartbeat
from .messages import message, reason_text
from .reading import CHUNK_ROWS
from .refusing import check_role
from .storage import stored_upload

STALLED_MINUTES = 3           # a queued import not started after this long: is the scheduler running?


def batches(user, offset=0, limit=50):
    """The imports this user may see, newest first: (batches, total)."""
    check_role(user)
    stmt = scope.scoped(select(ImportBatch), ImportBatch, user)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    found = db.session.scalars(stmt.order_by(ImportBatch.started_at.desc(), ImportBatch.id.desc())
                               .offset(offset).limit(limit)).all()
    return found, total


@transaction
def open_batch(user, batch_id):
    """One import, for its page; logged, as the page shows patients' rows (DPDP)."""
    check_role(user)
    batch = scope.get_scoped(ImportBatch, batch_id, user)
    if batch.status not in WAITING_IMPORT_STATUSES:  # (a waiting import's page, refreshed, shows no patient)
        audit.record(user, "import.view", "import_batch", batch.id, batch.district_id)
    return batch


def batch_rows(batch, action=None, offset=0, limit=100):
    """(rows, total): an import's rows with their patient's name and phone, rejected and held ones first."""
    stmt = select(ImportRow, Patient.name, Patient.phone).outerjoin(Patient, Patient.id == ImportRow.patient_id) \
        .where(ImportRow.batch_id == batch.id)
    if action:
        stmt = stmt.where(ImportRow.action == action)
    total = db.session.scalar(select(func.count()).select_from(
        select(ImportRow.id).where(ImportRow.batch_id == batch.id,
                                   *([ImportRow.action == action] if action else [])).subquery()))
    rejected_first = ImportRow.action.not_in(UNWRITTEN_ROW_ACTIONS)
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
                 rows=batch.rows_rejected + batch.rows_held)


def error_report(batch):
    """The rejected and held rows as CSV text, chunk by chunk: the file's own columns, then an 'errors' column
    saying what to correct. Corrected and imported again, it finishes the job (the extra column is ignored)."""
    headers = list(batch.mapping or {})
    columns = headers + [ERRORS_COLUMN]
    buffer = io.StringIO()
    writer = spreadsheet.writer(buffer)  # no cell a spreadsheet would run as a formula
    writer.writerow(columns)
    yield "\ufeff" + buffer.getvalue()  # a BOM, so Excel opens the Hindi letters as UTF-8
    last = 0
    while True:
        rows = db.session.execute(select(ImportRow.id, ImportRow.raw, ImportRow.errors).where(
            ImportRow.batch_id == batch.id, ImportRow.action.in_(UNWRITTEN_ROW_ACTIONS), ImportRow.id > last)
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


def summary(batch, now=None):
    """One sentence on what an import did (or, for a dry run, would do)."""
    params = {"total": batch.rows_total, "added": batch.rows_added, "updated": batch.rows_updated,
              "unchanged": batch.rows_unchanged, "rejected": batch.rows_rejected, "held": batch.rows_held}
    if batch.status in (ImportStatus.REFUSED, ImportStatus.FAILED):
        return batch.message
    if batch.status == ImportStatus.QUEUED:
        return message(_l("Waiting to be imported: it starts within a minute."))
    if batch.status == ImportStatus.RUNNING:
        if heartbeat.stopped(batch, now):
            return stopped_text(batch, now)
        if batch.rows_expected:
            return message(_l("Importing: %(done)s of about %(expected)s rows read."),
                           {"done": batch.rows_done, "expected": batch.rows_expected})
        return message(_l("Importing: %(done)s rows read."), {"done": batch.rows_done})
    if batch.status == ImportStatus.DRY_RUN and batch.rows_held:
        return message(_l("Checked %(total)s rows: %(added)s would be added, %(updated)s updated, %(unchanged)s "
                          "unchanged, %(held)s held for review, %(rejected)s rejected. Nothing was saved."), params)
    if batch.status == ImportStatus.DRY_RUN:
        return message(_l("Checked %(total)s rows: %(added)s would be added, %(updated)s updated, %(unchanged)s "
                          "unchanged, %(rejected)s rejected. Nothing was saved."), params)
    if batch.rows_held:
        return message(_l("Imported %(total)s rows: %(added)s added, %(updated)s updated, %(unchanged)s "
                          "unchanged, %(held)s held for review, %(rejected)s rejected."), params)
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
    stopped = heartbeat.stopped(batch, now)
    return {"id": batch.id, "status": str(batch.status), "waiting": waiting, "rows_done": batch.rows_done,
            "rows_expected": batch.rows_expected, "percent": percent, "stalled": stalled, "stopped": stopped,
            "can_restart": stopped and batch.attempts < current_app.config["IMPORT_MAX_ATTEMPTS"],
            "summary": summary(batch, now)}


def stopped_text(batch, now=None):
    """What a run whose worker is gone says (heartbeat.stopped): a real import is one transaction."""
    seen = heartbeat.last_seen(batch)
    minutes = max(1, int(((now or utcnow()) - seen).total_seconds() // 60)) if seen else 1
    return message(_l("The import stopped: the worker importing it is no longer running (no sign of it for "
                      "%(minutes)s min). Nothing from this file was saved: an import saves its rows all at once, "
                      "when it ends."), {"minutes": minutes})


def stopped_ids(found, now=None):
    """Of a page of imports, the running ones whose worker is gone."""
    return {b.id for b in found if heartbeat.stopped(b, now)}


def waiting_since(batch, now=None):
    """Minutes a queued import has waited for a worker (the page warns when no scheduler seems to run)."""
    return ((now or utcnow()) - batch.started_at).total_seconds() / 60
