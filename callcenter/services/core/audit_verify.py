"""Walking the audit chain (`flask --app app audit verify`): the first row edited or missing.

Rows are read in seq order, streamed in batches (a state has millions). A row whose hash is not the hash of
its content and of the row before was edited (or the row before it was); a seq that skips numbers means rows
were deleted. A chain that starts after seq 1 (its older months archived, docs/AUDIT.md) starts from the
archived head given as `start_hash`.
"""
from dataclasses import dataclass

from sqlalchemy import func, select

from ...extensions import db
from ...models import AuditLog
from ...rules.audit_chain import FIELDS, GENESIS, row_hash

TABLE = AuditLog.__table__
BATCH = 10_000


@dataclass
class Verdict:
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    problem: str = ""
    row_id: int | None = None


def verify(start_hash=None, batch=BATCH):
    checked, expected_seq, previous = 0, None, start_hash
    stmt = (select(TABLE.c.seq, TABLE.c.hash, *(TABLE.c[f] for f in FIELDS))
            .where(TABLE.c.seq.is_not(None)).order_by(TABLE.c.seq))
    with db.engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=batch).execute(stmt).mappings()
        try:
            for row in result:
                problem = _check(row, expected_seq, previous)
                if problem:
                    return Verdict(False, checked, (expected_seq or 1) - 1, previous or "", problem, row["id"])
                previous, expected_seq, checked = row["hash"], row["seq"] + 1, checked + 1
        finally:
            result.close()
        unchained = conn.execute(select(func.count(), func.min(TABLE.c.id)).where(TABLE.c.seq.is_(None))).one()
    head_seq = (expected_seq or 1) - 1
    if unchained[0]:
        return Verdict(False, checked, head_seq, previous or GENESIS,
                       f"{unchained[0]} committed rows are not chained (written around the application)",
                       unchained[1])
    return Verdict(True, checked, head_seq, previous or GENESIS)


def _check(row, expected_seq, previous):
    """What is wrong with this row, coming after `previous` (None: the first row read), or ""."""
    if expected_seq is None:  # the first row: seq 1 from the genesis, or the row after an archived head
        if previous is None and row["seq"] != 1:
            return (f"the chain starts at seq {row['seq']}, not 1: rows were deleted, or archived (give the "
                    "archived head with --start-hash)")
        return "" if row_hash(previous or GENESIS, row["seq"], row) == row["hash"] else \
            f"seq {row['seq']}: hash mismatch (this row was changed, or the start hash is not its archive's)"
    if row["seq"] != expected_seq:
        return f"rows seq {expected_seq}–{row['seq'] - 1} are missing (deleted) before this row"
    if row_hash(previous, row["seq"], row) != row["hash"]:
        return f"seq {row['seq']}: hash mismatch (this row, or the one before it, was changed)"
    return ""
