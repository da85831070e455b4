"""Who may import into which district, and a file refused: the refusal recorded as a batch, then raised."""
import logging
from types import SimpleNamespace

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import SQLAlchemyError

from ...clock import utcnow
from ...extensions import db
from ...models import District, ImportBatch, ImportStatus, Role
from ..core import audit
from ..core.errors import Forbidden, NotFound
from .messages import REFUSALS, Refused, message

IMPORTER_ROLES = {Role.NODAL_OFFICER, Role.ADMIN}


def shell_user(district_id=None):
    """Who imports from the shell: state level (or one district), with an administrator's rights, no account."""
    return SimpleNamespace(id=None, role=Role.ADMIN, district_id=district_id, username="shell")


def check_role(user):
    if user.role not in IMPORTER_ROLES:
        raise Forbidden(_l("Only a nodal officer or an administrator can import line lists."))


def district_for(user, district_id):
    """The district an import is for: a district officer's own; a state officer's choice, or None (the
    file then names each row's district)."""
    if user.district_id is not None:
        if district_id not in (None, user.district_id):
            raise Forbidden(_l("You can import only into your own district."))
        return user.district_id
    if district_id is not None and db.session.get(District, district_id) is None:
        raise NotFound(_l("Not found, or not in your district."))
    return district_id


def refuse(code, filename, sha256, user, source, district_id, now, batch_id=None, **params):
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


def record_unread(user, sent_bytes, now=None):
    """An upload larger than MAX_CONTENT_LENGTH, refused before its body was read (so no file name, hash or chosen
    district): listed under All imports as refused, naming the limit, and audited. Never raises: the officer
    gets the 413 page whatever happens here."""
    check_role(user)
    now = now or utcnow()
    limit = current_app.config["IMPORT_MAX_BYTES"]
    try:
        batch = ImportBatch(district_id=user.district_id, user_id=user.id, filename="", file_hash="", source="web",
                            status=ImportStatus.REFUSED, started_at=now, finished_at=now, mapping={},
                            message=message(REFUSALS["too_big_unread"], {"mb": f"{limit / (1024 * 1024):.1f}"
                                                                          .removesuffix(".0")}))
        db.session.add(batch)
        db.session.flush()
        audit.record(user, "import.refused", "import_batch", batch.id, user.district_id, now=now, reason="too_big",
                     sent_bytes=sent_bytes)
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        logging.getLogger(__name__).exception("an upload over the size limit was not recorded")
