"""Who is called how often, and in what order: the daily-list policy as data and pure functions.

The daily list is built in SQL (services/calls/call_lists.py) from these same tables, so a change here
changes both the rule and the list.
"""
from dataclasses import dataclass, field

from . import priority

SETTINGS = ("hospital", "ccc", "home")

# Default calls per day, by setting and risk class (Ministry of Health home-isolation advice:
# higher-risk people at home are checked twice a day). An administrator can change each cell.
DEFAULT_CALLS_PER_DAY = {
    ("hospital", "normal"): 1, ("hospital", "high"): 1, ("hospital", "warning"): 1,
    ("ccc", "normal"): 1, ("ccc", "high"): 1, ("ccc", "warning"): 1,
    ("home", "normal"): 1, ("home", "high"): 2, ("home", "warning"): 2,
}
MAX_CALLS_PER_DAY = 2  # slots: morning and afternoon


@dataclass(frozen=True)
class CallPolicy:
    calls_per_day: dict = field(default_factory=lambda: dict(DEFAULT_CALLS_PER_DAY))

    def calls_for(self, setting, risk):
        return self.calls_per_day[(setting, risk)]


@dataclass(frozen=True)
class PatientDay:
    """What the list builder knows about a patient on the morning of a day."""
    setting: str
    high_risk: bool
    warning_yesterday: bool = False       # a warning sign on a call or check-in yesterday
    unwell_or_unreached_yesterday: bool = False
    open_emergency: bool = False


def risk_class(high_risk, warning_yesterday):
    if warning_yesterday:
        return "warning"
    return "high" if high_risk else "normal"


def calls_today(day: PatientDay, policy=CallPolicy()):
    return policy.calls_for(day.setting, risk_class(day.high_risk, day.warning_yesterday))


# The order of the queue: the first condition that holds gives the priority; else ROUTINE.
PRIORITY_RULES = (
    ("open_emergency", priority.EMERGENCY_FOLLOW_UP),
    ("unwell_or_unreached_yesterday", priority.UNWELL_OR_UNREACHED),
    ("high_risk", priority.HIGH_RISK),
)


def task_priority(day: PatientDay):
    for flag, value in PRIORITY_RULES:
        if getattr(day, flag):
            return value
    return priority.ROUTINE
