"""Which migration the database is at, against the newest one this code ships (migrations/versions).

The heads are read once per process from the migration scripts (Alembic's ScriptDirectory: no database, no
env.py), so /readyz and check-integrity only read the database's alembic_version row.
"""
import functools
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

MIGRATIONS = Path(__file__).resolve().parents[3] / "migrations"
CURRENT, BEHIND, UNKNOWN, MISSING = "current", "behind", "unknown", "missing"


@functools.cache
def _scripts():
    scripts = ScriptDirectory(str(MIGRATIONS))
    return frozenset(scripts.get_heads()), frozenset(s.revision for s in scripts.walk_revisions())


def heads():
    """The revision(s) the code expects the database to be at."""
    return _scripts()[0]


def database_revisions(connection):
    """The database's alembic_version rows, or None when it has no such table (never migrated)."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return frozenset(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


def state(revisions):
    """CURRENT (the code's heads), BEHIND (older known revisions: run `flask db upgrade`), UNKNOWN (revisions
    this code does not ship: a newer release migrated it) or MISSING (no version: never migrated)."""
    head, known = _scripts()
    if not revisions:
        return MISSING
    if revisions == head:
        return CURRENT
    return BEHIND if revisions <= known else UNKNOWN
