"""The append-only audit log: who did what to which record, and when.

Each row is chained (seq, hash: rules/audit_chain.py) when its transaction commits (services/core/audit.py).
On PostgreSQL a trigger refuses UPDATE and DELETE: the only change allowed is that chaining of a row not
chained yet, its content untouched; only the archiving role deletes, and only rows past the retention period
(docs/AUDIT.md). The same SQL is in migration 0017.
"""
from datetime import datetime

from sqlalchemy import DDL, JSON, BigInteger, ForeignKey, Index, String, event, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .users import User


class AuditLog(db.Model):
    __table_args__ = (
        Index("ix_audit_log_entity", "entity", "entity_id"),
        Index("uq_audit_log_seq", "seq", unique=True),
        # The rows still to be chained: only the committing transaction's own (a handful).
        Index("ix_audit_log_unchained", "id", postgresql_where=text("seq IS NULL"),
              sqlite_where=text("seq IS NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[int | None]
    district_id: Mapped[int | None]
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    # The row's place in the chain and its hash; both empty until its transaction commits.
    seq: Mapped[int | None] = mapped_column(BigInteger)
    hash: Mapped[str | None] = mapped_column(String(64))

    user: Mapped[User | None] = relationship()


class AuditSubject(db.Model):
    """A patient named by an audit row about many patients at once (a list, a search, an export): finds
    "who saw this patient" by index instead of reading every row's details."""
    __table_args__ = (Index("ix_audit_subject_patient", "patient_id", "audit_id"),)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit_log.id", ondelete="CASCADE"), primary_key=True)
    patient_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)

    audit: Mapped[AuditLog] = relationship()


class AuditLogIsAppendOnly(Exception):
    pass


@event.listens_for(AuditLog, "before_update")
@event.listens_for(AuditLog, "before_delete")
def _refuse_changes(mapper, connection, target):
    raise AuditLogIsAppendOnly("audit records are never changed or deleted")


ARCHIVER_ROLE = "sampark_audit_archiver"
MIN_RETENTION_DAYS = 365
GUARD_FUNCTION = f"""
CREATE OR REPLACE FUNCTION audit_log_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    keep_days integer;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.seq IS NULL AND NEW.seq IS NOT NULL AND NEW.hash IS NOT NULL AND NEW.id = OLD.id
           AND NEW.at = OLD.at AND NEW.action = OLD.action AND NEW.entity = OLD.entity
           AND NEW.user_id IS NOT DISTINCT FROM OLD.user_id AND NEW.entity_id IS NOT DISTINCT FROM OLD.entity_id
           AND NEW.district_id IS NOT DISTINCT FROM OLD.district_id
           AND NEW.details::text IS NOT DISTINCT FROM OLD.details::text THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'audit_log is append-only: a row is never changed' USING ERRCODE = '42501';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{ARCHIVER_ROLE}')
       OR NOT pg_has_role(current_user, '{ARCHIVER_ROLE}', 'MEMBER') THEN
        RAISE EXCEPTION 'audit_log is append-only: only {ARCHIVER_ROLE} archives rows' USING ERRCODE = '42501';
    END IF;
    SELECT GREATEST({MIN_RETENTION_DAYS}, COALESCE(MAX(value::integer), {MIN_RETENTION_DAYS})) INTO keep_days
        FROM app_setting WHERE key = 'audit_retention_days';
    IF OLD.at >= (now() AT TIME ZONE 'UTC') - make_interval(days => keep_days) THEN
        RAISE EXCEPTION 'audit_log: rows are kept % days', keep_days USING ERRCODE = '42501';
    END IF;
    RETURN OLD;
END $$
"""
GUARD_TRIGGER = ("CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
                 "FOR EACH ROW EXECUTE FUNCTION audit_log_guard()")
SUBJECT_GUARD_FUNCTION = f"""
CREATE OR REPLACE FUNCTION audit_subject_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{ARCHIVER_ROLE}')
       AND pg_has_role(current_user, '{ARCHIVER_ROLE}', 'MEMBER') THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_subject is append-only' USING ERRCODE = '42501';
END $$
"""
SUBJECT_GUARD_TRIGGER = ("CREATE TRIGGER audit_subject_append_only BEFORE UPDATE OR DELETE ON audit_subject "
                         "FOR EACH ROW EXECUTE FUNCTION audit_subject_guard()")
# One round trip per audited commit on PostgreSQL (services/core/audit.py): take the chain's lock, check that the
# unchained rows are exactly the caller's, read the head and chain them (the hash as rules/audit_chain.link makes
# it, over the content the caller serialised). A VOLATILE function's statements each take a fresh snapshot, so
# the head is read after the lock is granted. -1 when the unchained rows are not the caller's: it chains itself.
CHAIN_FUNCTION = r"""
CREATE OR REPLACE FUNCTION audit_chain_append(lock_key bigint, ids integer[], contents text[])
RETURNS integer LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    head_seq bigint;
    head_hash text;
    seqs bigint[] := '{}';
    hashes text[] := '{}';
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key);
    IF (SELECT array_agg(id ORDER BY id) FROM audit_log WHERE seq IS NULL) IS DISTINCT FROM ids THEN
        RETURN -1;
    END IF;
    SELECT seq, hash INTO head_seq, head_hash FROM audit_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1;
    IF NOT FOUND THEN
        head_seq := 0;
        head_hash := repeat('0', 64);
    END IF;
    FOR i IN 1 .. array_length(ids, 1) LOOP
        head_seq := head_seq + 1;
        head_hash := encode(sha256(convert_to(head_hash || E'\n' || head_seq || E'\n' || contents[i], 'UTF8')),
                            'hex');
        seqs := seqs || head_seq;
        hashes := hashes || head_hash;
    END LOOP;
    UPDATE audit_log SET seq = v.seq, hash = v.hash FROM unnest(ids, seqs, hashes) AS v(id, seq, hash)
        WHERE audit_log.id = v.id;
    RETURN array_length(ids, 1);
END $$
"""
# create_all (the tests, a new database) builds them as migrations 0017 and 0026 do.
event.listen(AuditLog.__table__, "after_create", DDL(CHAIN_FUNCTION).execute_if(dialect="postgresql"))
for _sql in (GUARD_FUNCTION, GUARD_TRIGGER):
    event.listen(AuditLog.__table__, "after_create", DDL(_sql.replace("%", "%%")).execute_if(dialect="postgresql"))
for _sql in (SUBJECT_GUARD_FUNCTION, SUBJECT_GUARD_TRIGGER):
    event.listen(AuditSubject.__table__, "after_create",
                 DDL(_sql.replace("%", "%%")).execute_if(dialect="postgresql"))


class AppSetting(db.Model):
    """An administrator's value for one setting; defaults live in config.SETTING_DEFAULTS."""
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
