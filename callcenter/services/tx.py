"""One service call, one transaction."""
import functools

from ..extensions import db


def transaction(fn):
    """Commit when `fn` returns, roll back when it raises."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            result = fn(*args, **kwargs)
            db.session.commit()
            return result
        except BaseException:
            db.session.rollback()
            raise
    return wrapper
