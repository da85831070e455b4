"""Awareness broadcasts: one registered SMS template to an audience built from what Sampark knows (active
patients by place or setting, recovered patients, village contacts), drafted by one person and approved by
another, sent through the outbox after everything else (OutboxPriority.BROADCAST)."""
import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .places import District
from .users import User


class BroadcastStatus(enum.StrEnum):
    DRAFT = "draft"          # waiting for a second person's approval
    QUEUED = "queued"        # approved: its messages are in the outbox (sent from its time, 09:00–21:00)
    CANCELLED = "cancelled"  # before approval, or after: what had not gone out stays unsent


class Broadcast(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("district.id"), index=True)  # None: state-wide
    title: Mapped[str] = mapped_column(String(120))
    template: Mapped[str] = mapped_column(String(40))   # a registered SMS template (sms_templates.TEMPLATES)
    variables: Mapped[dict] = mapped_column(JSON, default=dict)
    audience: Mapped[dict] = mapped_column(JSON, default=dict)  # services/broadcasts/audience.py: Audience
    status: Mapped[str] = mapped_column(String(10), default=BroadcastStatus.DRAFT)
    people: Mapped[int] = mapped_column(default=0)      # as counted when drafted, then when queued
    phones: Mapped[int] = mapped_column(default=0)
    send_at: Mapped[datetime]
    drafted_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime]
    approved_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]

    district: Mapped[District | None] = relationship()
    drafted_by: Mapped[User] = relationship(foreign_keys=[drafted_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
