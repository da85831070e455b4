"""Queue pauses set by the nodal officer (a queue = one district's calls for one setting)."""
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .users import User


class QueuePause(db.Model):
    """One pause of a queue; the row stays when it is resumed, so the history is kept.

    district_id None pauses that setting in every district (a state-level officer's pause).
    """
    __table_args__ = (Index("ix_queue_pause_open", "resumed_at", "district_id", "setting"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("district.id"))
    setting: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text, default="")
    paused_at: Mapped[datetime]
    paused_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    resumed_at: Mapped[datetime | None]
    resumed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    paused_by: Mapped[User | None] = relationship(foreign_keys=[paused_by_id])
