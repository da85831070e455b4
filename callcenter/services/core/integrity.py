"""Is this database whole? The checks `flask check-integrity` and the restore drill run (docs/DEPLOY.md).

- migrations: alembic_version is this code's head;
- foreign keys: every reference of every model's table finds its row (a restore that skipped a table, or a
  copy made with constraints off, shows here even though PostgreSQL would have refused it live);
- the audit trail: not empty while the database holds people (every write that matters leaves an audit row),
  and, against a manifest, the same rows as when the backup was taken (count, newest id, a digest of their
  content). The audit log's own hash chain, when it has one, is checked by its own command as well;
- counts: against a manifest (written with the backup, from the very snapshot pg_dump saved), every table
  holds as many rows as it did.
Each problem is one line that says what is wrong and where; an empty list is a whole database.
"""
import hashlib

from sqlalchemy import and_, exists, func, inspect, select

from ...extensions import db
from . import schema_version

AUDIT_FIELDS = ("id", "at", "user_id", "action", "entity", "entity_id", "district_id")
PEOPLE = ("patient", "user")  # a database holding these has written audit rows


def tables(connection):
    """The models' tables, parents first, and which of them the database lacks."""
    present = set(inspect(connection).get_table_names())
    ordered = db.metadata.sorted_tables
    return [t for t in ordered if t.name in present], [t.name for t in ordered if t.name not in present]


def manifest(connection):
    """What a backup holds, to compare a restored copy with: revisions, rows per table, the audit trail."""
    present, _missing = tables(connection)
    return {"alembic": sorted(schema_version.database_revisions(connection) or ()),
            "counts": {t.name: connection.scalar(select(func.count()).select_from(t)) for t in present},
            "audit": audit_summary(connection)}


def audit_summary(connection):
    table = db.metadata.tables["audit_log"]
    digest, rows, last = hashlib.sha256(), 0, None
    result = connection.execution_options(stream_results=True, yield_per=10_000).execute(
        select(*(table.c[f] for f in AUDIT_FIELDS)).order_by(table.c.id))
    for row in result:
        digest.update(repr(tuple(row)).encode())
        rows, last = rows + 1, row.id
    return {"rows": rows, "last_id": last, "digest": digest.hexdigest()}


def problems(connection, expected=None):
    """Everything wrong with the database on `connection` (a list of lines; empty when whole)."""
    found = []
    present, missing = tables(connection)
    found += [f"table {name}: missing" for name in missing]
    found += migration_problems(connection)
    found += foreign_key_problems(connection, present)
    found += audit_problems(connection, expected)
    if expected is not None:
        found += count_problems(connection, present, expected)
    return found


def migration_problems(connection):
    revisions = schema_version.database_revisions(connection)
    state = schema_version.state(revisions)
    if state == schema_version.CURRENT:
        return []
    at = ", ".join(sorted(revisions)) if revisions else "no version"
    return [f"migrations: {state} (the database is at {at}; this code's head is "
            f"{', '.join(sorted(schema_version.heads()))})"]


def foreign_key_problems(connection, present):
    found = []
    names = {t.name for t in present}
    for table in present:
        for constraint in table.foreign_key_constraints:
            parent = constraint.referred_table
            if parent.name not in names:
                continue
            child_alias, parent_alias = table.alias("child"), parent.alias("parent")
            pairs = [(child_alias.c[fk.parent.name], parent_alias.c[fk.column.name]) for fk in constraint.elements]
            orphans = connection.scalar(select(func.count()).select_from(child_alias).where(
                *(child.is_not(None) for child, _ in pairs),
                ~exists().where(and_(*(child == par for child, par in pairs)))))
            if orphans:
                columns = ", ".join(fk.parent.name for fk in constraint.elements)
                found.append(f"foreign key {table.name}.{columns} → {parent.name}: {orphans} row(s) point at nothing")
    return found


def audit_problems(connection, expected=None):
    present = {t.name for t in tables(connection)[0]}
    if "audit_log" not in present:
        return []
    summary = audit_summary(connection)
    found = []
    people = sum(connection.scalar(select(func.count()).select_from(db.metadata.tables[name]))
                 for name in PEOPLE if name in present)
    if people and not summary["rows"]:
        found.append(f"audit log: empty, while {people} patients and users are on record")
    was = expected["audit"] if expected is not None else summary
    if (summary["rows"], summary["last_id"]) != (was["rows"], was["last_id"]):
        found.append(f"audit log: {summary['rows']} rows up to #{summary['last_id']}, the backup had {was['rows']} "
                     f"up to #{was['last_id']}")
    elif summary["digest"] != was["digest"]:
        found.append("audit log: the rows' content differs from the backup's (same count and ids)")
    return found


def count_problems(connection, present, expected):
    found = []
    for table in present:
        want = expected["counts"].get(table.name)
        have = connection.scalar(select(func.count()).select_from(table))
        if want is None:
            found.append(f"table {table.name}: {have} rows, not in the backup's manifest")
        elif have != want:
            found.append(f"table {table.name}: {have} rows, the backup had {want}")
    return found
