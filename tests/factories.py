"""Small make_* helpers that build test data directly (no fixture files)."""
import itertools
from datetime import timedelta

from flask import current_app

from callcenter.clock import local_date, utcnow
from callcenter.extensions import db
from callcenter.models import (
    Block,
    CallAttempt,
    CallTask,
    CheckIn,
    District,
    Facility,
    Patient,
    TaskStatus,
    User,
    Village,
)
from callcenter.rules.identity import name_key

PASSWORD = "correct-horse-battery"
# Users of roles that need two-factor sign-in are made enrolled with this secret (tests/conftest.py
# two_factor_code computes their current code, as their phone would).
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
_seq = itertools.count(1)


def make_district(name=None, with_places=True):
    n = next(_seq)
    district = District(name=name or f"District {n}", state="Chhattisgarh")
    db.session.add(district)
    if with_places:
        block = Block(district=district, name=f"Block {n}")
        db.session.add_all([
            block,
            Village(block=block, name=f"Village {n}"),
            Facility(district=district, name=f"Hospital {n}", kind="hospital", beds_general=10, beds_oxygen=5,
                     beds_icu=2),
            Facility(district=district, name=f"Care centre {n}", kind="ccc", beds_general=50),
        ])
    db.session.commit()
    return district


def facility(district, kind):
    return db.session.scalar(db.select(Facility).where(Facility.district_id == district.id, Facility.kind == kind))


def village(district):
    return db.session.scalar(db.select(Village).join(Block).where(Block.district_id == district.id))


def make_user(role="volunteer", district=None, username=None, password=PASSWORD, language="en", enrolled=None):
    """A user; `enrolled` (default: when the role requires it) turns two-factor sign-in on with TOTP_SECRET."""
    user = User(username=username or f"{role}{next(_seq)}", role=role, full_name=f"Test {role}",
                district_id=district.id if district else None, language=language)
    user.set_password(password)
    if enrolled if enrolled is not None else role in current_app.config["TWO_FACTOR_REQUIRED_ROLES"]:
        user.totp_secret, user.totp_enabled_at = TOTP_SECRET, utcnow()
    db.session.add(user)
    db.session.commit()
    return user


def phone(n=None):
    return f"+9198{(n if n is not None else next(_seq)):08d}"


def make_patient(district, name=None, setting="home", age=35, comorbidities="", phone_number=None, **extra):
    name = name or f"Patient {next(_seq)}"
    fac = None if setting == "home" else facility(district, setting)
    today = local_date()
    patient = Patient(district_id=district.id, name=name, name_key=name_key(name), age=age,
                      sex=extra.pop("sex", "female"),
                      phone=phone_number or phone(), setting=setting, facility_id=fac.id if fac else None,
                      positive_date=extra.pop("positive_date", today - timedelta(days=2)),
                      comorbidities=comorbidities, language="en",
                      status=extra.pop("status", "active"), created_at=extra.pop("created_at", utcnow()), **extra)
    db.session.add(patient)
    db.session.commit()
    return patient


def make_task(patient, priority=3, due_at=None, status=TaskStatus.PENDING, slot=1, day=None, **extra):
    now = utcnow()
    task = CallTask(patient_id=patient.id, district_id=patient.district_id, setting=patient.setting,
                    task_date=day or local_date(now), slot=slot, due_at=due_at or now - timedelta(minutes=1),
                    priority=priority, status=status, created_at=now,
                    last_contact_at=extra.pop("last_contact_at", patient.created_at), **extra)
    db.session.add(task)
    db.session.commit()
    return task


def make_attempt(patient, user, at, outcome="connected", task=None, **fields):
    """A call attempt recorded at `at` (naive UTC), with a done task of that day if none is given."""
    task = task or make_task(patient, day=local_date(at), status=TaskStatus.DONE, slot=next(_seq) + 10)
    attempt = CallAttempt(task_id=task.id, patient_id=patient.id, user_id=user.id, submission_key=f"f{next(_seq)}",
                          outcome=outcome, created_at=at, **fields)
    db.session.add(attempt)
    db.session.commit()
    return attempt


def make_checkin(patient, at, channel="sms", **fields):
    checkin = CheckIn(patient_id=patient.id, channel=channel, at=at, **fields)
    db.session.add(checkin)
    db.session.commit()
    return checkin
