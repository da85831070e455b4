"""Call tasks (one patient, one day, one slot) and the attempts made on them."""
import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, event, select, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .patients import Patient
from .users import User


class TaskStatus(enum.StrEnum):
    PENDING = "pending"          # waiting in a queue (due_at says from when)
    CLAIMED = "claimed"          # a volunteer has it on screen
    DONE = "done"                # the patient was reached and the call recorded
    UNREACHABLE = "unreachable"  # all attempts for the day failed
    MISSED = "missed"            # the day ended before anyone reached the patient
    CANCELLED = "cancelled"      # follow-up ended (discharge, death, wrong number …)


TASK_TRANSITIONS = {
    TaskStatus.PENDING: {TaskStatus.CLAIMED, TaskStatus.CANCELLED, TaskStatus.MISSED},
    TaskStatus.CLAIMED: {TaskStatus.PENDING, TaskStatus.DONE, TaskStatus.UNREACHABLE, TaskStatus.CANCELLED,
                         TaskStatus.MISSED},
    TaskStatus.DONE: set(),
    TaskStatus.UNREACHABLE: set(),
    TaskStatus.MISSED: set(),
    TaskStatus.CANCELLED: set(),
}
OPEN_TASK_STATUSES = (TaskStatus.PENDING, TaskStatus.CLAIMED)
# A volunteer's task still open (the statuses as literals, as ix_call_task_open's predicate had them until
# migration 0023; the daily build's close of earlier days reads ix_call_task_status_day with them).
OPEN_VOLUNTEER_TASK = f"status IN ({', '.join(repr(s.value) for s in OPEN_TASK_STATUSES)}) AND desk IS NULL"


class Outcome(enum.StrEnum):
    CONNECTED = "connected"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    SWITCHED_OFF = "switched_off"
    WRONG_NUMBER = "wrong_number"
    CALL_BACK_LATER = "call_back_later"


class CallTask(db.Model):
    __table_args__ = (
        UniqueConstraint("patient_id", "task_date", "slot", name="uq_call_task_patient_day_slot"),
        # The queue's "next most urgent due task" scan.
        Index("ix_call_task_queue", "district_id", "status", "priority", "last_contact_at", "due_at"),
        # The day's tasks by status, and the overdue ones, from the index alone (the dashboard, which names the
        # statuses it counts); patient_id rides along (PostgreSQL) for the day's unreachable patients. Status
        # first: the daily build closes earlier days' open tasks (status IN open AND task_date < day) reading
        # only those, without an index of open tasks that every new task was also written to (migration 0023).
        Index("ix_call_task_status_day", "status", "task_date", "due_at", postgresql_include=["patient_id"]),
        # Only claimed tasks have a claimer: the day's new (unclaimed) tasks are not written to this index.
        Index("ix_call_task_claimed_by_id", "claimed_by_id", sqlite_where=text("claimed_by_id IS NOT NULL"),
              postgresql_where=text("claimed_by_id IS NOT NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    # No index of its own: uq_call_task_patient_day_slot starts with patient_id and serves its look-ups.
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    # A copy of the patient's district (the queue's scope), written by the code that makes tasks. No foreign
    # key: its check ran for every one of the ~390,000 rows of a day's list and was a third of the build's
    # time (docs/PERFORMANCE.md). The patient's district has its foreign key, and districts are never deleted.
    district_id: Mapped[int]
    setting: Mapped[str] = mapped_column(String(10))  # copied from the patient: the queue it sits in
    task_date: Mapped[date]
    slot: Mapped[int] = mapped_column(default=1)
    due_at: Mapped[datetime]
    priority: Mapped[int]  # lower is more urgent; see rules/policy.py
    # The patient's last contact when the task was made: within a priority, longest since contact first.
    last_contact_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(12), default=TaskStatus.PENDING)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    claimed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_outcome: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(40), default="daily")
    # None: a volunteer's call. A desk ("doctor", "counsellor"): a follow-up that desk's staff make
    # themselves; volunteers' queues never offer it.
    desk: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]

    patient: Mapped[Patient] = relationship()
    claimed_by: Mapped[User | None] = relationship()


class CallAttempt(db.Model):
    # A day's attempts counted per volunteer and outcome, with handling time, from the index alone (dashboard);
    # patient_id rides along (PostgreSQL) for a district's or block's calls.
    __table_args__ = (Index("ix_call_attempt_day", "created_at", "user_id", "outcome", "started_at",
                            postgresql_include=["patient_id"]),
                      # The same for one district (a district's dashboard), without reading its patients.
                      Index("ix_call_attempt_district_day", "district_id", "created_at", "user_id", "outcome",
                            "started_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("call_task.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    # A copy of the patient's district (as call_task.district_id, and no foreign key for the same reason):
    # a district's calls are counted from this table alone. Set by every writer; set_district() below
    # fills it from the patient for any other.
    district_id: Mapped[int]
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    # A key minted with the form: the same submission arriving twice records one attempt.
    submission_key: Mapped[str] = mapped_column(String(64), unique=True)
    outcome: Mapped[str] = mapped_column(String(20))
    temperature_f: Mapped[float | None]
    spo2: Mapped[int | None]
    symptoms: Mapped[str] = mapped_column(String(200), default="")  # comma-separated Symptom values
    notes: Mapped[str] = mapped_column(Text, default="")
    callback_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    created_at: Mapped[datetime]  # indexed first in ix_call_attempt_day

    task: Mapped[CallTask] = relationship()
    patient: Mapped[Patient] = relationship()
    user: Mapped[User] = relationship()
    needs: Mapped[list["Need"]] = relationship(back_populates="attempt")

    @property
    def symptom_list(self):
        return [s for s in self.symptoms.split(",") if s]


class CheckIn(db.Model):
    """A patient's self-report (SMS, IVR or the link form)."""
    # A district's check-ins of a day, from the index alone (the district's dashboard).
    __table_args__ = (Index("ix_check_in_district_at", "district_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    district_id: Mapped[int]  # a copy of the patient's district, as on call_attempt
    channel: Mapped[str] = mapped_column(String(10))
    at: Mapped[datetime] = mapped_column(index=True)
    feeling_ok: Mapped[bool | None]
    temperature_f: Mapped[float | None]
    spo2: Mapped[int | None]
    symptoms: Mapped[str] = mapped_column(String(200), default="", server_default="")  # Symptom values, comma-separated
    raw: Mapped[str] = mapped_column(Text, default="")

    patient: Mapped[Patient] = relationship()
    needs: Mapped[list["Need"]] = relationship(back_populates="checkin")


class Need(db.Model):
    """One thing a patient asked for, from a call or a check-in, and the escalation that answers it."""
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("call_attempt.id"), index=True)
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey("check_in.id"), index=True)
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalation.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(index=True)  # the dashboard's needs raised in a period

    attempt: Mapped[CallAttempt | None] = relationship(back_populates="needs")
    checkin: Mapped[CheckIn | None] = relationship(back_populates="needs")


class BridgedCall(db.Model):
    """Click-to-call: the provider rang a user's own phone and bridged it to a patient behind the centre's number
    (services/calls/bridges.py). The status callback writes the real outcome and duration once."""
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("call_task.id"), index=True)
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalation.id"))
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("call_attempt.id"))  # the attempt it was recorded as
    provider: Mapped[str] = mapped_column(String(20))
    provider_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="requested")  # requested, ringing, or the provider's end
    outcome: Mapped[str | None] = mapped_column(String(20))  # an attempt outcome (Outcome), once it ended
    duration_seconds: Mapped[int | None]
    recording_url: Mapped[str] = mapped_column(String(500), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    requested_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]

    patient: Mapped[Patient] = relationship()


@event.listens_for(CallAttempt, "before_insert")
@event.listens_for(CheckIn, "before_insert")
def set_district(mapper, connection, target):
    """The patient's district, for a writer that did not copy it (the app's writers do: no extra query)."""
    if target.district_id is None:
        target.district_id = connection.scalar(select(Patient.district_id).where(Patient.id == target.patient_id))
