"""Who was shown which patients (DPDP: access logs), one audit row per request.

A page or API answer that shows patients' names or phone numbers notes their ids here while it is made; when
the request ends (flush, an after-request hook) one `patient.list_view` row names them all, with why, in a
short transaction of its own. Outside a request (a job, the shell) a note is written at once.
"""
import logging
from types import SimpleNamespace

from flask import g, has_request_context
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


def flush(response):
    """(after every request) Write what the request showed: one row per request. If the database fails just
    then, the page still goes out (it is made, and may be a call in progress) and the miss is logged (ids and
    pages only), for the operators to see."""
    pending = g.pop("patients_shown", None)
    if pending:
        user = g.pop("patients_shown_by")
        # The request's reads end here: the audit row is a transaction of its own, in a session emptied of the
        # page's objects (committing beside hundreds of them tripled the write's time).
        db.session.rollback()
        db.session.expunge_all()
        try:
            write(user, pending)
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
