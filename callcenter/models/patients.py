"""A patient, and the transfers that move them between settings and facilities."""
import enum
from datetime import date, datetime

from sqlalchemy import DDL, Computed, ForeignKey, Index, String, Text, event, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .places import District, Facility, Village


class Setting(enum.StrEnum):
    HOSPITAL = "hospital"
    CCC = "ccc"
    HOME = "home"


class Sex(enum.StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"


class PatientStatus(enum.StrEnum):
    """`active` patients are followed up; every other status ends the follow-up."""
    ACTIVE = "active"
    RECOVERED = "recovered"
    DIED = "died"
    MOVED_OUT = "moved_out"


class Comorbidity(enum.StrEnum):
    HYPERTENSION = "hypertension"
    DIABETES = "diabetes"
    HEART = "heart"
    LUNG = "lung"
    LIVER = "liver"
    KIDNEY = "kidney"
    CEREBROVASCULAR = "cerebrovascular"


# A lab (SRF) ID as searched: upper case, no spaces (rules/linelist/records.py lab_key, in SQL).
LAB_KEY_SQL = "upper(replace(lab_id, ' ', ''))"


class Patient(db.Model):
    __table_args__ = (
        # One active record per (phone, name): the registration duplicate rule, enforced by the database.
        Index("uq_patient_active_phone_name", "phone", "name_key", unique=True,
              sqlite_where=text("status = 'active'"), postgresql_where=text("status = 'active'")),
        # The dashboard (services/dashboard*.py): active patients by setting, village and facility read from
        # the index alone; the day's admissions and endings as index ranges.
        Index("ix_patient_active_places", "status", "setting", "district_id", "village_id", "facility_id"),
        # A block's or facility's patients (the dashboard's place filters: `patient_id IN …`) read from the index
        # alone on PostgreSQL, a hashed set of a few thousand ids; without id, a heap read per patient.
        Index("ix_patient_village_id", "village_id", postgresql_include=["id"]),
        Index("ix_patient_facility_id", "facility_id", postgresql_include=["id"]),
        Index("ix_patient_created_at", "created_at"),
        Index("ix_patient_ended_at", "ended_at"),
        # Closed records whose personal data is still there: what the retention job reads (jobs/retention.py),
        # small in steady state (only those closed within the retention period).
        Index("ix_patient_to_anonymise", "id", sqlite_where=text("anonymised_at IS NULL AND status <> 'active'"),
              postgresql_where=text("anonymised_at IS NULL AND status <> 'active'")),
        # The search box (services/records/records.py search_conditions): the attendant's phone and part of a
        # name. PostgreSQL finds a name's part in a trigram index (pg_trgm); SQLite gets a plain index on the
        # column, which a LIKE '%…%' cannot use: there it scans.
        Index("ix_patient_attendant_phone", "attendant_phone", sqlite_where=text("attendant_phone IS NOT NULL"),
              postgresql_where=text("attendant_phone IS NOT NULL")),
        Index("ix_patient_name_trgm", "name_key", postgresql_using="gin", postgresql_ops={"name_key": "gin_trgm_ops"}),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    name_key: Mapped[str] = mapped_column(String(120))  # lower-case, single-spaced: for duplicate checks
    age: Mapped[int]
    sex: Mapped[str] = mapped_column(String(10))
    phone: Mapped[str] = mapped_column(String(16), index=True)  # E.164
    attendant_phone: Mapped[str | None] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(Text, default="")
    village_id: Mapped[int | None] = mapped_column(ForeignKey("village.id"))  # indexed above (with id)
    setting: Mapped[str] = mapped_column(String(10))
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facility.id"))  # indexed above (with id)
    positive_date: Mapped[date]
    symptom_onset_date: Mapped[date | None]
    isolation_start_date: Mapped[date | None]
    comorbidities: Mapped[str] = mapped_column(String(200), default="")  # comma-separated Comorbidity values
    abha_number: Mapped[str | None] = mapped_column(String(14), index=True)  # 14 digits, no dashes
    lab_id: Mapped[str | None] = mapped_column(String(40), index=True)
    # The lab ID as searched (upper case, no spaces), kept by the database itself on every write.
    lab_key: Mapped[str | None] = mapped_column(String(40), Computed(LAB_KEY_SQL, persisted=True),
                                                index=True)
    language: Mapped[str] = mapped_column(String(5), default="hi")
    status: Mapped[str] = mapped_column(String(12), default=PatientStatus.ACTIVE, index=True)
    sms_opt_out: Mapped[bool] = mapped_column(default=False)
    phone_invalid: Mapped[bool] = mapped_column(default=False)
    last_contact_at: Mapped[datetime | None]  # last connected call or check-in: the queue's tie-breaker
    checkin_channel: Mapped[str] = mapped_column(String(10), default="sms_link",
                                                 server_default="sms_link")  # see messaging.CheckinChannel
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"), index=True)
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    ended_at: Mapped[datetime | None]
    # When the retention job replaced this record's personal data (jobs/retention.py); None until then.
    anonymised_at: Mapped[datetime | None]

    district: Mapped[District] = relationship()
    village: Mapped[Village | None] = relationship()
    facility: Mapped[Facility | None] = relationship()
    transfers: Mapped[list["Transfer"]] = relationship(
        back_populates="patient", order_by="Transfer.at")

    @property
    def comorbidity_list(self):
        return [c for c in self.comorbidities.split(",") if c]

    @property
    def call_phone(self):
        """Hospital patients are reached through their attendant when one is recorded."""
        if self.setting == Setting.HOSPITAL and self.attendant_phone:
            return self.attendant_phone
        return self.phone

    @property
    def abha_display(self):
        a = self.abha_number
        return f"{a[:2]}-{a[2:6]}-{a[6:10]}-{a[10:]}" if a else ""

    @property
    def is_active(self):
        return self.status == PatientStatus.ACTIVE

    def __str__(self):
        return self.name


class Transfer(db.Model):
    """A move between settings/facilities. The patient row holds the current place; history lives here."""
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    at: Mapped[datetime]
    from_setting: Mapped[str | None] = mapped_column(String(10))
    to_setting: Mapped[str] = mapped_column(String(10))
    from_facility_id: Mapped[int | None] = mapped_column(ForeignKey("facility.id"))
    to_facility_id: Mapped[int | None] = mapped_column(ForeignKey("facility.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    patient: Mapped[Patient] = relationship(back_populates="transfers")
    from_facility: Mapped[Facility | None] = relationship(foreign_keys=[from_facility_id])
    to_facility: Mapped[Facility | None] = relationship(foreign_keys=[to_facility_id])


# The name index's operator class comes with the pg_trgm extension (trusted: the database's owner may add it).
event.listen(Patient.__table__, "before_create",
             DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"))
