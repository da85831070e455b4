"""Importing a daily line list: the file, its columns, every row checked, the valid rows written in one
transaction with today's calls, the rest in a downloadable error report; every import recorded. A row
that might be someone else on record (a shared phone) is never written over them: it is another patient or
held for review (checking.py says who is who).

Rows go through in chunks of reading.CHUNK_ROWS: one query finds each chunk's people already on record and
the chunk is written at once, so memory follows the chunk, not the file. The same person further down the
file is found in the database, where the earlier chunks already are (same transaction). A dry run
does exactly the same work, rolls it back, and then records what it found.

This module runs an import; the steps are beside it: storage.py (the file), reading.py (its rows and
columns), checking.py (each row, and whom it is about), writing.py (a checked chunk written), refusing.py
(a file refused, recorded), queue.py (large uploads imported in the background), batches.py (imports
looked at afterwards). The parsing rules are in rules/linelist/; the registration rules (phone, ABHA,
age, dates …) are services.records.patients.check_fields, applied to every row as to every form.
"""
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from ... import scope
from ...clock import local_date, utcnow
from ...extensions import db
from ...models import District, ImportBatch, ImportRow, ImportStatus, RowAction
from ...models.intake import UNWRITTEN_ROW_ACTIONS, WAITING_IMPORT_STATUSES
from ..calls import call_lists
from ..core import audit
from ..core.errors import Conflict
from ..core.tx import is_postgres
from .checking import Places, RowChecker
from .messages import NeedsMapping, Unreadable
from .reading import blank_row, chunks, read_header, required, rows
from .refusing import check_role, district_for, refuse
from .sample_dates import SampleDates
from .storage import EXTENSIONS, discard, megabytes
from .writing import ChunkWriter


def import_line_list(stored, user, dry_run=False, district_id=None, mapping=None, source="web", now=None,
                     queued=None, progress=None):
    """Import a line list (see the module's docstring). `mapping` is header → field as a person chose it.

    Returns the ImportBatch. Raises Refused (recorded) for a file that is not a readable line list,
    NeedsMapping when columns must be matched first, Conflict when another import or registration
    wrote the same people at the same moment (nothing is written then: run it again).

    `queued` is the (batch id, attempt) of a background import (see queue.run_queued): its batch gets the
    result instead of a new one. `progress(rows)` is called after each chunk with the rows read so far."""
    check_role(user)
    clock_given = now is not None
    now = now or utcnow()
    district_id = district_for(user, district_id)
    batch_id = queued[0] if queued else None
    if stored.extension not in EXTENSIONS:
        refuse("xls" if stored.extension == ".xls" else "type", stored.filename, stored.sha256, user, source,
               district_id, now, batch_id)
    if stored.size == 0:
        refuse("empty", stored.filename, stored.sha256, user, source, district_id, now, batch_id)
    limit = current_app.config["IMPORT_MAX_BYTES"]
    if stored.size > limit:
        refuse("too_big", stored.filename, stored.sha256, user, source, district_id, now, batch_id,
               mb=megabytes(limit))
    file_rows = rows(stored)
    try:
        inspection = read_header(file_rows, required(district_id), mapping)
        if inspection.needs_mapping:
            raise NeedsMapping(inspection)
        run = Run(user, district_id, inspection, stored, dry_run, source, now, queued)
        for chunk in chunks(inspection.data_rows):
            run.chunk(chunk)
            if progress is not None:
                progress(run.total)
        batch = run.finish(None if clock_given else utcnow)
    except Unreadable as exc:
        file_rows.close()
        refuse(exc.code, stored.filename, stored.sha256, user, source, district_id, now, batch_id, **exc.params)
    except IntegrityError:
        db.session.rollback()
        raise Conflict(_l("Another import or a registration wrote some of these patients at the same moment. "
                          "Nothing was saved: run the import again.")) from None
    except BaseException:
        db.session.rollback()
        raise
    finally:
        file_rows.close()
    if not dry_run and batch is not None and not _still_wanted(stored, batch.id):
        discard(stored)
    return batch


def _still_wanted(stored, batch_id):
    """Whether another import waiting in the queue needs this upload (a check of the same file, say)."""
    return db.session.scalar(select(func.count()).select_from(ImportBatch).where(
        ImportBatch.file_hash == stored.sha256, ImportBatch.status.in_(WAITING_IMPORT_STATUSES),
        ImportBatch.id != batch_id)) > 0


class Run:
    """One import under way: its batch, its row checker and chunk writer, and how many rows it has read."""

    def __init__(self, user, district_id, inspection, stored, dry_run, source, now, queued=None):
        self.user, self.district_id, self.inspection = user, district_id, inspection
        self.stored, self.dry_run, self.source, self.now = stored, dry_run, source, now
        self.today = local_date(now)
        self.max_rows = current_app.config["IMPORT_MAX_ROWS"]
        district_ids = [district_id] if district_id else [d.id for d in scope.districts(user)]
        self.checker = RowChecker(inspection, district_id, Places(district_ids), self.today)
        self.dates = SampleDates(self.checker.column_of["positive_date"], self.today)
        self.total = 0
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
        self.writer = ChunkWriter(self.batch_id, user, now, self.checker.column_of["name"], dry_run)

    def chunk(self, rows):
        """Check a chunk of (row number, cells), find whom each row is about, write it."""
        checked = []
        for row_number, cells in rows:
            if blank_row(cells):
                continue
            self.total += 1
            if self.total > self.max_rows:
                raise Unreadable("too_many_rows", rows=f"{self.max_rows:,}")
            entry = self.checker.row(row_number, cells)
            self.dates.check(entry)
            checked.append(entry)
        self.checker.resolve(checked, self.batch_id)
        self.dates.note(checked)
        self.writer.write(checked)

    def _queue_today(self):
        """Today's calls for the imported patients still followed up: the daily list's policy (slots,
        priority), narrowed to this batch's patients, the slots still ahead today (one call due at once).
        Patients who already have today's tasks get nothing twice."""
        imported = select(ImportRow.patient_id).where(ImportRow.batch_id == self.batch_id,
                                                      ImportRow.action.not_in(UNWRITTEN_ROW_ACTIONS))
        if is_postgres():
            # Statistics as of now (our own rows included): soon after the morning's list or another import,
            # stale ones say today has no tasks and the "not made yet" check is planned as a nested loop
            # over all of them for every patient: minutes instead of a second.
            db.session.execute(text("ANALYZE call_task, import_row"))
        return call_lists.add_tasks_for_patients(imported, self.today, self.now, reason="line_list")

    def finish(self, clock):
        """Record the result (a dry run: roll its writes back first) and commit; None if the claim was lost."""
        if self.total == 0:
            raise Unreadable("no_rows")
        done = self.writer.counts
        counts = {"rows_total": self.total, "rows_added": done[RowAction.ADDED],
                  "rows_updated": done[RowAction.UPDATED], "rows_unchanged": done[RowAction.UNCHANGED],
                  "rows_rejected": done[RowAction.REJECTED], "rows_held": done[RowAction.HELD]}
        if not self.dry_run:
            if not self._still_ours():
                return None
            # (Read once the batch row is locked: no heartbeat can write a later claimed_at after this.)
            finished = clock() if clock else self.now
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
            finished = clock() if clock else self.now
            batch = db.session.get(ImportBatch, self.batch_id)
            for name, value in counts.items():
                setattr(batch, name, value)
            batch.status, batch.finished_at, batch.rows_done, batch.message = (
                ImportStatus.DRY_RUN, finished, self.total, "")
        else:
            finished = clock() if clock else self.now
            batch = ImportBatch(district_id=self.district_id, user_id=self.user.id, filename=self.stored.filename,
                                file_hash=self.stored.sha256, source=self.source, status=ImportStatus.DRY_RUN,
                                started_at=self.now, finished_at=finished, mapping=self.inspection.map.as_dict(),
                                **counts)
            db.session.add(batch)
        db.session.flush()
        self.writer.write_spilled(batch.id)
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
