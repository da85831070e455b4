"""Every morning at the check-in window's start: each active patient's check-in, into the outbox
(see callcenter/services/outbox/enqueue.py; the sender job hands them to the provider)."""
from callcenter.clock import local_date
from callcenter.services.outbox.enqueue import enqueue_daily_checkins

NAME = "checkins_enqueue"
CONFIG_TIME = "CHECKIN_WINDOW_START"


def run(now, user=None, day=None):
    """Returns (messages enqueued, details)."""
    day = day or local_date(now)
    result = enqueue_daily_checkins(day, now=now, user=user)
    return result["enqueued"], {"day": day.isoformat(), **result}
