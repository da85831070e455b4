"""Queue priority: lower numbers are called first."""
from .routing import Thresholds

EMERGENCY_FOLLOW_UP = 0
UNWELL_OR_UNREACHED = 1
HIGH_RISK = 2
ROUTINE = 3
CHECKED_IN_OK = ROUTINE + 1  # checked in today and well: after the routine calls


def high_risk(age, has_comorbidity, thresholds=Thresholds()):
    """The rule, once, for Python values and SQL columns alike (`|` is `or` for booleans and OR for
    SQLAlchemy expressions): over the age limit (default 60), or any listed comorbidity. The daily list's
    SQL (services/calls/call_lists.py) uses it with the patient's columns."""
    return (age >= thresholds.high_risk_age) | has_comorbidity


def is_high_risk(age, comorbidities, thresholds=Thresholds()):
    """For one person: their age and their comorbidities (a list)."""
    return bool(high_risk(age, bool(list(comorbidities)), thresholds))
