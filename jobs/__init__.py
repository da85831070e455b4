"""Scheduled jobs: one module per job, run through jobs.runner (which records each run), scheduled by
jobs.scheduler (APScheduler with a persistent job store)."""
