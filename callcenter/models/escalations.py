"""Escalations: needs someone other than the volunteer must act on, with their lifecycle."""
import enum
from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..rules.routing import Desk, Severity  # noqa: F401  (re-exported)
from .patients import Patient
from .places import Facility
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
    __table_args__ = (Index("ix_escalation_desk_queue", "district_id", "desk", "status", "created_at"),
                      # The dashboard: open escalations by type and age; those raised in a period.
                      Index("ix_escalation_open", "status", "kind", "created_at"),
                      Index("ix_escalation_created_at", "created_at"))
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
    outcome: Mapped[str | None] = mapped_column(String(30))  # a code: "admitted", "delivered", "met_well" …
    # Deadlines: respond_by is the acknowledge deadline; breached_at is when the deadline job found it passed
    # unacknowledged (kept for reports even after it is acknowledged); alerts count the re-alerts sent.
    breached_at: Mapped[datetime | None]
    last_alert_at: Mapped[datetime | None]
    alert_count: Mapped[int] = mapped_column(default=0)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    patient: Mapped[Patient] = relationship()
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    acknowledged_by: Mapped[User | None] = relationship(foreign_keys=[acknowledged_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    notes: Mapped[list["EscalationNote"]] = relationship(back_populates="escalation",
                                                         order_by="EscalationNote.at")
    dispatches: Mapped[list["Dispatch"]] = relationship(back_populates="escalation",
                                                        order_by="Dispatch.created_at")

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


class DispatchKind(enum.StrEnum):
    AMBULANCE = "ambulance"
    DELIVERY = "delivery"   # medicines, oxygen, food delivered to the patient
    OTHER = "other"


class Dispatch(db.Model):
    """What was sent for an escalation: an ambulance (vehicle, driver, destination, ETA) or a delivery
    (who, when). An escalation can have more than one (an ambulance that broke down, a second delivery)."""
    id: Mapped[int] = mapped_column(primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalation.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    vehicle_number: Mapped[str] = mapped_column(String(20), default="")
    driver_phone: Mapped[str | None] = mapped_column(String(16))  # E.164
    destination_facility_id: Mapped[int | None] = mapped_column(ForeignKey("facility.id"))
    eta: Mapped[datetime | None]
    delivered_by: Mapped[str] = mapped_column(String(120), default="")
    delivery_at: Mapped[datetime | None]
    arrived_at: Mapped[datetime | None]   # the ambulance reached the destination / the delivery was made
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    escalation: Mapped[Escalation] = relationship(back_populates="dispatches")
    destination: Mapped[Facility | None] = relationship()
    created_by: Mapped[User | None] = relationship()


class Consultation(db.Model):
    """A doctor's or counsellor's call to a referred patient: advice or session notes, and perhaps a
    follow-up date that became a call task on their desk."""
    id: Mapped[int] = mapped_column(primary_key=True)
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalation.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"))
    desk: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    outcome: Mapped[str] = mapped_column(String(20))  # a call Outcome: connected, no_answer …
    notes: Mapped[str] = mapped_column(Text, default="")  # advice given / session notes
    follow_up_date: Mapped[date | None]
    follow_up_task_id: Mapped[int | None] = mapped_column(ForeignKey("call_task.id"))
    # The form's one-time key: a double-submitted form records one consultation.
    submission_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]

    escalation: Mapped[Escalation | None] = relationship()
    patient: Mapped[Patient] = relationship()
    user: Mapped[User | None] = relationship()
