"""Writing the audit log. Called inside the caller's transaction, never committing on its own.

The chain (rules/audit_chain.py). A row is inserted without its place in the chain; when its transaction
commits, `_chain` (a before_commit hook on every session) numbers it (seq) and hashes it onto the newest
chained row. Doing it at commit, not at insert, chains every way a row gets in — audit.record, an INSERT of
many rows, the import's COPY — and holds the chain's lock only for the end of the commit, not while the rest
of the transaction works (the rows' content is even read and serialised before the lock is taken).

Concurrent writers must not both chain onto the same row. On PostgreSQL `_chain` first takes a
transaction-level advisory lock (AUDIT_CHAIN_LOCK), then reads the newest chained row: a READ COMMITTED
statement run after the lock is granted sees every chain append committed before (the lock is released only
by that commit), so the next writer starts from it. Usually all of that is one call of audit_chain_append
(models/audit.py), given the contents serialised when the rows were flushed (`_remember`); otherwise the lock,
the ids with the head, and the UPDATE. The lock is held until the COMMIT, whose WAL flush it serialises:
docs/PERFORMANCE.md has the cost (about a WAL flush per audited commit). Transactions without audit rows never
take it. The unique index on seq turns any fork that slipped through (a REPEATABLE READ
transaction reading an old head) into an error instead of a silent branch. SQLite lets one writer at a time
hold the write lock, and a transaction that has inserted rows already holds it, so there the read under it
is enough.

Rows about many patients (details["patient_ids"] of a list, a search, an export) also get one
AuditSubject row per patient, so "who saw this patient" is an index look-up (services/core/audit_trail.py).
"""
import json

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


def chain(connection, known=None):
    """Number and hash the rows not chained yet (this transaction's, in id order). Returns how many.

    `known`: {id: content} of the rows this session inserted, serialised when they were flushed. When they are
    exactly the unchained rows (the usual case), nothing is read back: on PostgreSQL one call of
    audit_chain_append (models/audit.py) takes the lock, checks that, reads the head and writes the chain; on
    SQLite one statement reads the unchained ids with the head. Otherwise (rows inserted by an INSERT of many,
    the import's COPY, a savepoint rolled back) their content is read first, then chained under the lock."""
    if known and connection.dialect.name == "postgresql":
        ids = sorted(known)
        chained = connection.execute(text("SELECT audit_chain_append(:key, CAST(:ids AS integer[]), "
                                          "CAST(:contents AS text[]))"),
                                     {"key": AUDIT_CHAIN_LOCK, "ids": ids,
                                      "contents": [known[i].decode("ascii") for i in ids]}).scalar()
        if chained >= 0:
            return chained
        known = None  # (the lock is held now; taking it again below is a no-op)
    if known:
        ids, (seq, previous) = _unchained_and_head(connection)
        if ids == sorted(known):
            return _write(connection, [(i, known[i]) for i in ids], seq, previous)
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
    return _write(connection, list(contents.items()), seq, previous)


def _write(connection, contents, seq, previous):
    """Chain [(id, content)] onto the row (seq, previous)."""
    ids, seqs, hashes = [], [], []
    for row_id, row_content in contents:
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
        "UNION ALL SELECT NULL, seq, hash FROM (SELECT seq, hash FROM audit_log WHERE seq IS NOT NULL "
        "ORDER BY seq DESC LIMIT 1) AS newest")).all()
    heads = [(row.seq, row.hash) for row in rows if row.id is None]
    return sorted(row.id for row in rows if row.id is not None), (heads[0] if heads else (0, GENESIS))


KNOWN = "sampark.audit_contents"  # session.info: {id: content} of the audit rows this transaction flushed
# session.info: audit rows went in some other way (an INSERT of many, a COPY): the commit reads what to chain.
UNKNOWN = "sampark.audit_unknown_rows"


def inserted_in_bulk(session=None):
    """Tell the commit that audit rows went in without the ORM (bulk_insert's COPY calls this). An INSERT through
    the session is seen by itself (`_seen_insert`). A path that forgets is caught by the next audited commit,
    which chains every row it did not write itself (audit_chain_append answers -1)."""
    (session or db.session()).info[UNKNOWN] = True


@event.listens_for(Session, "do_orm_execute")
def _seen_insert(state):
    if state.is_insert and getattr(getattr(state.statement, "table", None), "name", None) == TABLE.name:
        state.session.info[UNKNOWN] = True


@event.listens_for(Session, "after_flush")
def _remember(session, flush_context):
    """Serialise each new audit row as the database will give it back (its JSON through the column's own
    round trip), from the values this flush sent."""
    known = session.info.setdefault(KNOWN, {})
    for row in session.new:
        if isinstance(row, AuditLog):
            if row.at.tzinfo is not None:  # stored without its zone: let the database say what it kept
                known[row.id] = None
                continue
            values = {f: getattr(row, f) for f in FIELDS}
            values["details"] = json.loads(json.dumps(values["details"]))
            known[row.id] = content(values)


@event.listens_for(Session, "after_rollback")
def _forget(session):
    session.info.pop(KNOWN, None)
    session.info.pop(UNKNOWN, None)


@event.listens_for(Session, "before_commit")
def _chain(session):
    transaction = session.get_transaction()
    if transaction is None or session.get_nested_transaction() is not None:
        return  # nothing begun; or a savepoint: the outer commit chains
    session.flush()  # the rows the ORM still holds, inserted before the lock is taken
    known, unknown = session.info.pop(KNOWN, None), session.info.pop(UNKNOWN, False)
    if not transaction._connections or not (known or unknown):
        return  # no statement ran, or no audit row went in: nothing to chain (no statement spent looking)
    chain(session.connection(), None if not known or None in known.values() else known)
