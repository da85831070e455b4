"""The audit log's hash chain: each row's hash is SHA-256 over the previous row's hash, its place in the chain
(seq) and its own content.

The format is a contract with every row already written (and with archived months): never change it. The
content is serialised as canonical JSON (sorted keys, no spaces, ASCII only), from the values as the database
gives them back, so the writer (services/core/audit.py), the migration that chained the old rows (0017) and
`flask audit verify` all hash the same bytes.
"""
import hashlib
import json
from datetime import datetime

GENESIS = "0" * 64  # the "previous hash" of the first row (seq 1)
FIELDS = ("id", "at", "user_id", "action", "entity", "entity_id", "district_id", "details")


def content(row):
    """One row's content (a mapping with FIELDS) as canonical JSON bytes."""
    values = {f: row[f] for f in FIELDS}
    at = values["at"]
    values["at"] = at.isoformat(timespec="microseconds") if isinstance(at, datetime) else str(at)
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str).encode()


def link(previous, seq, content_bytes):
    """The hash of the row at `seq` whose content is `content_bytes`, after the row hashed `previous`."""
    return hashlib.sha256(f"{previous}\n{seq}\n".encode() + content_bytes).hexdigest()


def row_hash(previous, seq, row):
    return link(previous, seq, content(row))
