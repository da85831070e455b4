"""Early each morning (06:30): count the closed days' dashboard figures
(see callcenter/services/dashboard/daily_figures.py).

Idempotent: each day is re-counted from scratch; yesterday is always re-counted (late records), and any of
the last KEEP_DAYS days not yet counted (a scheduler that was down, a new deployment) are filled in."""
from datetime import timedelta

from callcenter.clock import local_date
from callcenter.services.dashboard import daily_figures

NAME = "daily_figures"
CONFIG_TIME = "DAILY_FIGURES_TIME"


def run(now, user=None, day=None):
    """Returns (rows written, details). `day` counts that one day only."""
    days = [day] if day else daily_figures.days_to_count(now)
    rows = sum(daily_figures.count_day(d, now=now) for d in days)
    if not day:
        daily_figures.forget_before(local_date(now) - timedelta(days=daily_figures.KEEP_DAYS))
    return rows, {"days": [d.isoformat() for d in days]}
