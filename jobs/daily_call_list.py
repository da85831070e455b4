"""Every morning: today's call list for every active patient (see services/calls/call_lists.py)."""
from callcenter.clock import local_date
from callcenter.services.calls import call_lists

NAME = "daily_call_list"
CONFIG_TIME = "CALL_LIST_TIME"


def run(now, user=None, day=None):
    """Returns (rows created, details)."""
    day = day or local_date(now)
    result = call_lists.build_call_list(day, now=now, user=user)
    return result["created"], {"day": day.isoformat(), **result}
