"""The outbox page's read side: the latest messages, and whether today's queue can drain before the
check-in window closes (the sender warns when it cannot)."""
import logging
import math
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select

from ...clock import local_date, utcnow
from ...extensions import db
from ...models import OutboundMessage, OutboxStatus, Patient
from ..checkins import schedule as checkin_schedule

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DrainForecast:
    """The messages waiting now against the time left in today's check-in window, at `rate` per second."""
    queued: int
    rate: float
    seconds_left: float
    configured_rate: float

    @property
    def seconds_needed(self):
        return self.queued / self.rate

    @property
    def behind(self):
        return self.seconds_needed > self.seconds_left

    @property
    def rate_needed(self):
        """Messages per second that would send them all in the time left (rounded up)."""
        return math.ceil(self.queued / self.seconds_left) if self.seconds_left > 0 else None

    @property
    def minutes_needed(self):
        return math.ceil(self.seconds_needed / 60)

    @property
    def minutes_left(self):
        return math.floor(self.seconds_left / 60)


def drain_forecast(now=None, achieved=None):
    """The forecast while today's check-in window is open (or about to open), else None. The rate is the
    configured OUTBOX_RATE_PER_SECOND, or less when a sender pass `achieved` less (the provider's answer
    time: one message is handed over at a time)."""
    now = now or utcnow()
    start, end = checkin_schedule.window(local_date(now))
    if now >= end:
        return None
    queued = db.session.scalar(select(func.count()).select_from(OutboundMessage)
                               .where(OutboundMessage.status == OutboxStatus.QUEUED))
    configured = float(current_app.config["OUTBOX_RATE_PER_SECOND"])
    rate = min(configured, achieved) if achieved else configured
    return DrainForecast(queued=queued, rate=rate, seconds_left=(end - max(now, start)).total_seconds(),
                         configured_rate=configured)


def warn_if_behind(now, achieved=None):
    """Log a warning when the queue cannot drain before the window closes (the outbox page shows it too)."""
    forecast = drain_forecast(now, achieved)
    if forecast is not None and forecast.queued and forecast.behind:
        log.warning("outbox: %s messages waiting need %s min at %.1f/s, but the check-in window closes in %s min; "
                    "those not sent by then are dropped. Raise OUTBOX_RATE_PER_SECOND to at least %s (within the "
                    "provider's limits, see README).", forecast.queued, forecast.minutes_needed, forecast.rate,
                    forecast.minutes_left, forecast.rate_needed)
    return forecast

def latest(user, status=None, before=None, limit=100):
    """The latest messages the user may see (their district's patients), newest first."""
    stmt = select(OutboundMessage).outerjoin(Patient, Patient.id == OutboundMessage.patient_id)
    if user.district_id is not None:
        stmt = stmt.where(Patient.district_id == user.district_id)
    if status:
        stmt = stmt.where(OutboundMessage.status == status)
    if before:
        stmt = stmt.where(OutboundMessage.id < before)
    return db.session.scalars(stmt.order_by(OutboundMessage.id.desc()).limit(limit)).all()
