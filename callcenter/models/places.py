"""Geography (state → district → block → village/ward) and facilities."""
import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db


class District(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    state: Mapped[str] = mapped_column(String(80))
    # The control room's duty officer: re-alerts for escalations nobody acknowledged in time go here (E.164).
    duty_phone: Mapped[str | None] = mapped_column(String(16))

    blocks: Mapped[list["Block"]] = relationship(back_populates="district", order_by="Block.name")

    def __str__(self):
        return self.name


class Block(db.Model):
    """A development block (विकासखंड) or an urban zone."""
    __table_args__ = (UniqueConstraint("district_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))

    district: Mapped[District] = relationship(back_populates="blocks")
    villages: Mapped[list["Village"]] = relationship(back_populates="block", order_by="Village.name")

    def __str__(self):
        return self.name


class VillageKind(enum.StrEnum):
    VILLAGE = "village"
    WARD = "ward"


class Village(db.Model):
    __table_args__ = (UniqueConstraint("block_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    block_id: Mapped[int] = mapped_column(ForeignKey("block.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(10), default=VillageKind.VILLAGE)

    block: Mapped[Block] = relationship(back_populates="villages")

    def __str__(self):
        return self.name


class FacilityKind(enum.StrEnum):
    HOSPITAL = "hospital"
    CCC = "ccc"


class Facility(db.Model):
    __table_args__ = (UniqueConstraint("district_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"), index=True)
    name: Mapped[str] = mapped_column(String(160))
    kind: Mapped[str] = mapped_column(String(10))
    phone: Mapped[str | None] = mapped_column(String(20))
    beds_general: Mapped[int] = mapped_column(default=0)
    beds_oxygen: Mapped[int] = mapped_column(default=0)
    beds_icu: Mapped[int] = mapped_column(default=0)
    # Free beds now, kept by the control room (the beds_* above are capacity).
    free_general: Mapped[int] = mapped_column(default=0)
    free_oxygen: Mapped[int] = mapped_column(default=0)
    free_icu: Mapped[int] = mapped_column(default=0)
    beds_updated_at: Mapped[datetime | None]
    beds_updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    district: Mapped[District] = relationship()

    @property
    def beds_total(self):
        return self.beds_general + self.beds_oxygen + self.beds_icu

    def __str__(self):
        return self.name
