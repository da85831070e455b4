"""One service call, one transaction."""
import contextvars
import functools

from flask_babel import lazy_gettext as _l
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm.exc import StaleDataError

from ...extensions import db
from .errors import Conflict

# True while a @transaction function runs: a service it calls (resolve inside a consultation, a transfer
# inside an ambulance's "admitted") joins that transaction instead of committing half of the work.
_inside = contextvars.ContextVar("inside_transaction", default=False)


def transaction(fn):
    """Commit when `fn` returns, roll back when it raises; called from another such function, take part in
    the caller's transaction (the outermost one commits or rolls back the whole)."""
    return _transaction(fn, lambda: db.session.commit())


def transaction_keeping_state(fn):
    """As @transaction, but the commit expires nothing (commit_keeping_state): the answer is made from what
    the transaction wrote and loaded, without reading it again."""
    return _transaction(fn, lambda: commit_keeping_state())


def _transaction(fn, commit):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if _inside.get():
            return fn(*args, **kwargs)
        token = _inside.set(True)
        try:
            result = fn(*args, **kwargs)
            commit()
            return result
        except StaleDataError:
            # Optimistic locking: another request changed the row between our read and our write.
            db.session.rollback()
            raise Conflict(_l("Someone else changed this a moment ago. Reload and try again.")) from None
        except BaseException:
            db.session.rollback()
            raise
        finally:
            _inside.reset(token)
    return wrapper


def commit_keeping_state():
    """Commit without expiring what the session holds, so the answer to a save is made from what was committed
    even when the database stops answering right after (load what the answer reads before calling this)."""
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


def is_postgres():
    return db.session.get_bind().dialect.name == "postgresql"


def dialect_insert(target):
    """An INSERT with this database's ON CONFLICT clauses (PostgreSQL's or SQLite's)."""
    return (pg_insert if is_postgres() else sqlite_insert)(target)


def insert_ignoring_conflicts(target, **conflict_target):
    """INSERT … ON CONFLICT DO NOTHING. On PostgreSQL only a conflict on `conflict_target` (constraint= or
    index_elements=, when given) is ignored and any other still fails; SQLite ignores any conflict."""
    if is_postgres():
        return pg_insert(target).on_conflict_do_nothing(**conflict_target)
    return sqlite_insert(target).on_conflict_do_nothing()


def try_pass_lock(key):
    """For a job's pass that must not overlap another one: on PostgreSQL a transaction-level advisory lock
    (False when a running pass holds it: this one stands down); SQLite serialises writers anyway (True)."""
    if not is_postgres():
        return True
    return db.session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": key})
