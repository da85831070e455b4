"""Who a broadcast reaches: built from what Sampark knows, one message per phone (a household sharing a phone
gets one), never a patient who said STOP or whose number proved wrong, inside one district (or every district,
for a state-level officer).

An audience is stored with its broadcast as a plain dict (Audience.to_dict) and counted again when it is
queued, so the size an approver saw is the size of the definition, and what goes out is who matches then.
"""
from dataclasses import asdict, dataclass, fields
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, cast, func, literal, null, select

from ...extensions import db
from ...models import Block, Patient, PatientStatus, Setting, Village, VillageContact
from ...rules.priority import high_risk
from ...rules.routing import Thresholds
from ..core.errors import Invalid

WHO = ("patients", "recovered", "contacts")
MAX_RECOVERED_DAYS = 90


@dataclass(frozen=True)
class Audience:
    who: str = "patients"        # active patients, recently recovered patients, or village contacts
    setting: str | None = None   # patients: hospital, ccc, home
    block_id: int | None = None
    village_id: int | None = None
    facility_id: int | None = None
    language: str | None = None  # patients: "hi" or "en"
    high_risk: bool = False      # patients: over the high-risk age or with a comorbidity
    recovered_days: int = 14     # recovered: ended follow-up this many days ago or less

    @classmethod
    def from_dict(cls, data):
        """From a stored or posted dict: unknown keys are dropped; a wrong value is an Invalid."""
        known = {f.name for f in fields(cls)}
        audience = cls(**{k: v for k, v in (data or {}).items() if k in known})
        if audience.who not in WHO:
            raise Invalid(_l("Choose who the message is for."), {"who": _l("Choose who the message is for.")})
        if audience.setting not in (None, *Setting):
            raise Invalid(_l("Unknown setting."), {"setting": _l("Unknown setting.")})
        if audience.language not in (None, "hi", "en"):
            raise Invalid(_l("Unknown language."), {"language": _l("Unknown language.")})
        if not 1 <= int(audience.recovered_days) <= MAX_RECOVERED_DAYS:
            raise Invalid(_l("Recovered in the last 1 to %(n)s days.", n=MAX_RECOVERED_DAYS),
                          {"recovered_days": _l("Recovered in the last 1 to %(n)s days.", n=MAX_RECOVERED_DAYS)})
        return audience

    def to_dict(self):
        return asdict(self)


def _patients(audience, district_id, now, thresholds):
    stmt = select(Patient.phone.label("phone"), func.max(Patient.id).label("patient_id"),
                  func.max(Patient.language).label("language"),  # "hi" over "en" where a phone has both
                  func.count().label("people"))
    where = [Patient.sms_opt_out.is_(False), Patient.phone_invalid.is_(False), Patient.anonymised_at.is_(None)]
    if district_id is not None:  # (None: a state-level officer's broadcast to every district)
        where.append(Patient.district_id == district_id)
    if audience.who == "recovered":
        where += [Patient.status == PatientStatus.RECOVERED, Patient.ended_at.is_not(None),
                  Patient.ended_at >= now - timedelta(days=int(audience.recovered_days))]
    else:
        where.append(Patient.status == PatientStatus.ACTIVE)
    if audience.setting:
        where.append(Patient.setting == audience.setting)
    if audience.facility_id:
        where.append(Patient.facility_id == audience.facility_id)
    if audience.language:
        where.append(Patient.language == audience.language)
    if audience.high_risk:
        where.append(high_risk(Patient.age, Patient.comorbidities != "", thresholds))
    if audience.village_id:
        where.append(Patient.village_id == audience.village_id)
    elif audience.block_id:
        where.append(Patient.village_id.in_(select(Village.id).where(Village.block_id == audience.block_id)))
    return stmt.where(*where).group_by(Patient.phone)


def _contacts(audience, district_id):
    stmt = (select(VillageContact.phone.label("phone"), cast(null(), Integer).label("patient_id"),
                   literal("hi").label("language"), func.count().label("people"))
            .join(Village, Village.id == VillageContact.village_id).join(Block, Block.id == Village.block_id)
            .where(VillageContact.active.is_(True)))
    if district_id is not None:
        stmt = stmt.where(Block.district_id == district_id)
    if audience.village_id:
        stmt = stmt.where(Village.id == audience.village_id)
    elif audience.block_id:
        stmt = stmt.where(Block.id == audience.block_id)
    return stmt.group_by(VillageContact.phone)


def recipients(audience, district_id, now, thresholds=Thresholds()):
    """SELECT (phone, patient_id, language, people) of the audience: one row per phone."""
    if audience.who == "contacts":
        return _contacts(audience, district_id)
    return _patients(audience, district_id, now, thresholds)


def size(audience, district_id, now, thresholds=Thresholds()):
    """(people, phones) the audience reaches now."""
    rows = recipients(audience, district_id, now, thresholds).subquery()
    people, phones = db.session.execute(select(func.coalesce(func.sum(rows.c.people), 0), func.count())).one()
    return int(people), int(phones)
