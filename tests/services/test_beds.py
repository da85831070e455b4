"""Free beds per facility: validation against capacity, who and when, audit, and two operators at once."""
from datetime import datetime, timedelta

import pytest

from callcenter.extensions import db
from callcenter.models import AuditLog, Facility
from callcenter.services.core.errors import Conflict, Forbidden, Invalid, NotFound
from callcenter.services.desks import beds

from ..factories import facility, make_district, make_user

NOW = datetime(2024, 5, 10, 6, 0)


def test_update_keeps_numbers_with_time_and_operator_and_is_audited(district):
    operator = make_user("control_room", district)
    hospital = facility(district, "hospital")  # capacity 10 general, 5 oxygen, 2 ICU
    beds.update(hospital.id, operator, {"general": 4, "oxygen": 0, "icu": 2}, "", now=NOW)
    hospital = db.session.get(Facility, hospital.id)
    assert (hospital.free_general, hospital.free_oxygen, hospital.free_icu) == (4, 0, 2)
    assert (hospital.beds_updated_at, hospital.beds_updated_by_id) == (NOW, operator.id)
    audit = db.session.scalars(db.select(AuditLog).where(AuditLog.action == "facility.beds")).one()
    assert (audit.entity, audit.entity_id, audit.user_id, audit.district_id) == (
        "facility", hospital.id, operator.id, district.id)
    assert audit.details == {"old": {"general": 0, "oxygen": 0, "icu": 0}, "new": {"general": 4, "oxygen": 0, "icu": 2}}


@pytest.mark.parametrize("values, field", [
    ({"general": -1, "oxygen": 0, "icu": 0}, "free_general"),
    ({"general": 11, "oxygen": 0, "icu": 0}, "free_general"),   # capacity 10
    ({"general": 0, "oxygen": 6, "icu": 0}, "free_oxygen"),
    ({"general": 0, "oxygen": 0, "icu": 3}, "free_icu"),
    ({"general": 0, "oxygen": 0, "icu": None}, "free_icu"),
])
def test_free_beds_are_between_zero_and_capacity(district, values, field):
    operator = make_user("control_room", district)
    hospital = facility(district, "hospital")
    with pytest.raises(Invalid) as exc:
        beds.update(hospital.id, operator, values, "", now=NOW)
    assert list(exc.value.errors) == [field]
    hospital = db.session.get(Facility, hospital.id)
    assert hospital.beds_updated_at is None and hospital.free_general == 0
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditLog)) == 0


def test_a_care_centre_without_icu_has_no_free_icu_beds(district):
    operator = make_user("control_room", district)
    ccc = facility(district, "ccc")  # 50 general only
    with pytest.raises(Invalid) as exc:
        beds.update(ccc.id, operator, {"general": 50, "oxygen": 0, "icu": 1}, "", now=NOW)
    assert "More than the 0 beds" in str(exc.value.errors["free_icu"])
    beds.update(ccc.id, operator, {"general": 50, "oxygen": 0, "icu": 0}, "", now=NOW)
    assert db.session.get(Facility, ccc.id).free_general == 50


def test_the_second_of_two_operators_is_told_and_overwrites_nothing(district):
    first = make_user("control_room", district, username="asha")
    first.full_name = "Asha Sahu"
    second = make_user("control_room", district)
    db.session.commit()
    hospital = facility(district, "hospital")
    opened_with = beds.stamp(hospital)  # both open the page before either saves
    beds.update(hospital.id, first, {"general": 3, "oxygen": 1, "icu": 0}, opened_with, now=NOW)
    with pytest.raises(Conflict) as exc:
        beds.update(hospital.id, second, {"general": 9, "oxygen": 5, "icu": 2}, opened_with,
                    now=NOW + timedelta(minutes=1))
    message = str(exc.value.message)
    assert "Asha Sahu updated the beds of" in message and "11:30" in message  # Kolkata time of NOW
    hospital = db.session.get(Facility, hospital.id)
    assert (hospital.free_general, hospital.beds_updated_by_id) == (3, first.id)
    # Having seen the new numbers, the second operator saves.
    beds.update(hospital.id, second, {"general": 2, "oxygen": 1, "icu": 0}, beds.stamp(hospital),
                now=NOW + timedelta(minutes=2))
    assert db.session.get(Facility, hospital.id).beds_updated_by_id == second.id


def test_who_may_keep_beds_and_where(district):
    hospital = facility(district, "hospital")
    for role in ("volunteer", "doctor", "counsellor"):
        with pytest.raises(Forbidden):
            beds.update(hospital.id, make_user(role, district), {"general": 1, "oxygen": 0, "icu": 0}, "")
        with pytest.raises(Forbidden):
            beds.facilities(make_user(role, district))
    with pytest.raises(NotFound):
        beds.update(hospital.id, make_user("control_room", make_district()), {"general": 1, "oxygen": 0, "icu": 0}, "")
    beds.update(hospital.id, make_user("nodal_officer", district), {"general": 1, "oxygen": 0, "icu": 0}, "")


def test_the_list_is_the_districts_facilities_hospitals_first_with_totals(district):
    operator = make_user("control_room", district)
    make_district()  # another district's facilities are not listed
    beds.update(facility(district, "hospital").id, operator, {"general": 4, "oxygen": 2, "icu": 1}, "", now=NOW)
    beds.update(facility(district, "ccc").id, operator, {"general": 20, "oxygen": 0, "icu": 0}, "", now=NOW)
    rows = beds.facilities(operator)
    assert [r.facility.kind for r in rows] == ["hospital", "ccc"]
    assert rows[0].updated_by.id == operator.id
    assert beds.totals(rows) == {"general": (24, 60), "oxygen": (2, 5), "icu": (1, 2)}
    assert len(beds.facilities(make_user("admin"))) == 4  # state level: every district


def test_operators_saving_the_same_facility_at_once_one_wins(app, district):
    from callcenter.models import User

    from ..helpers import run_in_threads

    ids = [make_user("control_room", district).id for _ in range(5)]
    hospital_id = facility(district, "hospital").id

    def save(i):
        beds.update(hospital_id, db.session.get(User, ids[i]), {"general": i, "oxygen": 0, "icu": 0}, "",
                    now=NOW + timedelta(seconds=i))
        return i

    results, errors = run_in_threads(app, 5, save)
    assert len(errors) == 4 and all(isinstance(e, Conflict) for _i, e in errors)
    [winner] = [r for r in results if r is not None]
    hospital = db.session.get(Facility, hospital_id)
    assert (hospital.free_general, hospital.beds_updated_by_id) == (winner, ids[winner])
