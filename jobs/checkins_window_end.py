"""At the end of the check-in window: patients asked to check in who did not are moved up today's queue."""
from callcenter.clock import local_date
from callcenter.services.checkins import checkins

NAME = "checkins_window_end"
CONFIG_TIME = "CHECKIN_WINDOW_END"


def run(now, user=None, day=None):
    day = day or local_date(now)
    moved = checkins.move_up_missing_checkins(day, now=now, user=user)
    return moved, {"day": day.isoformat(), "moved_up": moved}
