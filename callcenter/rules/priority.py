"""Queue priority: lower numbers are called first."""
from .routing import Thresholds

EMERGENCY_FOLLOW_UP = 0
UNWELL_OR_UNREACHED = 1
HIGH_RISK = 2
ROUTINE = 3


def is_high_risk(age, comorbidities, thresholds=Thresholds()):
    """Over the age limit (default 60) or with any listed comorbidity."""
    return age >= thresholds.high_risk_age or bool(list(comorbidities))
