"""What the database says after a load run, against what the volunteers were told.

- double holds: two volunteers holding the same call, or calls of the same patient, at the same time. A hold
  runs from the claim (audit `task.claim`) to the holder's attempt on it or release (or the claim timeout).
- tasks attempted by two volunteers (a run shorter than the retry delay of a failed call, 30 minutes, has none
  legitimately).
- attempts lost: a save the app answered as saved whose attempt (by its submission key) is not in the database.
- saved, answer lost: attempts in the database whose save the volunteer never saw succeed (a retry would
  have answered "already saved"; worth knowing after a fault, never a loss).
"""
from collections import defaultdict
from datetime import timedelta

from sqlalchemy import create_engine, text

from .databases import normalized

CLAIM_TIMEOUT = timedelta(minutes=15)  # the claim_timeout_minutes setting's default


def _holds(conn, since):
    """[(task_id, patient_id, user_id, start, end)] for every claim since `since`."""
    claims = conn.execute(text(
        "SELECT a.entity_id, t.patient_id, a.user_id, a.at FROM audit_log a JOIN call_task t ON t.id = a.entity_id "
        "WHERE a.action = 'task.claim' AND a.at >= :since"), {"since": since}).all()
    ends = defaultdict(list)  # (task, user) -> times the user's hold of it ended
    for task_id, user_id, at in conn.execute(text(
            "SELECT task_id, user_id, created_at FROM call_attempt WHERE created_at >= :since "
            "UNION ALL SELECT entity_id, user_id, at FROM audit_log WHERE action = 'task.release' AND at >= :since"),
            {"since": since}):
        ends[(task_id, user_id)].append(at)
    holds = []
    for task_id, patient_id, user_id, start in claims:
        after = [t for t in ends[(task_id, user_id)] if t >= start]
        holds.append((task_id, patient_id, user_id, start, min(after) if after else start + CLAIM_TIMEOUT))
    return holds


def _overlaps(holds, key):
    """Pairs of holds by different users on the same key (task or patient) that overlap in time."""
    by_key = defaultdict(list)
    for hold in holds:
        by_key[hold[key]].append(hold)
    found = 0
    for group in by_key.values():
        group.sort(key=lambda h: h[3])
        for i, first in enumerate(group):
            for second in group[i + 1:]:
                if second[3] >= first[4]:
                    break
                if second[2] != first[2]:
                    found += 1
    return found


def check(database_url, since, record):
    """The figures for one run (a dict)."""
    engine = create_engine(normalized(database_url))
    try:
        with engine.connect() as conn:
            holds = _holds(conn, since)
            attempts = dict(conn.execute(text(
                "SELECT submission_key, user_id FROM call_attempt WHERE created_at >= :since"),
                {"since": since}).all())
            two_volunteers = conn.execute(text(
                "SELECT count(*) FROM (SELECT task_id FROM call_attempt WHERE created_at >= :since "
                "GROUP BY task_id HAVING count(DISTINCT user_id) > 1) AS t"), {"since": since}).scalar()
    finally:
        engine.dispose()
    acknowledged = {key for _user, _task, key, _seconds in record.saves}
    handed = defaultdict(set)
    for username, task_id, _started, _seconds in record.claims:
        handed[task_id].add(username)
    return {
        "claims in database": len(holds),
        "double holds (task)": _overlaps(holds, 0),
        "double holds (patient)": _overlaps(holds, 1),
        "tasks handed to two volunteers": sum(1 for users in handed.values() if len(users) > 1),
        "tasks attempted by two volunteers": two_volunteers,
        "attempts acknowledged": len(acknowledged),
        "attempts in database": len(attempts),
        "attempts lost": len(acknowledged - attempts.keys()),
        "saved, answer lost": len(attempts.keys() - acknowledged),
    }


def must_be_zero(figures):
    """The figures that fail a run when not 0."""
    keys = ("double holds (task)", "double holds (patient)", "tasks handed to two volunteers",
            "tasks attempted by two volunteers", "attempts lost")
    return {k: figures[k] for k in keys if figures.get(k)}
