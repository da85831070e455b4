"""Whether a background import's worker is alive: a heartbeat its process writes while the import runs.

A background import (queue.py) is one transaction in a scheduler process. When that process dies (killed, out
of memory, the machine restarted) nothing of the import is saved, and its batch still says "running". While a
run lasts, a thread of its process beats every IMPORT_WORKER_DEAD_SECONDS / 12 seconds, whatever the import is
doing (reading, waiting for another import's lock, committing); a run not seen for IMPORT_WORKER_DEAD_SECONDS
(60) has lost its worker: its page says so, an officer may restart it, and the queue takes it over
(queue.claim_next).

Where the beat goes:
- PostgreSQL: the batch's claimed_at, written on the thread's own connection beside the import's transaction
  (which writes the batch row only at its very end). Every process, on any machine, reads it there.
- SQLite: one writer at a time, and the import's transaction holds the write lock from its first chunk to its
  commit, so no connection (and no thread) can write to the database while it runs. The beat is a file in
  IMPORT_UPLOAD_DIR instead, touched by the worker process: that directory is where the worker reads the
  upload, so every process that can queue an import sees it. SQLite can tell whether the worker process is
  still there and beating (alive, however slowly it goes); it cannot tell how far it got (the rows read are
  written only when the import ends).
"""
import logging
from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from ...clock import utcnow
from ...extensions import db
from ...models import ImportBatch, ImportStatus
from ..core import liveness
from ..core.tx import is_postgres
from .storage import upload_dir

BEATS_PER_DEADLINE = 12  # 60 s without a sign of life = 12 beats missed
log = logging.getLogger(__name__)


def dead_after():
    return timedelta(seconds=current_app.config["IMPORT_WORKER_DEAD_SECONDS"])


def _beat_file(batch_id, attempt):
    return upload_dir() / f"import-{batch_id}.{attempt}.beat"


def _file_seen(batch_id, attempt):
    try:
        mtime = _beat_file(batch_id, attempt).stat().st_mtime
    except FileNotFoundError:
        return None
    return datetime.fromtimestamp(mtime, timezone.utc).replace(tzinfo=None)


def last_seen(batch):
    """When a running import's worker last showed a sign of life: its claim or its last beat."""
    seen = batch.claimed_at
    if not is_postgres():
        beat = _file_seen(batch.id, batch.attempts)
        if beat is not None and (seen is None or beat > seen):
            seen = beat
    return seen


def stopped(batch, now=None):
    """Whether a running import's worker is gone (no sign of life for IMPORT_WORKER_DEAD_SECONDS)."""
    if batch.status != ImportStatus.RUNNING:
        return False
    seen = last_seen(batch)
    return seen is None or seen < (now or utcnow()) - dead_after()


def forget(batch_id):
    """The beat files a batch's earlier attempts left behind (their workers died)."""
    if not is_postgres():
        for path in upload_dir().glob(f"import-{batch_id}.*.beat"):
            path.unlink(missing_ok=True)


class Beating:
    """`with Beating(batch_id, attempt):` around a run: the beat, on a thread of this process, until it ends."""

    def __init__(self, batch_id, attempt):
        self.batch_id, self.attempt = batch_id, attempt
        # (The thread has no app context: it gets what it needs now.)
        self.engine = db.engine if is_postgres() else None
        self.path = None if self.engine is not None else _beat_file(batch_id, attempt)
        self.beating = liveness.Beating(current_app.config["IMPORT_WORKER_DEAD_SECONDS"] / BEATS_PER_DEADLINE,
                                        self.beat, f"import-{batch_id}-heartbeat")

    def __enter__(self):
        if self.path is not None:
            self.path.touch()
        self.beating.__enter__()
        return self

    def __exit__(self, *exc):
        self.beating.__exit__(*exc)
        if self.path is not None:
            self.path.unlink(missing_ok=True)

    def beat(self):
        if self.path is not None:
            self.path.touch()
            return
        table = ImportBatch.__table__
        try:
            # The import's last step locks the batch row until its commit: a beat then waits a little, and is
            # missed rather than holding anything up.
            liveness.write_beat(self.engine, update(table).where(
                table.c.id == self.batch_id, table.c.attempts == self.attempt,
                table.c.status == ImportStatus.RUNNING).values(claimed_at=utcnow()))
        except OperationalError as exc:  # a missed beat is not an error of the import
            log.info("import #%s: heartbeat not written (%s)", self.batch_id, type(exc.orig).__name__)
