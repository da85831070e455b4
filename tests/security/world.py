"""Two districts with one of everything a route can name by id, and users of every role to ask with.

`own` is the district the district-level users work in; `other` is a district none of them may reach. Its
patient has a name and a phone number that no answer to an `own` user may contain.
"""
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from callcenter.clock import local_date, utcnow
from callcenter.extensions import db
from callcenter.models import (
    Broadcast,
    CheckinLink,
    DischargeReview,
    ImportBatch,
    InboundMessage,
    OutboundMessage,
    QueuePause,
    Role,
    TaskStatus,
    User,
    VillageContact,
)
from callcenter.models import District as DistrictModel
from callcenter.services.desks import escalations

from ..factories import facility, make_district, make_patient, make_task, make_user, village


@dataclass(frozen=True)
class District:
    """One district's records by id (plain values: the world outlives the sessions that made it)."""
    district_id: int
    district_name: str
    patient_id: int
    patient2_id: int
    patient_phone: str
    task_id: int
    esc_id: int           # an acknowledged control-room escalation
    referral_id: int      # an open escalation on the doctor's desk
    field_visit_id: int   # an open field-visit escalation
    review_id: int
    village_id: int
    contact_id: int
    facility_id: int
    ccc_id: int
    batch_id: int
    batch_hash: str
    inbound_id: int
    outbound_id: int
    pause_id: int
    link_token: str
    volunteer_id: int     # holds the task
    control_room_id: int  # owns the escalation
    broadcast_id: int     # a draft broadcast, drafted by the control room
    secret_markers: tuple = ()  # what must never reach another district's users


def _district(label):
    district = make_district(f"{label} district")
    patient = make_patient(district, name=f"{label}Patient Naam", phone_number=_phone())
    patient2 = make_patient(district, name=f"{label}Family Sadasya", phone_number=patient.phone)
    volunteer = make_user("volunteer", district)
    control_room = make_user("control_room", district)
    task = make_task(patient, status=TaskStatus.CLAIMED, claimed_by_id=volunteer.id, claimed_at=utcnow())
    esc = escalations.raise_escalation(patient, "ambulance", "control_room", "emergency", "call")
    referral = escalations.raise_escalation(patient, "medical_advice", "doctor", "urgent", "call")
    field_visit = escalations.raise_escalation(patient2, "field_visit", "control_room", "urgent", "job")
    db.session.commit()
    escalations.acknowledge(esc.id, control_room)
    now = utcnow()
    review = DischargeReview(patient_id=patient2.id, district_id=district.id, flagged_on=local_date(now),
                             flagged_at=now)
    place = village(district)
    contact = VillageContact(village_id=place.id, name=f"{label}Sarpanch Ji", role="sarpanch", phone=_phone(),
                             created_at=now)
    batch = ImportBatch(district_id=district.id, user_id=None, filename="list.csv", file_hash=secrets.token_hex(32),
                        source="web", status="dry_run", dry_run=True, started_at=now, finished_at=now)
    inbound = InboundMessage(provider_sid=f"SM{secrets.token_hex(8)}", from_phone=patient.phone, to_phone="console",
                             body=f"{label} kuch samajh nahi", received_at=now, patient_id=patient.id,
                             status="not_understood")
    outbound = OutboundMessage(idempotency_key=f"matrix:{label}", patient_id=patient.id, kind="sms",
                               to_phone=patient.phone, template="checkin_link", language="hi", status="failed",
                               next_attempt_at=now, created_at=now, last_error="test")
    pause = QueuePause(district_id=district.id, setting="ccc", reason="matrix", paused_at=now)
    token = secrets.token_urlsafe(16)
    link = CheckinLink(token_hash=hashlib.sha256(token.encode()).hexdigest(), patient_id=patient.id, created_at=now,
                       expires_at=now + timedelta(hours=12))
    broadcast = Broadcast(district_id=district.id, title=f"{label}Prasaran Sandesh", template="broadcast_helpline",
                          variables={"district": label, "what": "oxygen", "number": "0771-4000000", "hours": "24h"},
                          audience={"who": "patients"}, status="draft", people=2, phones=1, send_at=now,
                          drafted_by_id=control_room.id, created_at=now)
    db.session.add_all([review, contact, batch, inbound, outbound, pause, link, broadcast])
    db.session.commit()
    return District(
        district_id=district.id, district_name=district.name, patient_id=patient.id, patient2_id=patient2.id,
        patient_phone=patient.phone, task_id=task.id, esc_id=esc.id, referral_id=referral.id,
        field_visit_id=field_visit.id, review_id=review.id, village_id=place.id, contact_id=contact.id,
        facility_id=facility(district, "hospital").id, ccc_id=facility(district, "ccc").id, batch_id=batch.id,
        batch_hash=batch.file_hash, inbound_id=inbound.id, outbound_id=outbound.id, pause_id=pause.id,
        link_token=token, volunteer_id=volunteer.id, control_room_id=control_room.id, broadcast_id=broadcast.id,
        secret_markers=(patient.name, patient2.name, contact.name, patient.phone[3:], contact.phone[3:],
                        broadcast.title))


_numbers = iter(range(10_000_000, 99_999_999, 7919))


def _phone():
    return f"+9197{next(_numbers):08d}"


@dataclass(frozen=True)
class Identity:
    """Who asks: a role, at district level (in `own`) or state level, and how to sign in as them."""
    user_id: int
    username: str
    role: str
    district_id: int | None


@dataclass(frozen=True)
class World:
    own: District
    other: District
    users: dict  # (role, "district" | "state") → Identity; district users work in `own`


def build():
    """The world every matrix cell is asked in."""
    own = _district("Own")
    users = {}
    for role in Role:
        if role == Role.VOLUNTEER:
            user = db.session.get(User, own.volunteer_id)
        elif role == Role.CONTROL_ROOM:
            user = db.session.get(User, own.control_room_id)
        else:
            user = make_user(role, db.session.get(DistrictModel, own.district_id))
        users[(role, "district")] = user
        users[(role, "state")] = make_user(role, None)
    other = _district("Other")
    return World(own=own, other=other, users={key: Identity(u.id, u.username, u.role, u.district_id)
                                              for key, u in users.items()})
