"""The IVR check-in call, one step per webhook: feeling → SpO2 → temperature → need.

State lives in IvrCall (unique CallSid). Each answer moves the call on with a compare-and-set UPDATE
(step and retry count must still be what the prompt was for), so a webhook Twilio repeats is answered
with the current prompt and recorded once. A wrong or missing answer is asked again once; a second one
ends the call politely and queues a volunteer's call. A low SpO2 ends the call at once: the check-in
(and its emergency) is recorded before the patient can hang up.
"""
from dataclasses import dataclass

from sqlalchemy import bindparam, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from ...checkins import texts
from ...clock import utcnow
from ...extensions import db
from ...models import IvrCall, MessageKind, OutboundMessage, Patient
from ...rules.replies.keys import InvalidKeys, ivr_feeling, ivr_need, ivr_spo2, ivr_temperature
from ...rules.routing import spo2_too_low
from ..core import audit, settings
from .checkins import Report, outcome, queue_volunteer_call, record_checkin
from .inbound import identify, normalise_phone, senders

STEPS = ("feeling", "spo2", "temperature", "need")
PARSERS = {"feeling": ivr_feeling, "spo2": ivr_spo2,
           "temperature": ivr_temperature, "need": ivr_need}
IN_PROGRESS, COMPLETED, GAVE_UP, UNKNOWN_CALLER = "in_progress", "completed", "gave_up", "unknown_caller"
MAX_RETRIES = 1  # asked again once


@dataclass
class Turn:
    """What to say next: `ask` a step (with its retry count in the action URL), or `end` with closing words."""
    language: str
    ask: str | None = None
    attempt: int = 0
    say_first: tuple = ()  # text keys spoken before the question (greeting, "that was not valid")
    end: str | None = None


def _turn(call, say_first=()):
    if call.status == IN_PROGRESS:
        return Turn(call.language, ask=call.step, attempt=call.retries, say_first=say_first)
    return Turn(call.language, end=(call.answers or {}).get("end") or GAVE_UP)


def _by_sid(call_sid):
    return db.session.scalar(_BY_SID, {"sid": call_sid})


_BY_SID = db.select(IvrCall).where(IvrCall.call_sid == bindparam("sid"))  # built once (every step reads it)


def _patient_for(message_id, from_phone, to_phone, direction):
    """(patient, message): the outbound message named in the URL, else the number (for our outbound
    calls the patient is "To"; for a call they made, "From"). Never a guess between several patients."""
    message = None
    if message_id:
        message = db.session.get(OutboundMessage, message_id)
        # The message must be a call to this very number: a stale or wrong id falls back to the number.
        if message is not None and (message.kind != MessageKind.CALL or message.patient_id is None or
                                    normalise_phone(message.to_phone) != normalise_phone(to_phone)):
            message = None
    if message is not None:
        return db.session.get(Patient, message.patient_id), message
    phone = to_phone if (direction or "").startswith("outbound") else from_phone
    matches = senders(normalise_phone(phone))
    patient, shared = identify(matches)
    return (None if shared else patient), None


def start_call(call_sid, message_id=None, from_phone="", to_phone="", direction="", now=None):
    """The call is answered: its first prompt (or, for a call Twilio repeats, the prompt it is at)."""
    now = now or utcnow()
    call = _by_sid(call_sid)
    if call is not None:
        return _turn(call)
    patient, message = _patient_for(message_id, from_phone, to_phone, direction)
    language = texts.language(message.language if message else patient.language if patient else None)
    call = IvrCall(call_sid=call_sid, patient_id=patient.id if patient else None,
                   message_id=message.id if message else None, language=language, step=STEPS[0], answers={},
                   retries=0, status=IN_PROGRESS if patient else UNKNOWN_CALLER, started_at=now)
    if patient is None:
        call.answers, call.ended_at = {"end": UNKNOWN_CALLER}, now
    turn = _turn(call, say_first=("greeting",))  # made before the commit, which would expire what it reads
    try:
        db.session.add(call)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return _turn(_by_sid(call_sid))
    return turn


def answer(call_sid, step, attempt, digits, now=None):
    """The patient's keys for `step` (asked for the `attempt`-th time)."""
    now = now or utcnow()
    call = _by_sid(call_sid)
    if call is None:
        return Turn(texts.DEFAULT, end=GAVE_UP)  # a call we never started: end it, record nothing
    if call.status != IN_PROGRESS or step != call.step or attempt != call.retries:
        return _turn(call)  # a repeated or stale webhook: say where the call is, record nothing
    language = call.language  # read now: the commit below expires it
    try:
        value = PARSERS[step](digits or "")
    except InvalidKeys:
        return _invalid(call, now)
    answers = {**(call.answers or {}), step: value}
    low_spo2 = step == "spo2" and value is not None and spo2_too_low(value, settings.thresholds())
    following = STEPS.index(step) + 1
    if following < len(STEPS) and not low_spo2:
        if not _advance(call, step, attempt, step=STEPS[following], retries=0, answers=answers):
            return _turn(_reload(call))
        db.session.commit()
        return Turn(language, ask=STEPS[following], attempt=0)
    return _finish(call, step, attempt, answers, now)


def _advance(call, at_step, at_attempt, **values):
    """Compare-and-set: only the request that finds the call where its prompt left it moves it on. The call in
    the session takes the new values too, as committed ones, so nothing needs reading again. A Core statement
    built once (the SET clause from the values' names): the session has nothing to flush here (the call was only
    read), so the ORM's UPDATE machinery would add only Python."""
    moved = db.session.connection().execute(
        _ADVANCE, {"at_id": call.id, "at_step": at_step, "at_retries": at_attempt, **values}).rowcount
    if not moved:
        db.session.rollback()
        return False
    for key, value in values.items():
        set_committed_value(call, key, value)
    return True


_CALLS = IvrCall.__table__
_ADVANCE = update(_CALLS).where(_CALLS.c.id == bindparam("at_id"), _CALLS.c.step == bindparam("at_step"),
                                _CALLS.c.retries == bindparam("at_retries"), _CALLS.c.status == IN_PROGRESS)


def _reload(call):
    db.session.expire_all()
    return db.session.get(IvrCall, call.id)


def _invalid(call, now):
    step, attempt, language = call.step, call.retries, call.language
    if attempt < MAX_RETRIES:
        if not _advance(call, step, attempt, retries=attempt + 1):
            return _turn(_reload(call))
        db.session.commit()
        return Turn(language, ask=step, attempt=attempt + 1, say_first=("again",))
    answers = {**(call.answers or {}), "end": GAVE_UP}
    if not _advance(call, step, attempt, status=GAVE_UP, answers=answers, ended_at=now):
        return _turn(_reload(call))
    patient = db.session.get(Patient, call.patient_id)
    report = _report(answers)
    try:
        if report.feeling_ok is not None or report.spo2 is not None or report.temperature_f is not None:
            # What the patient did answer counts (a fever, say); a volunteer calls for the rest.
            record_checkin(patient, "ivr", report, now=now, attach=[call], volunteer_call="ivr_gave_up")
        else:
            queued = queue_volunteer_call(patient, "ivr_gave_up", now)
            audit.record(None, "ivr.gave_up", "ivr_call", call.id, patient.district_id, now=now, queued=queued)
            db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return Turn(language, end=GAVE_UP)


def _finish(call, step, attempt, answers, now):
    report = _report(answers)
    end = outcome(report)
    answers = {**answers, "end": end}
    language = call.language
    if not _advance(call, step, attempt, status=COMPLETED, step="done", answers=answers, ended_at=now):
        return _turn(_reload(call))
    record_checkin(db.session.get(Patient, call.patient_id), "ivr", report, now=now, attach=[call])  # commits
    return Turn(language, end=end)


def _report(answers):
    need = answers.get("need")
    return Report(feeling_ok=answers.get("feeling"), spo2=answers.get("spo2"),
                  temperature_f=answers.get("temperature"), needs=(need,) if need else (),
                  raw="IVR: " + ", ".join(f"{k}={v}" for k, v in answers.items() if k in STEPS))


# ── Providers whose flow asks the question in one request and sends the digits in another (Exotel's Gather and
# Passthru applets): the answer names no step, so the step it answers is the one last prompted. A prompt served
# is remembered on the call; an answer is taken only while that prompt is still the call's, so a retried answer
# arriving after the call moved on is not read as the answer to the next question.

PROMPT = "_prompt"


def prompt_served(call_sid, turn):
    """Remember that `turn`'s question was just put to the caller (before the provider gathers the digits)."""
    if turn.ask is None:
        return
    db.session.execute(update(IvrCall).where(IvrCall.call_sid == call_sid, IvrCall.status == IN_PROGRESS)
                       .values(answers=_with_prompt(call_sid, [turn.ask, turn.attempt]))
                       .execution_options(synchronize_session=False))
    db.session.commit()


def _with_prompt(call_sid, prompt):
    call = _by_sid(call_sid)
    return {**((call.answers if call else None) or {}), PROMPT: prompt}


def answer_prompted(call_sid, digits, now=None):
    """The caller's digits for the question last prompted; a repeat (no prompt outstanding) records nothing and
    returns where the call is."""
    call = _by_sid(call_sid)
    if call is None:
        return Turn(texts.DEFAULT, end=GAVE_UP)
    prompt = (call.answers or {}).get(PROMPT)
    if call.status != IN_PROGRESS or prompt != [call.step, call.retries]:
        return _turn(call)
    return answer(call_sid, call.step, call.retries, digits, now=now)
