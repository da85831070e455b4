"""The nodal officer's monitoring: queue pauses (a queue = one district's calls for one setting), the
dashboard's daily pre-aggregates (filled by jobs/daily_figures.py) and its snapshots (jobs/dashboard_snapshots.py)."""
from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
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

    @classmethod
    def in_force_for(cls, district_id):
        """The pauses that hold now for a district (a value or a column): its own and state-wide ones; for
        None (a state-level view), every pause in force. The queue and the dashboard both use this."""
        where = cls.resumed_at.is_(None)
        if district_id is None:
            return where
        return where & (cls.district_id.is_(None) | (cls.district_id == district_id))


class DailyFiguresDay(db.Model):
    """A local day whose figures jobs/daily_figures.py has counted into the two tables below.

    The dashboard reads a closed day from the tables only if its day is here; otherwise it counts live."""
    __tablename__ = "daily_figures_day"
    day: Mapped[date] = mapped_column(primary_key=True)
    computed_at: Mapped[datetime]


class DailyFigures(db.Model):
    """One closed day's trend figures per district, block, setting and facility (the dashboard's filters).

    Calls and escalations are counted where the patient was when the day was counted; `active` is the
    patients still in follow-up at the end of the day."""
    __tablename__ = "daily_figures"
    __table_args__ = (Index("ix_daily_figures_day", "day", "district_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date]
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"))
    block_id: Mapped[int | None] = mapped_column(ForeignKey("block.id"))
    setting: Mapped[str] = mapped_column(String(10))
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facility.id"))
    calls: Mapped[int] = mapped_column(default=0)
    connected: Mapped[int] = mapped_column(default=0)
    escalations: Mapped[int] = mapped_column(default=0)
    active: Mapped[int] = mapped_column(default=0)


class DailyVolunteerFigures(db.Model):
    """One closed day's work per volunteer (calls made, connected, handling time, escalations raised), per
    district, block and setting of the patients called."""
    __tablename__ = "daily_volunteer_figures"
    __table_args__ = (Index("ix_daily_volunteer_figures_day", "day", "district_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date]
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"))
    block_id: Mapped[int | None] = mapped_column(ForeignKey("block.id"))
    setting: Mapped[str] = mapped_column(String(10))
    calls: Mapped[int] = mapped_column(default=0)
    connected: Mapped[int] = mapped_column(default=0)
    timed_calls: Mapped[int] = mapped_column(default=0)  # calls with a recorded start
    handling_seconds: Mapped[float] = mapped_column(default=0.0)  # their total handling time
    raised: Mapped[int] = mapped_column(default=0)  # escalations the volunteer raised


class DashboardSnapshot(db.Model):
    """The dashboard's figures for its default view (today, no filters) at one scope, or for one filtered view of
    today someone watches, as counted by the last pass of jobs/dashboard_snapshots.py
    (callcenter/services/dashboard/snapshots.py). One row per view, overwritten by each pass; `payload` is the
    figures in a tagged JSON form that round-trips dates."""
    __tablename__ = "dashboard_snapshot"
    # "state", "district:<id>", or either followed by a filtered view's filters (snapshots.view_key)
    scope: Mapped[str] = mapped_column(String(120), primary_key=True)
    computed_at: Mapped[datetime]
    payload: Mapped[dict] = mapped_column(JSON)
    # When someone last opened this view: the job keeps counting only the scopes someone is watching.
    viewed_at: Mapped[datetime | None]
