"""Why a call is the one to make now, for the volunteer's call screen: the queue's own order (the task's
priority, set by rules/policy.py when the day's list is built and moved by check-ins) and what else made it
due (a call-back asked for, earlier tries, a desk's follow-up). Codes here; the words are labels.WHY_FIRST."""
from dataclasses import dataclass
from datetime import datetime, timedelta

from . import priority

WAITING_AFTER = timedelta(minutes=30)  # due longer ago than this: say since when


@dataclass(frozen=True)
class CallFacts:
    priority: int
    reason: str                    # the task's reason: "daily", "doctor_follow_up", "counsellor_follow_up" …
    attempts: int                  # tries of this task already made today
    due_at: datetime
    open_emergency: bool           # an emergency of this patient's is still open
    risk_factors: tuple = ()       # comorbidity codes, and "age" when over the high-risk age
    callback_at: datetime | None = None  # the patient asked to be called back then (on an earlier try)


def reasons(facts: CallFacts, now: datetime):
    """[(code, values)], the weightiest first; never empty."""
    found = []
    if facts.open_emergency:
        found.append(("open_emergency", {}))
    elif facts.priority == priority.EMERGENCY_FOLLOW_UP:
        found.append(("emergency_follow_up", {}))
    if facts.priority == priority.UNWELL_OR_UNREACHED:
        found.append(("unwell_or_unreached", {}))
    if facts.reason != "daily":
        found.append((facts.reason, {}))
    if facts.risk_factors:
        found.append(("high_risk", {"factors": facts.risk_factors}))
    if facts.callback_at is not None:
        found.append(("callback", {"at": facts.callback_at}))
    if facts.attempts:
        found.append(("tried", {"n": facts.attempts}))
    if now - facts.due_at > WAITING_AFTER:
        found.append(("waiting", {"since": facts.due_at}))
    if facts.priority >= priority.CHECKED_IN_OK:
        found.append(("checked_in_ok", {}))
    return found or [("routine", {})]
