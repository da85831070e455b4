"""Time in one place: the database holds naive UTC; people see Asia/Kolkata.

Services take a `now` argument (naive UTC) so rules and jobs are tested without sleeping.
"""
from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

DEFAULT_TZ = "Asia/Kolkata"


def local_tz():
    name = current_app.config.get("TIMEZONE", DEFAULT_TZ) if has_app_context() else DEFAULT_TZ
    return ZoneInfo(name)


def utcnow():
    return datetime.now(timezone.utc).replace(tzinfo=None)


def to_local(dt):
    """A naive-UTC datetime from the database, as an aware local datetime."""
    if dt is None:
        return None
    return dt.replace(tzinfo=timezone.utc).astimezone(local_tz())


def local_date(now=None):
    """The calendar day in the call centre's time zone (a task's 'day')."""
    return to_local(now or utcnow()).date()


def local_to_utc(dt):
    """A naive local datetime (from a form) as naive UTC for the database."""
    return dt.replace(tzinfo=local_tz()).astimezone(timezone.utc).replace(tzinfo=None)


def start_of_local_day(day):
    return local_to_utc(datetime.combine(day, time.min))
