"""Every minute: count the dashboard's default view (today, no filters) for the state and for each district
someone has opened in the last 15 minutes, and store it, so the page and its live refresh read one row
instead of counting today's hundreds of thousands of records on every view
(callcenter/services/dashboard/snapshots.py).

An interval job like the escalation deadlines: scheduled passes are not recorded as JobRuns; manual or shell
runs through jobs.runner.run are. A pass is idempotent (each scope's row is overwritten) and on PostgreSQL an
advisory lock keeps passes to one at a time (an overlapping pass stands down).
"""
from callcenter.services.dashboard import snapshots as dashboard_snapshots

NAME = "dashboard_snapshots"
CONFIG_INTERVAL = "DASHBOARD_SNAPSHOT_INTERVAL_SECONDS"


def run(now, user=None):
    """Returns (snapshots written, the pass's details)."""
    details = dashboard_snapshots.refresh(now=now, watched_only=True)
    return details["scopes"], details
