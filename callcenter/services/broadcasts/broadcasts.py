"""Awareness broadcasts' life: drafted (the audience counted, the message checked), approved by a second
person (then queued in the outbox, one message per phone, sent after everything else and only 09:00–21:00),
or cancelled (what has not gone out stays unsent). Every step is one transaction with its audit row."""
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, literal, select, update

from ... import scope
from ...clock import to_local, utcnow
from ...extensions import db
from ...models import (
    Block,
    Broadcast,
    BroadcastStatus,
    Facility,
    MessageKind,
    OutboundMessage,
    OutboxPriority,
    OutboxStatus,
    Role,
    Village,
)
from ...rules import broadcasts as rules
from ..checkins import sms_templates
from ..core import audit, settings
from ..core.errors import Conflict, Forbidden, Invalid
from ..core.tx import transaction
from ..outbox.enqueue import COLUMNS, insert_ignoring_duplicates
from .audience import Audience, recipients, size

DRAFTERS = {Role.CONTROL_ROOM, Role.NODAL_OFFICER, Role.ADMIN}
APPROVERS = {Role.NODAL_OFFICER, Role.ADMIN}


def _district_for(user, district_id):
    """The broadcast's district: the user's own; a state-level user's choice, or None: every district."""
    if user.district_id is not None and district_id not in (None, user.district_id):
        raise Forbidden(_l("You can send messages in your own district only."))
    chosen = user.district_id if user.district_id is not None else district_id
    return int(chosen) if chosen is not None else None


def _check_places(audience, district_id):
    """The block, village and facility named must be the broadcast's district's (else: as if unknown)."""
    def inside(stmt, column):
        return stmt if district_id is None else stmt.where(column == district_id)
    checks = ((audience.block_id, inside(select(Block.id).where(Block.id == audience.block_id), Block.district_id)),
              (audience.village_id, inside(select(Village.id).join(Block).where(Village.id == audience.village_id),
                                           Block.district_id)),
              (audience.facility_id, inside(select(Facility.id).where(Facility.id == audience.facility_id),
                                            Facility.district_id)))
    for given, stmt in checks:
        if given and db.session.scalar(stmt) is None:
            raise Invalid(_l("That place is not in this district."), {"audience": _l("Unknown place.")})


def check_message(template, variables):
    """The texts the template makes with these variables, by language; Invalid with the reason."""
    if template not in sms_templates.BROADCAST_TEMPLATES:
        raise Invalid(_l("Choose one of the registered broadcast messages."),
                      {"template": _l("Choose a registered message.")})
    try:
        return {lang: sms_templates.render(template, lang, **variables) for lang in ("hi", "en")}
    except ValueError:
        limit = sms_templates.MAX_VARIABLE_LENGTH
        raise Invalid(_l("Fill in every blank of the message, each at most %(n)s characters.", n=limit),
                      {"variables": _l("Each blank: at most %(n)s characters.", n=limit)}) from None


def _check_time(template, send_at):
    if sms_templates.TEMPLATES[template].promotional and not rules.in_promotional_hours(to_local(send_at).time()):
        start, end = (t.strftime("%H:%M") for t in rules.PROMOTIONAL_HOURS)
        raise Invalid(_l("A promotional message may be sent only between %(start)s and %(end)s (TRAI).",
                         start=start, end=end), {"send_at": _l("Between %(start)s and %(end)s.", start=start,
                                                               end=end)})


def segments(texts):
    """{language: SMS segments} of a broadcast's texts."""
    return {lang: rules.segments(text) for lang, text in texts.items()}


def preview(user, template, variables, audience_data, district_id=None, now=None):
    """What a draft would be: its texts, their SMS segments and cost, and the audience's size."""
    now = now or utcnow()
    district = _district_for(user, district_id)
    audience = Audience.from_dict(audience_data)
    _check_places(audience, district)
    texts = check_message(template, variables)
    people, phones = size(audience, district, now, settings.thresholds())
    parts = segments(texts)
    cost = phones * max(parts.values()) * current_app.config["SMS_SEGMENT_PAISE"] / 100
    return {"texts": texts, "segments": parts, "people": people, "phones": phones, "cost_rupees": round(cost, 2),
            "district_id": district, "audience": audience}


@transaction
def draft(user, title, template, variables, audience_data, send_at, district_id=None, now=None):
    if user.role not in DRAFTERS:
        raise Forbidden(_l("Only the control room and nodal officers draft broadcasts."))
    now = now or utcnow()
    if not (title or "").strip():
        raise Invalid(_l("Give the broadcast a title."), {"title": _l("Give the broadcast a title.")})
    send_at = max(send_at or now, now)
    seen = preview(user, template, variables, audience_data, district_id, now)
    _check_time(template, send_at)
    if not seen["phones"]:
        raise Invalid(_l("Nobody matches this audience."), {"audience": _l("Nobody matches this audience.")})
    broadcast = Broadcast(district_id=seen["district_id"], title=title.strip()[:120], template=template,
                          variables=dict(variables), audience=seen["audience"].to_dict(),
                          status=BroadcastStatus.DRAFT, people=seen["people"], phones=seen["phones"],
                          send_at=send_at, drafted_by_id=user.id, created_at=now)
    db.session.add(broadcast)
    db.session.flush()
    audit.record(user, "broadcast.draft", "broadcast", broadcast.id, broadcast.district_id, now=now,
                 template=template, audience=broadcast.audience, people=broadcast.people, phones=broadcast.phones)
    return broadcast


def get(broadcast_id, user, lock=False):
    """The broadcast if this user may see it (its district's staff, state-level users; a state-wide one only
    state-level users); NotFound otherwise."""
    return scope.get_scoped(Broadcast, broadcast_id, user, lock=lock)


@transaction
def approve(broadcast_id, user, now=None):
    """A second person approves: the messages are queued (idempotent: a second approval queues nothing)."""
    now = now or utcnow()
    broadcast = get(broadcast_id, user, lock=True)
    if broadcast.status != BroadcastStatus.DRAFT:
        raise Conflict(_l("This broadcast is not waiting for approval."))
    if not rules.may_approve(user.id, broadcast.drafted_by_id, user.role):
        raise Forbidden(_l("A broadcast is approved by a nodal officer other than the one who drafted it."))
    send_at = max(broadcast.send_at, now)
    _check_time(broadcast.template, send_at)
    queued = enqueue(broadcast, send_at, now)
    broadcast.status, broadcast.approved_by_id, broadcast.approved_at = BroadcastStatus.QUEUED, user.id, now
    broadcast.phones, broadcast.send_at = queued, send_at
    audit.record(user, "broadcast.approve", "broadcast", broadcast.id, broadcast.district_id, now=now,
                 drafted_by=broadcast.drafted_by_id, audience=broadcast.audience, phones=queued)
    return broadcast


def enqueue(broadcast, send_at, now):
    """One outbox row per phone of the audience (INSERT … SELECT, keyed by broadcast and phone: run twice, it
    adds nothing). Returns how many rows this call added."""
    texts = check_message(broadcast.template, broadcast.variables)
    rows = recipients(Audience.from_dict(broadcast.audience), broadcast.district_id, now,
                      settings.thresholds()).subquery()
    body = case((rows.c.language == "en", literal(texts["en"])), else_=literal(texts["hi"]))
    select_rows = select(
        literal(f"broadcast:{broadcast.id}:") + rows.c.phone, rows.c.patient_id, literal(MessageKind.SMS.value),
        rows.c.phone, literal(broadcast.template), literal(broadcast.variables, OutboundMessage.params.type),
        case((rows.c.language == "en", literal("en")), else_=literal("hi")), body,
        literal(OutboxStatus.QUEUED.value), literal(int(OutboxPriority.BROADCAST)), literal(0), literal(send_at),
        literal(""), literal(now), literal(broadcast.id)).where(rows.c.phone.is_not(None))  # (SQLite: a WHERE
    # before ON CONFLICT, or it reads ON as a join's)
    stmt = insert_ignoring_duplicates().from_select([*COLUMNS, "broadcast_id"], select_rows)
    return db.session.execute(stmt, execution_options={"preserve_rowcount": True}).rowcount


@transaction
def cancel(broadcast_id, user, now=None):
    """Before approval, or while its messages wait: those not yet handed over are cancelled."""
    now = now or utcnow()
    broadcast = get(broadcast_id, user, lock=True)
    if user.role not in DRAFTERS:
        raise Forbidden(_l("Only the control room and nodal officers cancel broadcasts."))
    if broadcast.status == BroadcastStatus.CANCELLED:
        return broadcast
    stopped = db.session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.broadcast_id == broadcast.id, OutboundMessage.status == OutboxStatus.QUEUED)
        .values(status=OutboxStatus.CANCELLED, status_at=now, last_error="broadcast cancelled")
        .execution_options(synchronize_session=False), execution_options={"preserve_rowcount": True}).rowcount
    broadcast.status, broadcast.cancelled_by_id, broadcast.cancelled_at = BroadcastStatus.CANCELLED, user.id, now
    audit.record(user, "broadcast.cancel", "broadcast", broadcast.id, broadcast.district_id, now=now,
                 unsent=stopped)
    return broadcast


def progress(broadcast):
    """{outbox status: count} of the broadcast's messages."""
    rows = db.session.execute(select(OutboundMessage.status, func.count())
                              .where(OutboundMessage.broadcast_id == broadcast.id)
                              .group_by(OutboundMessage.status)).all()
    return {status: count for status, count in rows}


def failures(broadcast, limit=5):
    """[(reason, count)] of the broadcast's messages that failed or were cancelled, commonest first."""
    count = func.count().label("n")
    return db.session.execute(
        select(OutboundMessage.last_error, count)
        .where(OutboundMessage.broadcast_id == broadcast.id,
               OutboundMessage.status.in_([OutboxStatus.FAILED, OutboxStatus.CANCELLED]))
        .group_by(OutboundMessage.last_error).order_by(count.desc()).limit(limit)).all()


def listed(user, limit=50):
    stmt = select(Broadcast).order_by(Broadcast.created_at.desc(), Broadcast.id.desc()).limit(limit)
    return db.session.scalars(scope.scoped(stmt, Broadcast, user)).all()
