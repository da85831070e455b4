"""Who was shown which patients (DPDP: access logs), one audit row per request.

A page or API answer that shows patients' names or phone numbers notes their ids here while it is made; when
the request ends (flush, an after-request hook) one `patient.list_view` row names them all, with why, in a
short transaction of its own. Outside a request (a job, the shell) a note is written at once.

A page's background poll (polled()) repeats the same answer every few seconds: its row is written when the
patients it shows change, and again every AUDIT_POLL_REPEAT_SECONDS while they stay the same, so the log says
who had which patients on screen, and since when, to within that time, without a row every 5 seconds. What
was last written is kept per process (several processes each write their own first row: more rows, never
fewer).
"""
import hashlib
import logging
import threading
import time
from types import SimpleNamespace

from flask import current_app, g, has_request_context
from sqlalchemy.exc import SQLAlchemyError

from ...extensions import db
from ..core import audit
from ..core.tx import transaction

ACTION = "patient.list_view"
log = logging.getLogger(__name__)


def note(user, patient_ids, purpose):
    """These patients are shown to `user` now, for `purpose` (a page's name: "dashboard:tasks", "desk" …)."""
    ids = {pid for pid in patient_ids if pid is not None}
    if not ids or user is None:
        return
    if not has_request_context():
        write(user, {purpose: ids})
        return
    pending = g.setdefault("patients_shown", {})
    pending.setdefault(purpose, set()).update(ids)
    # Plain values: the row is written after the request's session has let go of its objects.
    g.patients_shown_by = SimpleNamespace(id=getattr(user, "id", None), district_id=getattr(user, "district_id", None))


def polled():
    """This request is a page's background poll: an answer showing the same patients as the user's last poll
    of it (within AUDIT_POLL_REPEAT_SECONDS) writes no new row."""
    g.patients_shown_polled = True


def flush(response):
    """(after every request) Write what the request showed: one row per request. If the database fails just
    then, the page still goes out (it is made, and may be a call in progress) and the miss is logged (ids and
    pages only), for the operators to see."""
    pending = g.pop("patients_shown", None)
    if pending:
        user = g.pop("patients_shown_by")
        repeat = _Repeats.of(current_app) if g.pop("patients_shown_polled", False) else None
        if repeat and repeat.seen(user.id, pending):
            return response
        # The request's reads end here: the audit row is a transaction of its own, in a session emptied of the
        # page's objects (committing beside hundreds of them tripled the write's time).
        db.session.rollback()
        db.session.expunge_all()
        try:
            write(user, pending)
            if repeat:
                repeat.written(user.id, pending)
        except SQLAlchemyError:
            log.error("view record not written: user %s, %s patients, %s", user.id,
                      sum(len(ids) for ids in pending.values()), ",".join(sorted(pending)), exc_info=True)
    return response


@transaction
def write(user, by_purpose):
    """One audit row: every patient id shown, and the purposes (pages) they were shown for."""
    ids = sorted(set().union(*by_purpose.values()))
    audit.record(user, ACTION, "patient", None, getattr(user, "district_id", None),
                 purpose=",".join(sorted(by_purpose)), patient_ids=ids)


class _Repeats:
    """What each user's poll last wrote, and when (this process only)."""
    LIMIT = 10_000  # users; past it the memory starts again (a few extra rows)

    def __init__(self, every):
        self.every, self.last, self.lock = every, {}, threading.Lock()

    @classmethod
    def of(cls, app):
        return app.extensions.setdefault("sampark.poll_views", cls(app.config["AUDIT_POLL_REPEAT_SECONDS"]))

    @staticmethod
    def _key(user_id, pending):
        text = ";".join(f"{purpose}:{','.join(map(str, sorted(ids)))}" for purpose, ids in sorted(pending.items()))
        return user_id, hashlib.sha256(text.encode()).digest()

    def seen(self, user_id, pending):
        user, digest = self._key(user_id, pending)
        with self.lock:
            last = self.last.get(user)
        return last is not None and last[0] == digest and time.monotonic() - last[1] < self.every

    def written(self, user_id, pending):
        user, digest = self._key(user_id, pending)
        with self.lock:
            if len(self.last) >= self.LIMIT:
                self.last.clear()
            self.last[user] = (digest, time.monotonic())
