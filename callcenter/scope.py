"""The one place that limits what a user can see to their district.

A user with no district is a state-level officer and sees every district. Every query for
patients, tasks and escalations goes through `scoped()`; single records through `get_scoped()`.
"""
from flask_babel import lazy_gettext as _l

from .extensions import db
from .models import District
from .services.core.errors import NotFound


def scoped(stmt, model, user):
    """Add the user's district filter to a select() over `model` (which has a district_id)."""
    if user.district_id is None:
        return stmt
    return stmt.where(model.district_id == user.district_id)


def visible(user, obj):
    return obj is not None and (user.district_id is None or obj.district_id == user.district_id)


def get_scoped(model, ident, user, lock=False, options=()):
    """The record with this id if the user may see it; NotFound (never Forbidden: no hint it exists).
    `lock`: the row locked and read again (what another transaction committed before the lock, not what this
    session read earlier); `options`: loader options (what the caller will read, in the same query)."""
    stmt = db.select(model).where(model.id == ident).options(*options)
    if lock:
        stmt = stmt.with_for_update(of=model).execution_options(populate_existing=True)
    obj = db.session.scalar(stmt)
    if not visible(user, obj):
        raise NotFound(_l("Not found, or not in your district."))
    return obj



def district_named(name):
    """A district by its name, any case (the shell's --district), or None."""
    return db.session.scalar(db.select(District).where(db.func.lower(District.name) == (name or "").lower()))


def districts(user):
    """The districts this user works in: their own, or all for state-level officers."""
    if user.district_id is None:
        return db.session.scalars(db.select(District).order_by(District.name)).all()
    return [db.session.get(District, user.district_id)]
