"""Release from home isolation / care centre: when a patient is due a discharge review.

Defaults follow the April 2021 guideline (10 days from symptom onset, or from the sample date for
people without symptoms, and no fever for the last 3 days); the January 2022 revision is 7 days.
"""
from dataclasses import dataclass
from datetime import date, timedelta

from .adjustable import DEFAULTS


@dataclass(frozen=True)
class ReleaseRule:
    min_days: int = DEFAULTS["release_min_days"]
    fever_free_days: int = DEFAULTS["release_fever_free_days"]


def isolation_day_zero(symptom_onset_date, positive_date):
    """Counted from symptom onset, or from the sample (positive) date when there were no symptoms."""
    return symptom_onset_date or positive_date


def due_for_release_review(today: date, symptom_onset_date, positive_date, last_fever_date,
                           rule=ReleaseRule()):
    """True when the minimum days have passed and no fever was recorded in the last fever-free days.

    `last_fever_date` is the last day a temperature at or above the fever threshold was recorded
    (None if never). Day zero is the onset/sample day; on day `min_days` the patient is due.
    """
    start = isolation_day_zero(symptom_onset_date, positive_date)
    if start is None or (today - start).days < rule.min_days:
        return False
    fever_window_start = today - timedelta(days=rule.fever_free_days - 1)
    return last_fever_date is None or last_fever_date < fever_window_start
