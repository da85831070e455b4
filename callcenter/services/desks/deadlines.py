"""Response deadlines that bite: escalations still open past their respond_by are flagged and their
district's duty officer is alerted by SMS, again every `realert_minutes` until someone acknowledges.

The deadline itself is set when an escalation is raised (rules/deadlines.py through settings.deadline_rule(),
used by escalations.raise_escalation). Here, one pass of the deadline job (jobs/escalation_deadlines.py):

1. Breach: every OPEN escalation whose respond_by has passed and that is not yet flagged gets breached_at = now
   (once; kept for reports after it is acknowledged), audited "escalation.breach". A district without a duty
   phone still gets its breaches flagged and recorded; the dashboard says "no duty phone set".
2. Alert: every OPEN, breached escalation in a district with a duty phone whose last alert is at least
   `realert_minutes` old (or that was never alerted) gets alert_count + 1 and last_alert_at = now, audited
   "escalation.realert". Each district gets ONE SMS for the pass (how many, the most overdue one's kind and
   lateness), not one per escalation: a surge of hundreds of breaches must not send hundreds of texts a
   minute to one phone; the officer opens the control-room console for the list.

Both steps are single conditional UPDATEs (… RETURNING), so thousands of breaches are one statement each and
two passes racing each other cannot alert the same escalation twice: a row another pass has just alerted no
longer matches the WHERE clause when it is re-checked (on PostgreSQL an advisory lock also keeps passes to
one at a time). A second pass at the same `now` finds nothing to do, and the SMS's idempotency key (district
and pass time) refuses a duplicate anyway. Acknowledged, resolved or
cancelled escalations are no longer OPEN, so their re-alerts stop; breached_at stays.
"""
from collections import defaultdict
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, or_, select, update

from ... import scope
from ...clock import utcnow
from ...extensions import db
from ...models import AuditLog, District, Escalation, EscalationStatus
from ..checkins import sms_templates
from ..core import audit, settings
from ..core.errors import Invalid, NotFound
from ..core.tx import transaction, try_pass_lock
from ..outbox.enqueue import enqueue_sms
from ..records import patients

TEMPLATE = "escalation_overdue"
AUDIT_BATCH = 1000  # audit rows written per INSERT
PASS_LOCK = 0x53414D51  # PostgreSQL advisory lock: one deadline pass at a time ("SAMQ"; the sender's is "SAMP")

# The escalation kinds as the duty officer's SMS names them (≤ 30 characters each: a DLT variable).
KIND_WORDS = {
    "en": {"ambulance": "ambulance", "hospital_bed": "hospital bed", "oxygen": "oxygen",
           "warning_sign": "warning sign", "doctor": "doctor's advice", "counselling": "counselling",
           "medicine": "medicine", "food": "food/ration", "test": "test", "other": "other need",
           "field_visit": "field visit", "phone_check": "phone number check"},
    "hi": {"ambulance": "एम्बुलेंस", "hospital_bed": "अस्पताल बेड", "oxygen": "ऑक्सीजन",
           "warning_sign": "खतरे का लक्षण", "doctor": "डॉक्टर की सलाह", "counselling": "परामर्श",
           "medicine": "दवा", "food": "राशन", "test": "जाँच", "other": "अन्य ज़रूरत",
           "field_visit": "घर जाकर मिलना", "phone_check": "फ़ोन नंबर जाँच"},
}


def kind_word(kind, language):
    words = KIND_WORDS[sms_templates.language_of(language)]
    return words.get(kind, words["other"])


def _open_past_deadline(now):
    return (Escalation.status == EscalationStatus.OPEN, Escalation.respond_by.is_not(None),
            Escalation.respond_by < now)


def _has_duty_phone():
    return select(District.id).where(District.duty_phone.is_not(None), District.duty_phone != "")


def check(now=None, user=None):
    """One pass: flag new breaches, alert the duty officers. Commits. Returns counts:
    {"breached": newly flagged, "alerted": escalations alerted, "messages": SMS enqueued,
     "no_duty_phone": overdue open escalations in districts without a duty phone}."""
    now = now or utcnow()
    try:
        if not try_pass_lock(PASS_LOCK):
            db.session.rollback()
            return {"breached": 0, "alerted": 0, "messages": 0, "no_duty_phone": 0,
                    "skipped": "another pass is running"}
        breached = _flag_breaches(now, user)
        alerted, messages = _alert(now, user)
        no_phone = db.session.scalar(
            select(db.func.count()).select_from(Escalation)
            .where(*_open_past_deadline(now), Escalation.district_id.not_in(_has_duty_phone())))
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return {"breached": breached, "alerted": alerted, "messages": messages, "no_duty_phone": no_phone}



def _flag_breaches(now, user):
    rows = db.session.execute(
        update(Escalation)
        .where(*_open_past_deadline(now), Escalation.breached_at.is_(None))
        .values(breached_at=now)
        .returning(Escalation.id, Escalation.district_id, Escalation.kind, Escalation.severity,
                   Escalation.respond_by)
        .execution_options(synchronize_session=False)).all()
    _audit_many(user, "escalation.breach", now, [
        (r.id, r.district_id, {"kind": r.kind, "severity": r.severity, "respond_by": r.respond_by.isoformat(),
                               "late_minutes": _minutes(now - r.respond_by)}) for r in rows])
    return len(rows)


def _alert(now, user):
    due = or_(Escalation.last_alert_at.is_(None),
              Escalation.last_alert_at <= now - timedelta(minutes=settings.get("realert_minutes")))
    rows = db.session.execute(
        update(Escalation)
        .where(*_open_past_deadline(now), Escalation.breached_at.is_not(None), due,
               Escalation.district_id.in_(_has_duty_phone()))
        .values(alert_count=Escalation.alert_count + 1, last_alert_at=now)
        .returning(Escalation.id, Escalation.district_id, Escalation.kind, Escalation.respond_by,
                   Escalation.alert_count)
        .execution_options(synchronize_session=False)).all()
    if not rows:
        return 0, 0
    by_district = defaultdict(list)
    for r in rows:
        by_district[r.district_id].append(r)
    districts = {d.id: d for d in db.session.scalars(select(District).where(District.id.in_(by_district)))}
    language = sms_templates.language_of(current_app.config.get("DUTY_SMS_LANGUAGE"))
    messages, audits = 0, []
    for district_id, escs in sorted(by_district.items()):
        district = districts[district_id]
        worst = min(escs, key=lambda r: (r.respond_by, r.id))
        key = f"{TEMPLATE}:{district_id}:{now.isoformat(timespec='seconds')}"
        messages += enqueue_sms(
            key, district.duty_phone, TEMPLATE, language, now=now,
            district=district.name[:sms_templates.MAX_VARIABLE_LENGTH], count=len(escs),
            kind=kind_word(worst.kind, language), late=_minutes(now - worst.respond_by))
        audits += [(r.id, district_id, {"alert": r.alert_count, "to": district.duty_phone, "message_key": key})
                   for r in escs]
    _audit_many(user, "escalation.realert", now, audits)
    return len(rows), messages


def _audit_many(user, action, now, rows):
    """One audit record per (escalation id, district id, details), a batch per INSERT (as audit.record)."""
    user_id = getattr(user, "id", None)
    for start in range(0, len(rows), AUDIT_BATCH):
        db.session.execute(insert(AuditLog), [
            {"at": now, "user_id": user_id, "action": action, "entity": "escalation", "entity_id": esc_id,
             "district_id": district_id, "details": details}
            for esc_id, district_id, details in rows[start:start + AUDIT_BATCH]])


def _minutes(delta):
    return max(0, int(delta.total_seconds() // 60))


# ── The duty officer's phone ───────────────────────────────────────────────────────────────────────────

@transaction
def set_duty_phone(district_id, phone, user, now=None):
    """Set (or, with a blank, clear) a district's duty officer phone: an Indian mobile, stored E.164.
    A bad number is refused (Invalid) and the stored one stays."""
    now = now or utcnow()
    district = db.session.scalar(select(District).where(District.id == district_id).with_for_update())
    if district is None or district.id not in {d.id for d in scope.districts(user)}:
        raise NotFound(_l("Not found, or not in your district."))
    clean, errors = None, {}
    if (phone or "").strip():
        clean = patients.mobile(phone, errors, "duty_phone")
        if errors:
            raise Invalid(errors["duty_phone"], errors)
    if clean == district.duty_phone:
        return district
    old, district.duty_phone = district.duty_phone, clean
    audit.record(user, "district.duty_phone", "district", district.id, district.id, now=now, old=old, new=clean)
    return district

