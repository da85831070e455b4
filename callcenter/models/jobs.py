"""Scheduled-job runs and discharge reviews."""
import enum
from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .patients import Patient
from .users import User


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class JobRun(db.Model):
    """One run of a job. (job, run_key) is unique: it is how several scheduler processes agree that a
    scheduled run happens once (the first to insert the row runs it). While it runs, its process (owner)
    refreshes heartbeat_at: a run whose process died is taken over (callcenter/services/core/job_runs.py)."""
    __table_args__ = (UniqueConstraint("job", "run_key", name="uq_job_run_job_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(40))
    run_key: Mapped[str] = mapped_column(String(60))  # e.g. the day for a daily job; unique for manual runs
    trigger: Mapped[str] = mapped_column(String(20))  # scheduled, catch_up, manual, cli
    status: Mapped[str] = mapped_column(String(12))
    started_at: Mapped[datetime] = mapped_column(index=True)
    finished_at: Mapped[datetime | None]
    rows: Mapped[int | None]
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    tries: Mapped[int] = mapped_column(default=1)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    owner: Mapped[str] = mapped_column(String(120), default="")  # host:pid:start of the process running it
    heartbeat_at: Mapped[datetime | None]

    user: Mapped[User | None] = relationship()


class SchedulerBeat(db.Model):
    """A running scheduler process's sign of life, refreshed every CATCH_UP_INTERVAL_SECONDS (read by /readyz
    and the Jobs page); its row is removed when it stops cleanly."""
    __tablename__ = "scheduler_heartbeat"
    owner: Mapped[str] = mapped_column(String(120), primary_key=True)
    started_at: Mapped[datetime]
    seen_at: Mapped[datetime] = mapped_column(index=True)


class ReviewStatus(enum.StrEnum):
    PENDING = "pending"
    DISCHARGED = "discharged"
    CONTINUED = "continued"
    CLOSED = "closed"        # the follow-up ended otherwise (death, moved out) before a decision


class DischargeReview(db.Model):
    """A patient who meets the release rule, waiting for a doctor or the nodal officer to decide."""
    __table_args__ = (
        Index("uq_discharge_review_pending", "patient_id", unique=True,
              sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"), index=True)
    flagged_on: Mapped[date]
    flagged_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12), default=ReviewStatus.PENDING)
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    note: Mapped[str] = mapped_column(Text, default="")

    patient: Mapped[Patient] = relationship()
    decided_by: Mapped[User | None] = relationship()
