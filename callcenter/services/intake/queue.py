"""Large line lists, imported in the background by the import_queue job (jobs/import_queue.py).

A web request has IMPORT_INLINE_MAX_BYTES of file to import (a district's daily list: a few seconds);
anything larger is queued: its upload stays in IMPORT_UPLOAD_DIR, an ImportBatch "queued" records who
asked for what, and the import_queue job (jobs/import_queue.py, every IMPORT_QUEUE_INTERVAL_SECONDS in the
scheduler process) claims it ("running", committed), imports it (imports.import_line_list) and writes
the result on the same batch. The batch page shows the progress and refreshes itself until the result is there.

Idempotent: the same file (by SHA-256) asked again while it waits is the same batch; a real import is
one transaction, so a worker that dies mid-way leaves nothing but its claim. Its heartbeat (heartbeat.py)
stops with it: after IMPORT_WORKER_DEAD_SECONDS the page says the import stopped, an officer may restart it,
and the next pass takes it over (IMPORT_MAX_ATTEMPTS times at most); even a re-run of a finished file only
finds the people it already added (same file twice = nothing changes).
"""
import logging
import time
from collections import Counter

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select, text, update
from sqlalchemy.exc import OperationalError

from ... import scope
from ...clock import utcnow
from ...extensions import db
from ...models import ImportBatch, ImportStatus, User
from ...models.intake import WAITING_IMPORT_STATUSES
from ..core import audit
from ..core.errors import Conflict, Forbidden, NotFound
from ..core.tx import is_postgres
from . import heartbeat
from .imports import import_line_list
from .messages import NeedsMapping, Refused, message
from .reading import estimate_rows, inspect
from .refusing import check_role, district_for, shell_user
from .storage import stored_upload

PROGRESS_EVERY_SECONDS = 1.0  # a background import writes how far it got at most this often
log = logging.getLogger(__name__)

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
RESTART_MESSAGES = {
    "alive": _l("This import is still running: its worker is still at work, so there is nothing to restart. "
                "This page shows the result when it ends."),
    "finished": _l("This import is not running any more: it has a result."),
    "used_up": _l("This file stopped its worker %(max)s times; it is not tried again. Split it into smaller files "
                  "and upload them."),
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
    check_role(user)
    now = now or utcnow()
    district_id = district_for(user, district_id)
    inspection = inspect(stored, user, district_id, chosen=mapping, now=now)
    if inspection.needs_mapping:
        raise NeedsMapping(inspection)
    waiting = db.session.scalar(select(ImportBatch).where(
        ImportBatch.file_hash == stored.sha256, ImportBatch.status.in_(WAITING_IMPORT_STATUSES),
        ImportBatch.dry_run == bool(dry_run),
        ImportBatch.district_id.is_(None) if district_id is None else ImportBatch.district_id == district_id)
        .order_by(ImportBatch.id).limit(1))
    if waiting is not None:
        # A run whose worker died is not "waiting": the officer is sent to it, to restart it.
        waiting.stopped = heartbeat.stopped(waiting, now)
        waiting.already_waiting = not waiting.stopped
        return waiting
    batch = ImportBatch(district_id=district_id, user_id=user.id, filename=stored.filename, file_hash=stored.sha256,
                        source="web", status=ImportStatus.QUEUED, dry_run=bool(dry_run), started_at=now,
                        mapping=inspection.map.as_dict(), rows_expected=estimate_rows(stored, inspection))
    db.session.add(batch)
    db.session.flush()
    audit.record(user, "import.queued", "import_batch", batch.id, district_id, now=now, file_hash=stored.sha256,
                 dry_run=bool(dry_run), size=stored.size)
    db.session.commit()
    batch.already_waiting = batch.stopped = False
    return batch



def claim_next(now=None):
    """Claim the oldest queued import, or a running one whose worker stopped (no heartbeat for
    IMPORT_WORKER_DEAD_SECONDS): 'running', committed, attempts + 1. Returns (batch id, attempt) or None."""
    now = now or utcnow()
    quiet = now - heartbeat.dead_after()
    claimable = or_(ImportBatch.status == ImportStatus.QUEUED,
                    and_(ImportBatch.status == ImportStatus.RUNNING, ImportBatch.claimed_at < quiet))
    try:
        for batch in db.session.scalars(select(ImportBatch).where(claimable).order_by(ImportBatch.id).limit(5)).all():
            batch_id, attempts, status = batch.id, batch.attempts, batch.status
            if status == ImportStatus.RUNNING and not heartbeat.stopped(batch, now):
                continue  # (SQLite: its worker beats in a file, not in claimed_at)
            taken = db.session.execute(
                update(ImportBatch).where(ImportBatch.id == batch_id, ImportBatch.attempts == attempts, claimable)
                .values(status=ImportStatus.RUNNING, claimed_at=now, attempts=attempts + 1, rows_done=0)
                .execution_options(synchronize_session=False)).rowcount
            db.session.commit()
            if taken:
                if status == ImportStatus.RUNNING:
                    log.warning("import #%s: its worker stopped during attempt %s; taken over", batch_id, attempts)
                heartbeat.forget(batch_id)
                return batch_id, attempts + 1
        db.session.commit()
        return None
    except BaseException:
        db.session.rollback()
        raise


def progress_writer(batch_id):
    """progress(rows) for one background import: written beside the import's own transaction (PostgreSQL), at
    most once a second, refreshing the claim. SQLite allows one writer at a time: there the page shows
    "running" until the end. run_queued looks it up here at each run (tests watch the progress through it)."""
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
        # The import reads the clock itself (now=None): a pass's `now` is when it began, and the batch's
        # finished_at must come after every progress note the run wrote (claimed_at, the real time).
        with heartbeat.Beating(batch_id, attempt):
            done = import_line_list(stored, user, now=None, queued=claim, progress=progress_writer(batch_id),
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


def restart(user, batch_id, now=None):
    """An officer restarts a background import whose worker stopped (heartbeat.stopped): it waits in the queue
    again, for the next pass of the import_queue job. Returns (batch, restarted): restarted is False when it was
    already waiting again (the form sent twice, or the queue took it back first). Refused (Conflict) while its
    worker is alive, once it has a result, and when its attempts are used up (the next pass marks it failed)."""
    check_role(user)
    now = now or utcnow()
    batch = scope.get_scoped(ImportBatch, batch_id, user)
    if batch.status == ImportStatus.QUEUED:
        return batch, False
    if batch.status != ImportStatus.RUNNING:
        raise Conflict(RESTART_MESSAGES["finished"])
    if not heartbeat.stopped(batch, now):
        raise Conflict(RESTART_MESSAGES["alive"])
    max_attempts = current_app.config["IMPORT_MAX_ATTEMPTS"]
    if batch.attempts >= max_attempts:
        raise Conflict(message(RESTART_MESSAGES["used_up"], {"max": max_attempts}))
    attempts, seen = batch.attempts, heartbeat.last_seen(batch)
    taken = db.session.execute(update(ImportBatch).where(
        ImportBatch.id == batch.id, ImportBatch.attempts == attempts, ImportBatch.status == ImportStatus.RUNNING)
        .values(status=ImportStatus.QUEUED, claimed_at=None, rows_done=0)
        .execution_options(synchronize_session=False)).rowcount
    if not taken:  # the queue took it over a moment ago
        db.session.rollback()
        return db.session.get(ImportBatch, batch.id, populate_existing=True), False
    audit.record(user, "import.restarted", "import_batch", batch.id, batch.district_id, now=now, attempts=attempts,
                 last_seen=seen.isoformat() if seen else None)
    db.session.commit()
    heartbeat.forget(batch.id)
    return db.session.get(ImportBatch, batch.id, populate_existing=True), True


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
