"""Every few seconds: import the line lists queued by the web pages (large uploads), one after another.

An interval job like outbox_sender: scheduled passes are not recorded as JobRuns; each batch's claim
(callcenter/services/intake/queue.py claim_next) keeps two scheduler processes off the same file.
"""
from callcenter.services.intake import queue

NAME = "import_queue"
CONFIG_INTERVAL = "IMPORT_QUEUE_INTERVAL_SECONDS"


def run(now, user=None, limit=None):
    """Returns (imports finished or given back, counts by the status they ended in)."""
    counts = queue.run_queue(now=now, limit=limit)
    return sum(counts.values()), dict(counts)
