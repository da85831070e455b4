"""One service call, one transaction."""
import functools

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.exc import StaleDataError

from ..extensions import db
from .errors import Conflict


def transaction(fn):
    """Commit when `fn` returns, roll back when it raises."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            result = fn(*args, **kwargs)
            db.session.commit()
            return result
        except StaleDataError:
            # Optimistic locking: another request changed the row between our read and our write.
            db.session.rollback()
            raise Conflict(_l("Someone else changed this a moment ago. Reload and try again.")) from None
        except BaseException:
            db.session.rollback()
            raise
    return wrapper
