"""Escalations: needs someone other than the volunteer must act on, with their lifecycle."""
import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..rules.routing import Desk, Severity  # noqa: F401  (re-exported)
from .patients import Patient
from .users import User


class EscalationStatus(enum.StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"


ESCALATION_TRANSITIONS = {
    EscalationStatus.OPEN: {EscalationStatus.ACKNOWLEDGED, EscalationStatus.RESOLVED, EscalationStatus.CANCELLED},
    EscalationStatus.ACKNOWLEDGED: {EscalationStatus.IN_PROGRESS, EscalationStatus.RESOLVED,
                                    EscalationStatus.CANCELLED},
    EscalationStatus.IN_PROGRESS: {EscalationStatus.RESOLVED, EscalationStatus.CANCELLED},
    EscalationStatus.RESOLVED: set(),
    EscalationStatus.CANCELLED: set(),
}
OPEN_ESCALATION_STATUSES = (EscalationStatus.OPEN, EscalationStatus.ACKNOWLEDGED, EscalationStatus.IN_PROGRESS)


class Escalation(db.Model):
    __table_args__ = (Index("ix_escalation_desk_queue", "district_id", "desk", "status", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"))
    kind: Mapped[str] = mapped_column(String(20))   # a need kind, "warning_sign", "field_visit", "phone_check"
    desk: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12), default=EscalationStatus.OPEN)
    summary: Mapped[str] = mapped_column(Text, default="")  # the caller's free-text notes
    reasons: Mapped[list] = mapped_column(JSON, default=list)  # why: [["need","ambulance"],["spo2",91]]
    source: Mapped[str] = mapped_column(String(10))  # call, checkin, job, desk
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    respond_by: Mapped[datetime | None]  # deadline to acknowledge (emergencies)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    started_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    resolution: Mapped[str] = mapped_column(Text, default="")  # outcome or cancel reason
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    patient: Mapped[Patient] = relationship()
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    acknowledged_by: Mapped[User | None] = relationship(foreign_keys=[acknowledged_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    notes: Mapped[list["EscalationNote"]] = relationship(back_populates="escalation",
                                                         order_by="EscalationNote.at")

    @property
    def is_open(self):
        return self.status in OPEN_ESCALATION_STATUSES

    def can_move_to(self, status):
        return status in ESCALATION_TRANSITIONS[EscalationStatus(self.status)]


class EscalationNote(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalation.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    at: Mapped[datetime]
    text: Mapped[str] = mapped_column(Text)

    escalation: Mapped[Escalation] = relationship(back_populates="notes")
    user: Mapped[User | None] = relationship()
