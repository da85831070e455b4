"""Every few seconds: one pass of the outbox sender (expire, reconcile, send what is due, rate-limited).

An interval job: scheduled runs are not recorded as JobRuns (one every 30 s would bury the daily
ones); a PostgreSQL advisory lock in the sender keeps it to one pass at a time across processes.
"""
from flask import current_app

from callcenter.services.outbox.sender import send_pending

NAME = "outbox_sender"
CONFIG_INTERVAL = "OUTBOX_SEND_INTERVAL_SECONDS"


def run(now, user=None, max_seconds="config"):
    """Returns (messages handed to the provider, counts by outcome)."""
    if max_seconds == "config":
        max_seconds = current_app.config["OUTBOX_PASS_SECONDS"]
    counts = send_pending(max_seconds=max_seconds)
    if counts is None:
        return 0, {"skipped": "another sender is running"}
    return counts.get("handed", 0), counts
