"""Every morning: flag patients who meet the release rule for a discharge review."""
from callcenter.clock import local_date
from callcenter.services.desks import discharge

NAME = "release_reviews"
CONFIG_TIME = "RELEASE_REVIEW_TIME"


def run(now, user=None, day=None):
    day = day or local_date(now)
    flagged = discharge.flag_release_reviews(day, now=now, user=user)
    return flagged, {"day": day.isoformat()}
