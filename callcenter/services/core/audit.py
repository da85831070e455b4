"""Writing the audit log. Called inside the caller's transaction, never committing on its own.

The chain (rules/audit_chain.py). A row is inserted without its place in the chain; when its transaction
commits, `_chain` (a before_commit hook on every session) numbers it (seq) and hashes it onto the newest
chained row. Doing it at commit, not at insert, chains every way a row gets in — audit.record, an INSERT of
many rows, the import's COPY — and holds the chain's lock only for the end of the commit, not while the rest
of the transaction works (the rows' content is even read and serialised before the lock is taken).

Concurrent writers must not both chain onto the same row. On PostgreSQL `_chain` first takes a
transaction-level advisory lock (AUDIT_CHAIN_LOCK), then reads the newest chained row: a READ COMMITTED
statement run after the lock is granted sees every chain append committed before (the lock is released only
by that commit), so the next writer starts from it. The lock is held for two statements (the ids with the
head, the UPDATE) and the COMMIT, whose WAL flush it serialises: docs/PERFORMANCE.md has the cost (about a WAL flush
per audited commit; an import's thousands of rows hold it for their one UPDATE). Transactions without audit
rows never take it. The unique index on seq turns any fork that slipped through (a REPEATABLE READ
transaction reading an old head) into an error instead of a silent branch. SQLite lets one writer at a time
hold the write lock, and a transaction that has inserted rows already holds it, so there the read under it
is enough.

Rows about many patients (details["patient_ids"] of a list, a search, an export) also get one
AuditSubject row per patient, so "who saw this patient" is an index look-up (services/core/audit_trail.py).
"""
from sqlalchemy import bindparam, event, select, text, update
from sqlalchemy.orm import Session

from ...clock import utcnow
from ...extensions import db
from ...models import AuditLog, AuditSubject
from ...rules.audit_chain import FIELDS, GENESIS, content, link

AUDIT_CHAIN_LOCK = 0x53414D41  # pg_advisory_xact_lock: one chain append at a time ("SAMA")
TABLE = AuditLog.__table__


def record(user, action, entity, entity_id=None, district_id=None, now=None, **details):
    row = AuditLog(at=now or utcnow(), user_id=getattr(user, "id", None), action=action, entity=entity,
                   entity_id=entity_id, district_id=district_id, details=details)
    db.session.add(row)
    for patient_id in subjects(details):
        db.session.add(AuditSubject(audit=row, patient_id=patient_id))


def subjects(details):
    """The patients a row names in its details (besides its entity)."""
    ids = set(details.get("patient_ids") or ())
    if details.get("patient_id") is not None:
        ids.add(details["patient_id"])
    return sorted(i for i in ids if isinstance(i, int))


def head(connection):
    """(seq, hash) of the newest chained row, (0, GENESIS) when there is none."""
    row = connection.execute(select(TABLE.c.seq, TABLE.c.hash).where(TABLE.c.seq.is_not(None))
                             .order_by(TABLE.c.seq.desc()).limit(1)).first()
    return (row.seq, row.hash) if row else (0, GENESIS)


def chain(connection):
    """Number and hash the rows not chained yet (this transaction's, in id order). Returns how many.

    Their content is read and serialised before the lock is taken (an import has thousands of rows); under
    the lock only the head, the ids (to see that nobody chained one of them meanwhile) and the UPDATE."""
    unchained = select(*(TABLE.c[f] for f in FIELDS)).where(TABLE.c.seq.is_(None)).order_by(TABLE.c.id)
    contents = {row["id"]: content(row) for row in connection.execute(unchained).mappings()}
    if not contents:
        return 0
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_CHAIN_LOCK})
        ids, (seq, previous) = _unchained_and_head(connection)  # one statement: one snapshot, after the lock
        if ids != list(contents):  # another transaction chained, or committed, rows of others meanwhile
            contents = {row["id"]: content(row) for row in connection.execute(unchained).mappings()}
    else:
        seq, previous = head(connection)
    ids, seqs, hashes = [], [], []
    for row_id, row_content in contents.items():
        seq += 1
        previous = link(previous, seq, row_content)
        ids.append(row_id), seqs.append(seq), hashes.append(previous)
    if connection.dialect.name == "postgresql":  # one statement, however many rows
        connection.execute(text(
            "UPDATE audit_log SET seq = v.seq, hash = v.hash FROM unnest(CAST(:ids AS integer[]), "
            "CAST(:seqs AS bigint[]), CAST(:hashes AS text[])) AS v(id, seq, hash) WHERE audit_log.id = v.id"),
            {"ids": ids, "seqs": seqs, "hashes": hashes})
    else:
        connection.execute(update(TABLE).where(TABLE.c.id == bindparam("row_id"))
                           .values(seq=bindparam("seq"), hash=bindparam("hash")),
                           [{"row_id": i, "seq": s, "hash": h} for i, s, h in zip(ids, seqs, hashes, strict=True)])
    return len(ids)


def _unchained_and_head(connection):
    """(ids of the rows not chained yet, in id order; (seq, hash) of the newest chained row), read by one
    statement: the head is a row whose id is NULL."""
    rows = connection.execute(text(
        "SELECT id, NULL AS seq, NULL AS hash FROM audit_log WHERE seq IS NULL "
        "UNION ALL (SELECT NULL, seq, hash FROM audit_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1)")).all()
    heads = [(row.seq, row.hash) for row in rows if row.id is None]
    return sorted(row.id for row in rows if row.id is not None), (heads[0] if heads else (0, GENESIS))


@event.listens_for(Session, "before_commit")
def _chain(session):
    transaction = session.get_transaction()
    if transaction is None or session.get_nested_transaction() is not None:
        return  # nothing begun; or a savepoint: the outer commit chains
    session.flush()  # the rows the ORM still holds, inserted before the lock is taken
    if not transaction._connections:
        return  # no statement ran: nothing to chain
    chain(session.connection())
