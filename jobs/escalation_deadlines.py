"""Every minute: escalations still open past their response deadline are flagged as breached and their
district's duty officer is alerted by SMS, again every `realert_minutes` until someone acknowledges
(callcenter/services/desks/deadlines.py).

An interval job like the outbox sender: scheduled passes are not recorded as JobRuns (one a minute would bury
the daily ones); each breach and each re-alert is in the audit log, and manual or shell runs through
jobs.runner.run are recorded. The pass is idempotent (conditional UPDATEs), so overlapping passes are safe.
"""
from callcenter.services.desks import deadlines

NAME = "escalation_deadlines"
CONFIG_INTERVAL = "ESCALATION_DEADLINES_INTERVAL_SECONDS"


def run(now, user=None):
    """Returns (breaches flagged + escalation alerts sent, the pass's counts)."""
    counts = deadlines.check(now=now, user=user)
    return counts["breached"] + counts["alerted"], counts
