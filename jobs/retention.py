"""Every night (02:30): anonymise patients whose follow-up ended more than `retention_days` ago and delete
messages and import rows older than that (callcenter/services/records/retention.py). Idempotent and resumable:
each batch commits what it did, so a second run, or a run after a killed one, does only what is left."""
from callcenter.services.records import retention

NAME = "retention"
CONFIG_TIME = "RETENTION_TIME"


def run(now, user=None, days=None, **options):
    """Returns (rows changed or deleted, {kind: rows, "days": the limit used}). `options`: the service's batch
    size and progress hook (the bench)."""
    days = days if days is not None else retention.retention_days()
    counts = retention.run(now, days=days, **options)
    return sum(counts.values()), {**counts, "days": days}
