"""Line-list imports, remembered header mappings, households and village contacts."""
import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .places import District, Village
from .users import User


class ImportStatus(enum.StrEnum):
    DRY_RUN = "dry_run"      # checked, nothing written
    COMPLETED = "completed"  # valid rows written, in one transaction
    REFUSED = "refused"      # not a line list (wrong type, empty, too big, broken encoding)
    # A large upload is imported in the background (jobs/import_queue.py): queued → running → one of the
    # above; "failed" after repeated crashes or errors (nothing written: the import is one transaction).
    QUEUED = "queued"
    RUNNING = "running"
    FAILED = "failed"


WAITING_IMPORT_STATUSES = (ImportStatus.QUEUED, ImportStatus.RUNNING)


class RowAction(enum.StrEnum):
    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    REJECTED = "rejected"
    HELD = "held"            # maybe someone on record, maybe not: nothing written, the officer checks


# Rows that wrote nothing and go back in the error report, to correct and import again.
UNWRITTEN_ROW_ACTIONS = (RowAction.REJECTED, RowAction.HELD)


class ImportBatch(db.Model):
    """One upload of a line list: who, when, which file (by hash) and what came of each row."""
    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("district.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    filename: Mapped[str] = mapped_column(String(255))
    file_hash: Mapped[str] = mapped_column(String(64), index=True)  # sha256 of the bytes
    source: Mapped[str] = mapped_column(String(10))  # web, cli
    status: Mapped[str] = mapped_column(String(12))
    message: Mapped[str] = mapped_column(Text, default="")  # why a file was refused
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    rows_total: Mapped[int] = mapped_column(default=0)
    rows_added: Mapped[int] = mapped_column(default=0)
    rows_updated: Mapped[int] = mapped_column(default=0)
    rows_unchanged: Mapped[int] = mapped_column(default=0)
    rows_rejected: Mapped[int] = mapped_column(default=0)
    rows_held: Mapped[int] = mapped_column(default=0, server_default="0")  # held for review (RowAction.HELD)
    mapping: Mapped[dict] = mapped_column(JSON, default=dict)  # header → field used for this file
    # The background import: what was asked (a check or a real run), how far it got, and its claim.
    dry_run: Mapped[bool] = mapped_column(default=False, server_default=false())
    rows_done: Mapped[int] = mapped_column(default=0, server_default="0")         # rows read so far
    rows_expected: Mapped[int | None]                                              # estimated from the file
    claimed_at: Mapped[datetime | None]  # when a worker took it (refreshed as it goes); stale = the worker died
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    tasks_created: Mapped[int] = mapped_column(default=0, server_default="0")     # today's calls it queued

    user: Mapped[User | None] = relationship()
    district: Mapped[District | None] = relationship()


class ImportRow(db.Model):
    """What happened to one row of an import; rejected rows keep their raw values and reasons, so the
    error report can be downloaded, corrected and imported again."""
    __table_args__ = (Index("ix_import_row_batch_action", "batch_id", "action"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"))
    row_number: Mapped[int]  # as the spreadsheet numbers it (header = row 1)
    action: Mapped[str] = mapped_column(String(10))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"), index=True)
    raw: Mapped[dict] = mapped_column(JSON, default=dict)      # header → cell text
    # [{"column", "value", "reason", "params"}]: why it was rejected or held; for a written row, notes
    # (another person on a shared phone, the household joined, the row it repeats).
    errors: Mapped[list] = mapped_column(JSON, default=list)

    batch: Mapped[ImportBatch] = relationship()


class HeaderMapping(db.Model):
    """A spreadsheet header someone mapped to a patient field, remembered for the next file."""
    __table_args__ = (UniqueConstraint("header_key", name="uq_header_mapping_header_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    header_key: Mapped[str] = mapped_column(String(120))  # the header, case and spacing folded
    field: Mapped[str] = mapped_column(String(40))        # a patient field, or "ignore"
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))


class Household(db.Model):
    """Family members isolated together who share one phone: one call covers them all."""
    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"), index=True)
    phone: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime]


class ContactRole(enum.StrEnum):
    SARPANCH = "sarpanch"
    WARD_MEMBER = "ward_member"
    SECRETARY = "secretary"
    HEALTH_WORKER = "health_worker"
    OTHER = "other"


class VillageContact(db.Model):
    """A sarpanch, ward member or other person an officer can call about a village."""
    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    phone: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]

    village: Mapped[Village] = relationship()
