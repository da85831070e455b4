"""A form sent twice records once: each call screen and desk form carries a submission key (a random value made
when the form is shown), stored unique with what it recorded. A second arrival of the same key (a double
click, a browser or API retry, a twin request racing the first) answers with what was recorded the first time.
"""
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from .errors import Conflict, Invalid

MAX_KEY = 64  # (the message below says so)


class AlreadySubmitted(Exception):
    """Raised inside the transaction when the key was recorded before: the caller answers from `previous`."""

    def __init__(self, previous):
        super().__init__("already submitted")
        self.previous = previous


def previous(model, key):
    return db.session.scalar(db.select(model).where(model.submission_key == key))


def check_unused(model, key, same_work, missing_message):
    """Inside the transaction, before anything is written: a malformed key is refused; a key recorded for
    other work (another user, task or patient) is a conflict; one recorded for this work raises
    AlreadySubmitted."""
    if not key or len(key) > MAX_KEY:
        raise Invalid(missing_message, {"submission_key": _l("Between 1 and 64 characters.")})
    found = previous(model, key)
    if found is not None:
        if not same_work(found):
            raise Conflict(_l("This form was already used for another call."))
        raise AlreadySubmitted(found)


def once(model, key, record, answer_again, race_message=None):
    """Run `record()` (one transaction that calls check_unused first). A twin that committed the same key first
    (the unique key refuses our insert) or a key seen by check_unused gives `answer_again(previous)`. An
    integrity error with no such twin is another conflict: `race_message` as a Conflict, or re-raised."""
    try:
        return record()
    except IntegrityError:
        db.session.rollback()
        found = previous(model, key)
        if found is None:
            if race_message is None:
                raise
            raise Conflict(race_message) from None
        return answer_again(found)
    except AlreadySubmitted as done:
        return answer_again(done.previous)
