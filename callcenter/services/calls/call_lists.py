"""Building a day's call list: set-based, idempotent, from the policy in rules/policy.py.

A few INSERT … SELECTs make every task of the day in one transaction, one statement per chunk of patient
ids (so what the database holds in memory for a statement does not grow with the state), never a loop of
rows through Python. They skip tasks that exist already, so a second run (a restart, a manual run, a
catch-up) creates nothing. On PostgreSQL every writer of a day's policy tasks first takes a
transaction-scoped advisory lock on that day, so two builds (or a build and an import) run one after the
other and the second sees the first's tasks; the unique (patient, day, slot) constraint stays the hard
guarantee (a race past the lock fails, it never duplicates). The flags the policy reads (high risk,
yesterday's warning signs, …) are SQL expressions here; tests/services/test_call_lists.py checks them
against the pure rules.

`add_tasks_for_patients` is the narrow form for patients who arrive during the day (a line-list import):
the same policy, only the slots still ahead of them.
"""
from datetime import datetime, time, timedelta

from flask import current_app
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    Table,
    and_,
    case,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    union,
    union_all,
    update,
)

from ...clock import local_to_utc, start_of_local_day, utcnow
from ...extensions import db
from ...models import (
    OPEN_ESCALATION_STATUSES,
    OPEN_VOLUNTEER_TASK,
    CallAttempt,
    CallTask,
    CheckIn,
    Escalation,
    Need,
    Patient,
    PatientStatus,
    Severity,
    TaskStatus,
)
from ...rules import priority
from ...rules.policy import MAX_CALLS_PER_DAY, PRIORITY_RULES
from ...rules.routing import WARNING_SYMPTOMS, spo2_too_low
from ..core import audit, settings
from ..core.tx import insert_ignoring_conflicts, is_postgres, transaction

TASK_COLUMNS = ["patient_id", "district_id", "setting", "task_date", "slot", "due_at", "priority",
                "last_contact_at", "status", "attempts", "reason", "created_at"]
# pg_advisory_xact_lock(CALL_LIST_LOCK, day.toordinal()): one writer of a day's policy tasks at a time.
# (The two-key form: it cannot collide with the one-key locks used elsewhere, e.g. outbox.SENDER_LOCK.)
CALL_LIST_LOCK = 0x434C5354  # "CLST"
UNIQUE_TASK = "uq_call_task_patient_day_slot"
# Patient ids per INSERT of the daily build: bounds the memory each statement needs (see build_call_list).
CHUNK_PATIENT_IDS = 50_000
EVENT_FLAGS = ("warning", "unwell", "emergency")


def slot_times(day):
    """Naive-UTC start of each call slot on `day` (morning, afternoon)."""
    return [local_to_utc(datetime.combine(day, time.fromisoformat(current_app.config[key])))
            for key in ("FIRST_SLOT_TIME", "SECOND_SLOT_TIME")]


def _lock_day(day):
    """On PostgreSQL, wait for any other writer of `day`'s policy tasks (the daily build, an import) to
    commit, and keep them waiting until this transaction ends. Taken before the INSERT, whose snapshot
    (READ COMMITTED: per statement) then includes everything the other writer made."""
    if is_postgres():
        db.session.execute(text("SELECT pg_advisory_xact_lock(:lock, :day)"),
                           {"lock": CALL_LIST_LOCK, "day": day.toordinal()})


def _has_warning_symptom(column):
    padded = literal(",") + column + literal(",")
    # Most calls note no symptom: the empty test first spares them the padding and the LIKEs (yesterday's
    # ~420,000 attempts are most of the flags' cost).
    return and_(column != "", or_(*[padded.like(f"%,{symptom},%") for symptom in sorted(WARNING_SYMPTOMS)]))


def _flag(condition):
    return case((condition, literal(1)), else_=literal(0))


def patient_events(day):
    """What the policy reads about patients as of the morning of `day`, one row per thing noted (a patient
    may have several): `unwell` = 1 for being unwell or unreached yesterday, `warning` = 1 if it was a
    warning sign, `emergency` = 1 for an open emergency escalation. One pass over each source (yesterday's
    attempts are the big one: ~420,000 rows for a state)."""
    th = settings.thresholds()
    start, end = start_of_local_day(day - timedelta(days=1)), start_of_local_day(day)
    # rules.routing.warning_signs in SQL: SpO2 below the limit (the same spo2_too_low), or a warning symptom …
    attempt_warning = or_(spo2_too_low(CallAttempt.spo2, th), _has_warning_symptom(CallAttempt.symptoms))
    checkin_warning = or_(spo2_too_low(CheckIn.spo2, th), _has_warning_symptom(CheckIn.symptoms))
    # … and services.checkins.Report.is_unwell for a check-in: not feeling well, any symptom, a fever
    # (a need it asked for is a Need row, read below).
    checkin_unwell = or_(checkin_warning, CheckIn.feeling_ok.is_(False), CheckIn.symptoms != "",
                         CheckIn.temperature_f >= th.fever_f)
    yes, no = literal(1), literal(0)
    return union_all(
        select(CallAttempt.patient_id, _flag(attempt_warning).label("warning"), yes.label("unwell"),
               no.label("emergency"))
        .where(CallAttempt.created_at >= start, CallAttempt.created_at < end,
               or_(attempt_warning, CallAttempt.temperature_f >= th.fever_f)),
        select(CheckIn.patient_id, _flag(checkin_warning), yes, no).where(
            CheckIn.at >= start, CheckIn.at < end, checkin_unwell),
        select(Need.patient_id, no, yes, no).where(Need.created_at >= start, Need.created_at < end),
        select(CallTask.patient_id, no, yes, no).where(
            CallTask.task_date == day - timedelta(days=1),
            CallTask.status.in_((TaskStatus.UNREACHABLE, TaskStatus.MISSED))),
        select(Escalation.patient_id, no, no, yes).where(
            Escalation.status.in_(OPEN_ESCALATION_STATUSES), Escalation.severity == Severity.EMERGENCY),
    )


def patient_flags(day):
    """patient_events(day) folded into one row per patient (warning, unwell, emergency: 1 or 0); patients
    with nothing noted have no row."""
    events = patient_events(day).subquery("events")
    return select(events.c.patient_id, *[func.max(events.c[name]).label(name) for name in EVENT_FLAGS]
                  ).group_by(events.c.patient_id)


def _flags_table():
    """A temporary table for patient_flags: worked out once per build (the chunks would each read yesterday
    again), looked up by patient."""
    return Table("call_list_flags", MetaData(), Column("patient_id", Integer, primary_key=True),
                 *[Column(name, Integer) for name in EVENT_FLAGS], prefixes=["TEMPORARY"])


def _task_rows(day, due_times, now, flags, district_id=None, patient_ids=None, id_range=None, reason="daily",
               now_slot=None):
    """The SELECT that yields one row per task to create.

    `flags`: patient_flags(day), as a subquery or the build's table of it. `id_range` (low, high): only patients
    with low <= id < high (the build's chunks).
    `now_slot` (for patients arriving during the day): the slot that is running at `now` (1 before the first
    slot starts). Each patient then gets that slot, or their last one if they get fewer calls, due at `now`,
    and the later slots they get at their times; the slots before it, whose time has passed, not at all.
    """
    th, policy = settings.thresholds(), settings.call_policy()
    flag = {"warning_yesterday": flags.c.warning == 1,
            "unwell_or_unreached_yesterday": flags.c.unwell == 1,
            "open_emergency": flags.c.emergency == 1}
    flag["high_risk"] = priority.high_risk(Patient.age, Patient.comorbidities != "", th)
    # Calls a day by (setting, risk), risk being "warning", else "high", else "normal": the flags are tested
    # first and the setting inside each branch, so a row evaluates each once (a flat CASE over the nine
    # cells worked the risk out again for every cell: a tenth of the build's SELECT).
    def calls_at(risk_class):
        return case(*[(Patient.setting == setting, literal(n))
                      for (setting, cell_risk), n in policy.calls_per_day.items() if cell_risk == risk_class],
                    else_=literal(1))
    calls = case((flag["warning_yesterday"], calls_at("warning")), (flag["high_risk"], calls_at("high")),
                 else_=calls_at("normal"))
    task_priority = case(*[(flag[name], literal(value)) for name, value in PRIORITY_RULES],
                         else_=literal(priority.ROUTINE))
    slots = union(*[select(literal(n).label("slot")) for n in range(1, MAX_CALLS_PER_DAY + 1)]).subquery("slots")
    slot_due = [(slots.c.slot == n, literal(t)) for n, t in enumerate(due_times, start=1)]
    first_slot = None
    if now_slot is not None:
        first_slot = case((calls < now_slot, calls), else_=literal(now_slot))  # least(calls, now_slot)
        slot_due.insert(0, (slots.c.slot == first_slot, literal(now)))
    due = case(*slot_due)

    rows = select(Patient.id, Patient.district_id, Patient.setting, literal(day), slots.c.slot, due, task_priority,
                  db.func.coalesce(Patient.last_contact_at, Patient.created_at),
                  literal(TaskStatus.PENDING.value), literal(0), literal(reason), literal(now))
    on_flags = [flags.c.patient_id == Patient.id]
    if id_range is not None:  # the chunk's flags only: a hash of a sixth of them per chunk, not all each time
        on_flags += [flags.c.patient_id >= id_range[0], flags.c.patient_id < id_range[1]]
    rows = (rows.select_from(Patient).outerjoin(flags, and_(*on_flags))
            .join(slots, slots.c.slot <= calls))  # after the flags: its condition reads them
    if first_slot is not None:
        rows = rows.where(slots.c.slot >= first_slot)
    rows = rows.where(Patient.status == PatientStatus.ACTIVE)
    # Only tasks not made yet: a second run reads the list but writes nothing.
    made = select(CallTask.id).where(CallTask.patient_id == Patient.id, CallTask.task_date == day,
                                     CallTask.slot == slots.c.slot)
    if district_id is not None:
        rows = rows.where(Patient.district_id == district_id)
    if patient_ids is not None:
        rows = rows.where(Patient.id.in_(patient_ids))
    if id_range is not None:
        low, high = id_range
        rows = rows.where(Patient.id >= low, Patient.id < high)
        made = made.where(CallTask.patient_id >= low, CallTask.patient_id < high)
    return rows.where(~made.exists())


def _close_statement(day, district_id, now):
    """Tasks of earlier days still open when a new day's list is built were missed: close them. A desk's
    follow-up (CallTask.desk) stays open, overdue on that desk's list, until the doctor or counsellor calls.
    Read through ix_call_task_status_day (status first: only open tasks), so the cost does not grow with the
    history kept."""
    stmt = (update(CallTask).where(CallTask.task_date < day, text(OPEN_VOLUNTEER_TASK))
            .values(status=TaskStatus.MISSED, closed_at=now, claimed_by_id=None)
            .execution_options(synchronize_session=False))
    if district_id is not None:
        stmt = stmt.where(CallTask.district_id == district_id)
    return stmt


def _close_earlier_days(day, district_id, now):
    return db.session.execute(_close_statement(day, district_id, now),
                              execution_options={"preserve_rowcount": True}).rowcount


def _tune_build_transaction():
    """jit off for this transaction (SET LOCAL): the plan's cost passes jit_above_cost, and compiling the
    big SELECT took 0.17-0.18 s for no faster execution (docs/PERFORMANCE.md)."""
    if is_postgres():
        db.session.execute(text("SET LOCAL jit = off"))


def _refresh_statistics():
    """The day's tasks are a fifth of call_task, all at once: without fresh statistics the planner still
    believes the day has no tasks, and later "not made yet" checks (an import, a repeated build) become
    nested loops over all of them. A sample of the table, well under a second; the autovacuum daemon
    would get to it only after the commit, later. (0.4 s for the state's list.)"""
    if is_postgres():
        db.session.execute(text("ANALYZE call_task"))


def _chunks(district_id):
    """(low, high) ranges of patient ids, CHUNK_PATIENT_IDS wide, covering the active patients."""
    stmt = select(func.min(Patient.id), func.max(Patient.id)).where(Patient.status == PatientStatus.ACTIVE)
    if district_id is not None:
        stmt = stmt.where(Patient.district_id == district_id)
    low, high = db.session.execute(stmt).one()
    if low is None:
        return []
    return [(start, start + CHUNK_PATIENT_IDS) for start in range(low, high + 1, CHUNK_PATIENT_IDS)]


def _write_flags(day):
    """patient_flags(day) into a temporary table (see _flags_table)."""
    table = _flags_table()
    connection = db.session.connection()
    table.drop(connection, checkfirst=True)  # left by a build that failed on this connection
    table.create(connection)
    db.session.execute(insert(table).from_select(["patient_id", *EVENT_FLAGS], patient_flags(day)))
    if is_postgres():
        db.session.execute(text(f"ANALYZE {table.name}"))  # autovacuum never sees temporary tables
    return table


def _build_insert():
    """The daily build's INSERT. PostgreSQL: a plain INSERT (the lock and NOT EXISTS leave nothing to conflict
    with, and a conflict that got past them fails the build instead of doubling a call); ON CONFLICT's look-up
    before each row was an eighth of the build's time. Elsewhere (SQLite in development) the clause stays."""
    return insert(CallTask) if is_postgres() else insert_ignoring_conflicts(CallTask)


@transaction
def build_call_list(day, now=None, district_id=None, user=None, due_at=None):
    """Create `day`'s tasks for every active patient (one or two slots each, by the policy).

    Returns {"created": n, "missed": m}. Tasks fall due at their slot's start; `due_at` moves the first
    slot (the demo uses it so that its calls are due at once).

    One transaction, one INSERT … SELECT per CHUNK_PATIENT_IDS patient ids: the list appears whole or not at
    all, and what a statement holds in memory (on PostgreSQL, a queued check per row and foreign key until
    the statement ends) is bounded by the chunk, not by the number of patients.
    """
    now = now or utcnow()
    due_times = slot_times(day)
    if due_at is not None:
        due_times[0] = due_at
    _lock_day(day)
    _tune_build_transaction()
    missed = _close_earlier_days(day, district_id, now)
    flags = _write_flags(day)
    insert_stmt = _build_insert()
    created = 0
    for id_range in _chunks(district_id):
        rows = _task_rows(day, due_times, now, flags, district_id=district_id, id_range=id_range)
        created += db.session.execute(insert_stmt.from_select(TASK_COLUMNS, rows),
                                      execution_options={"preserve_rowcount": True}).rowcount
    flags.drop(db.session.connection())
    if created:
        _refresh_statistics()
    audit.record(user, "call_list.build", "call_task", None, district_id, now=now, day=day.isoformat(),
                 created=created, missed=missed)
    return {"created": created, "missed": missed}


def add_tasks_for_patients(patient_ids, day, now, reason="new_patient"):
    """`day`'s calls for patients who arrive during it (registered or imported after the morning's list):
    the daily list's policy (how many calls, priority), only the tasks a patient does not have yet, and only
    the slots still ahead: at most one call due at `now` (the slot running now, or the first), then the
    later slots at their times. A patient added after the afternoon slot began gets one call, not two
    overdue ones.

    `patient_ids`: a list of ids or a SELECT of them. Part of the caller's transaction; on PostgreSQL it
    waits for a daily build of `day` running at the same moment (and holds it off until the caller commits).
    Returns how many tasks it made.
    """
    due_times = slot_times(day)
    now_slot = max(1, sum(1 for t in due_times if t <= now))
    _lock_day(day)
    flags = patient_flags(day).subquery("flags")
    rows = _task_rows(day, due_times, now, flags, patient_ids=patient_ids, reason=reason,
                      now_slot=now_slot)
    stmt = insert_ignoring_conflicts(CallTask, constraint=UNIQUE_TASK).from_select(TASK_COLUMNS, rows)
    return db.session.execute(stmt, execution_options={"preserve_rowcount": True}).rowcount
