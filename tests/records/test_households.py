"""Households: grouping rules, one queue entry per slot, and one call that covers every member."""
import re
from datetime import timedelta

import pytest

from callcenter.clock import utcnow
from callcenter.extensions import db
from callcenter.models import AuditLog, CallAttempt, CallTask, Escalation, Household, Need, Patient
from callcenter.services.calls import calls, households, queue
from callcenter.services.core import settings
from callcenter.services.core.errors import Conflict, Forbidden, Invalid, NotFound
from callcenter.services.records import transfers

from ..conftest import csrf_token
from ..factories import facility, make_district, make_patient, make_task, make_user, village

SHARED = "+919826055555"


def fresh(obj):
    return db.session.get(type(obj), obj.id, populate_existing=True)


@pytest.fixture
def officer(district):
    return make_user("nodal_officer", district)


@pytest.fixture
def family(district, officer):
    """Mother (61, routine task) and son (30, an emergency follow-up: the more urgent task) on one phone."""
    mother = make_patient(district, name="Savita Sahu", age=61, phone_number=SHARED)
    son = make_patient(district, name="Vikas Sahu", age=30, phone_number=SHARED)
    households.group(mother.id, son.id, officer)
    return fresh(mother), fresh(son)


def household_call(task, user, members, key="hh-1", outcome="connected", **extra):
    return calls.log_attempt(task.id, user, dict({"outcome": outcome, "notes": "spoke to the son",
                                                  "members": members}, **extra), key)


# --- Grouping ---------------------------------------------------------------------------------------------

def test_grouping_makes_one_household_and_is_audited(district, officer, family):
    mother, son = family
    assert mother.household_id == son.household_id is not None
    household = db.session.get(Household, mother.household_id)
    assert (household.district_id, household.phone) == (district.id, SHARED)
    daughter = make_patient(district, name="Pooja Sahu", phone_number=SHARED)
    households.group(daughter.id, son.id, officer)  # from either side: joins the existing household
    assert [p.id for p in households.members(household.id)] == [mother.id, son.id, daughter.id]
    joins = db.session.scalars(db.select(AuditLog.entity_id).where(AuditLog.action == "household.join")).all()
    assert sorted(joins) == sorted([mother.id, son.id, daughter.id])


def test_grouping_rules(district, officer, family):
    mother, son = family
    cases = {
        "ended": make_patient(district, status="recovered"),
        "hospital": make_patient(district, setting="hospital"),
    }
    for patient in cases.values():
        with pytest.raises(Invalid):
            households.group(mother.id, patient.id, officer)
    with pytest.raises(Invalid):
        households.group(mother.id, son.id, officer)  # already together
    with pytest.raises(Invalid):
        households.group(mother.id, mother.id, officer)
    a, b = make_patient(district, phone_number="+919826066666"), make_patient(district, phone_number="+919826066666")
    households.group(a.id, b.id, officer)
    with pytest.raises(Invalid):
        households.group(a.id, son.id, officer)  # both already in other households
    other_district = make_patient(make_district())
    with pytest.raises(Invalid):
        households.group(mother.id, other_district.id, make_user("admin", None))
    with pytest.raises(NotFound):
        households.group(mother.id, other_district.id, officer)
    with pytest.raises(Forbidden):
        households.group(a.id, make_patient(district).id, make_user("doctor", district))
    assert fresh(cases["ended"]).household_id is None


def test_leaving_dissolves_a_household_of_one(district, officer, family):
    mother, son = family
    daughter = make_patient(district, phone_number=SHARED)
    households.group(mother.id, daughter.id, officer)
    households.leave(daughter.id, officer)
    assert fresh(daughter).household_id is None and fresh(son).household_id == fresh(mother).household_id
    households.leave(son.id, officer)
    assert fresh(son).household_id is None and fresh(mother).household_id is None  # one left: dissolved
    with pytest.raises(Conflict):
        households.leave(son.id, officer)
    reasons = [r.details["reason"] for r in db.session.scalars(
        db.select(AuditLog).where(AuditLog.action == "household.leave").order_by(AuditLog.id))]
    assert reasons == ["removed", "removed", "dissolved"]


def test_a_member_moved_to_hospital_leaves_the_household(district, officer, family):
    mother, son = family
    transfers.transfer(son.id, officer, "hospital", facility(district, "hospital").id, "Admitted.")
    assert fresh(son).household_id is None and fresh(mother).household_id is None


# --- The queue --------------------------------------------------------------------------------------------

def test_a_household_is_one_queue_entry_per_slot(district, family):
    mother, son = family
    mother_task, son_task = make_task(mother, priority=3), make_task(son, priority=0)
    make_task(make_patient(district), priority=3)
    volunteer = make_user("volunteer", district)
    assert queue.queue_counts(volunteer)["home"] == 2  # the household once, plus the other patient
    assert queue.claim_next_task(volunteer).id == son_task.id  # offered at its most urgent member's priority
    assert queue.claim_next_task(make_user("volunteer", district)).patient_id not in (mother.id, son.id)
    assert queue.claim_next_task(make_user("volunteer", district)) is None  # the mother's task is covered
    assert fresh(mother_task).status == "pending"


def test_a_members_second_slot_is_an_entry_of_its_own(district, family):
    mother, son = family
    make_task(mother, slot=1)
    make_task(son, slot=1)
    afternoon = make_task(mother, slot=2)  # over 60: called twice a day
    volunteer = make_user("volunteer", district)
    assert queue.queue_counts(volunteer)["home"] == 2
    first = queue.claim_next_task(volunteer)
    second = queue.claim_next_task(make_user("volunteer", district))
    assert {first.slot, second.slot} == {1, 2} and afternoon.id in (first.id, second.id)


# --- The household call -----------------------------------------------------------------------------------

def test_household_call_records_each_member(district, family):
    mother, son = family
    mother_task, son_task = make_task(mother, priority=3), make_task(son, priority=1)
    volunteer = make_user("volunteer", district)
    assert queue.claim_next_task(volunteer).id == son_task.id
    assert [p.id for p, _t in households.call_members(son_task)] == [son.id, mother.id]

    logged = household_call(son_task, volunteer, [
        {"patient_id": son.id, "temperature_f": 99.1, "spo2": 97, "symptoms": ["cough"], "needs": ["medicine"]},
        {"patient_id": mother.id, "spo2": 91, "symptoms": ["breathlessness"], "needs": ["ambulance"]},
    ])
    assert logged.created and logged.members == [son.id, mother.id]
    attempts = {a.patient_id: a for a in db.session.scalars(db.select(CallAttempt))}
    assert (attempts[son.id].task_id, attempts[son.id].spo2, attempts[son.id].temperature_f,
            attempts[son.id].symptoms) == (son_task.id, 97, 99.1, "cough")
    assert (attempts[mother.id].task_id, attempts[mother.id].spo2, attempts[mother.id].symptoms) == (
        mother_task.id, 91, "breathlessness")
    assert {a.outcome for a in attempts.values()} == {"connected"}
    assert logged.attempt.id == attempts[son.id].id

    by_patient = {(e.patient_id, e.kind, e.severity) for e in db.session.scalars(db.select(Escalation))}
    assert by_patient == {(son.id, "medicine", "routine"), (mother.id, "ambulance", "emergency")}
    needs = {(n.patient_id, n.kind, n.attempt_id) for n in db.session.scalars(db.select(Need))}
    assert needs == {(son.id, "medicine", attempts[son.id].id), (mother.id, "ambulance", attempts[mother.id].id)}
    assert all(n.escalation_id for n in db.session.scalars(db.select(Need)))

    assert fresh(son_task).status == fresh(mother_task).status == "done"  # the mother's task closed by the call
    assert fresh(mother).last_contact_at is not None
    covered = db.session.scalars(db.select(AuditLog).where(AuditLog.action == "task.covered_by_household")).one()
    assert (covered.entity_id, covered.details["by_task_id"], covered.details["task_status"]) == (
        mother_task.id, son_task.id, "done")


def test_double_submitted_household_call_records_once(district, family):
    mother, son = family
    make_task(mother)
    task = make_task(son, priority=0)
    volunteer = make_user("volunteer", district)
    queue.claim_next_task(volunteer)
    members = [{"patient_id": son.id, "spo2": 98}, {"patient_id": mother.id, "spo2": 90}]
    first = household_call(task, volunteer, members, key="same")
    second = household_call(task, volunteer, members, key="same")
    assert first.created and not second.created
    assert second.attempt.id == first.attempt.id and second.members == [son.id, mother.id]
    assert [e.id for e in second.escalations] == [e.id for e in first.escalations]
    assert db.session.scalar(db.select(db.func.count()).select_from(CallAttempt)) == 2
    assert db.session.scalar(db.select(db.func.count()).select_from(Escalation)) == 1  # the mother's warning sign


def test_failed_household_call_moves_the_members_together(district, family):
    mother, son = family
    mother_task, son_task = make_task(mother), make_task(son, priority=0)
    volunteer = make_user("volunteer", district)
    now = utcnow()
    for attempt in range(1, settings.get("max_attempts_per_day") + 1):
        assert queue.claim_next_task(volunteer, now=now).id == son_task.id
        calls.log_attempt(son_task.id, volunteer, {"outcome": "no_answer", "members": [
            {"patient_id": son.id}, {"patient_id": mother.id}]}, f"na-{attempt}", now=now)
        if attempt < settings.get("max_attempts_per_day"):
            assert fresh(mother_task).status == "pending" and fresh(mother_task).due_at == fresh(son_task).due_at
            assert queue.claim_next_task(make_user("volunteer", district), now=now) is None  # retry not due yet
            now = fresh(son_task).due_at + timedelta(minutes=1)
    assert fresh(son_task).status == fresh(mother_task).status == "unreachable"
    assert fresh(mother_task).attempts == 3
    visits = db.session.scalars(db.select(Escalation).where(Escalation.kind == "field_visit")).all()
    assert [v.patient_id for v in visits] == [son.id]  # one door to knock on


def test_wrong_number_marks_the_shared_phone(district, family):
    mother, son = family
    mother_task, son_task = make_task(mother), make_task(son, priority=0)
    volunteer = make_user("volunteer", district)
    queue.claim_next_task(volunteer)
    household_call(son_task, volunteer, [{"patient_id": son.id}, {"patient_id": mother.id}], outcome="wrong_number")
    assert fresh(son_task).status == fresh(mother_task).status == "cancelled"
    assert fresh(son).phone_invalid and fresh(mother).phone_invalid
    assert db.session.scalar(db.select(db.func.count()).select_from(Escalation)) == 1


def test_each_members_readings_are_checked_by_the_same_rules(district, family):
    mother, son = family
    make_task(mother)
    task = make_task(son, priority=0)
    volunteer = make_user("volunteer", district)
    queue.claim_next_task(volunteer)
    with pytest.raises(Invalid) as exc:
        household_call(task, volunteer, [{"patient_id": son.id, "spo2": 97},
                                         {"patient_id": mother.id, "spo2": 150, "temperature_f": 120}])
    assert set(exc.value.errors) == {"members-1-spo2", "members-1-temperature_f"}
    with pytest.raises(Invalid) as exc:
        household_call(task, volunteer, [{"patient_id": son.id}, {"patient_id": mother.id, "needs": ["food"]}],
                       outcome="busy")
    assert "outcome" in exc.value.errors
    with pytest.raises(Conflict):  # someone who is not on this call
        household_call(task, volunteer, [{"patient_id": son.id}, {"patient_id": make_patient(district).id}])
    assert db.session.scalar(db.select(db.func.count()).select_from(CallAttempt)) == 0


def test_a_report_without_members_covers_only_the_called_patient(district, family):
    """The single-patient report (as the API sends it) stays exactly what it was."""
    mother, son = family
    mother_task, son_task = make_task(mother), make_task(son, priority=0)
    volunteer = make_user("volunteer", district)
    queue.claim_next_task(volunteer)
    calls.log_attempt(son_task.id, volunteer, {"outcome": "connected", "spo2": 97}, "single")
    assert fresh(son_task).status == "done" and fresh(mother_task).status == "pending"
    assert queue.claim_next_task(make_user("volunteer", district)).id == mother_task.id  # now her own entry


# --- The call screen --------------------------------------------------------------------------------------

def take_call(client):
    token = csrf_token(client, "/queue/")
    response = client.post("/queue/take", data={"csrf_token": token})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    fields = dict(re.findall(r'name="(csrf_token|submission_key)" type="hidden" value="([^"]+)"', page))
    return response.headers["Location"], page, fields


def test_household_call_screen(client, login, district, family):
    mother, son = family
    mother_task, son_task = make_task(mother), make_task(son, priority=0)
    login(make_user("volunteer", district))
    url, page, fields = take_call(client)
    assert url.endswith(f"/queue/task/{son_task.id}")
    assert "Savita Sahu" in page and "Vikas Sahu" in page and "2 members on this call" in page
    assert 'name="members-0-patient_id"' in page and 'name="members-1-spo2"' in page
    views = db.session.scalars(db.select(AuditLog.entity_id).where(AuditLog.action == "patient.view")).all()
    assert sorted(views) == sorted([mother.id, son.id])

    bad = client.post(url, data=dict(fields, outcome="connected", **{
        "members-0-patient_id": son.id, "members-1-patient_id": mother.id, "members-1-spo2": "190"}))
    html = bad.get_data(as_text=True)
    assert bad.status_code == 200 and "SpO2 must be between 50 and 100 %" in html
    assert re.search(r'data-patient="%d".*SpO2 must be between' % mother.id, html, re.S)

    form = dict(fields, outcome="connected", notes="Son answered for both", **{
        "members-0-patient_id": son.id, "members-0-spo2": "97", "members-0-temperature_f": "98.6",
        "members-1-patient_id": mother.id, "members-1-spo2": "91", "members-1-needs": "ambulance"})
    first = client.post(url, data=form, follow_redirects=True)
    html = first.get_data(as_text=True)
    assert "Call saved for 2 household members: Vikas Sahu, Savita Sahu." in html
    assert "Control room (Savita Sahu: Ambulance, Emergency)" in html
    second = client.post(url, data=form, follow_redirects=True)
    assert "already saved" in second.get_data(as_text=True)
    assert {(a.patient_id, a.spo2) for a in db.session.scalars(db.select(CallAttempt))} == {
        (son.id, 97), (mother.id, 91)}
    assert fresh(mother_task).status == "done"
    assert db.session.scalars(db.select(Escalation)).one().patient_id == mother.id


def test_grouping_from_the_record_page(client, login, district, officer):
    mother = make_patient(district, name="Savita Sahu", phone_number=SHARED)
    son = make_patient(district, name="Vikas Sahu", phone_number=SHARED)
    login(officer)
    html = client.get(f"/patients/{mother.id}").get_data(as_text=True)
    assert 'id="household-suggestions"' in html and "Vikas Sahu" in html  # same phone: suggested
    token = csrf_token(client, f"/patients/{mother.id}")
    response = client.post(f"/patients/{mother.id}/household", data={"csrf_token": token, "other_id": "999999"})
    assert "No patient with this record number in your district." in response.get_data(as_text=True)
    response = client.post(f"/patients/{mother.id}/household", data={"csrf_token": token, "other_id": son.id},
                           follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Added to the household" in html and "Joined a household" in html
    assert db.session.get(Patient, son.id).household_id is not None
    response = client.post(f"/patients/{son.id}/household/leave", data={"csrf_token": token},
                           follow_redirects=True)
    assert "Left the household" in response.get_data(as_text=True)
    assert db.session.get(Patient, mother.id).household_id is None


def test_single_patients_keep_the_single_call_screen(client, login, district):
    make_task(make_patient(district, name="Ramesh Sahu"))
    login(make_user("volunteer", district))
    _url, page, _fields = take_call(client)
    assert "members-0" not in page and 'name="spo2"' in page
    assert db.session.scalar(db.select(db.func.count()).select_from(CallTask)) == 1


def test_volunteers_claiming_at_once_call_each_household_once(app, district, officer):
    """Many volunteers taking calls at the same moment: each household is claimed once and its call
    closes every member's task (on PostgreSQL with SKIP LOCKED, on SQLite with serialised writers)."""
    from callcenter.models import User

    from ..helpers import run_in_threads

    heads = []
    for n in range(6):
        members = [make_patient(district, phone_number=f"+91982607{n:02d}00") for _ in range(3)]
        for other in members[1:]:
            households.group(members[0].id, other.id, officer)
        for i, member in enumerate(members):
            make_task(member, priority=(n + i) % 4)
        heads.append(members[0].id)
    for _ in range(6):
        make_task(make_patient(district))
    user_ids = [make_user("volunteer", district).id for _ in range(8)]

    def work(i):
        me = db.session.get(User, user_ids[i])
        mine = []
        while (task := queue.claim_next_task(me)) is not None:
            members = [{"patient_id": p.id} for p, _t in households.call_members(task)]
            calls.log_attempt(task.id, me, {"outcome": "connected", "members": members}, f"t{task.id}")
            mine.append(task.id)
        return mine

    results, errors = run_in_threads(app, len(user_ids), work)
    assert not errors, errors
    claimed = [t for mine in results for t in mine]
    assert len(claimed) == len(set(claimed)) == 6 + 6  # one call per household, one per single patient
    statuses = {s for (s,) in db.session.execute(db.select(CallTask.status))}
    assert statuses == {"done"}
    assert db.session.scalar(db.select(db.func.count()).select_from(CallAttempt)) == 6 * 3 + 6



# --- Issue 17: different villages or no phone in common: warned, and done only when confirmed -----------------

def test_grouping_across_villages_or_phones_needs_confirming(district, officer):
    from callcenter.models import Village
    from callcenter.services.calls.households import Unconfirmed

    here = village(district)
    there = Village(block=here.block, name="Samoda", kind="village")
    db.session.add(there)
    db.session.commit()
    mother = make_patient(district, name="Savita Sahu", phone_number=SHARED, village_id=here.id)
    cousin = make_patient(district, name="Rekha Sahu", phone_number=SHARED, village_id=there.id)
    neighbour = make_patient(district, name="Usha Verma", phone_number="+919826077777", village_id=here.id)
    with pytest.raises(Unconfirmed) as warned:
        households.group(mother.id, cousin.id, officer)
    assert warned.value.doubts == ["village"]
    assert f"Savita Sahu and Rekha Sahu live in different villages ({here.name}, Samoda)." in str(warned.value.message)
    with pytest.raises(Unconfirmed) as warned:
        households.group(mother.id, neighbour.id, officer)
    assert warned.value.doubts == ["phone"] and "no phone number in common" in str(warned.value.message)
    assert fresh(mother).household_id is None  # nothing done before the officer confirms

    households.group(mother.id, neighbour.id, officer, confirmed=True)
    assert fresh(mother).household_id == fresh(neighbour).household_id is not None
    joins = db.session.scalars(db.select(AuditLog).where(AuditLog.action == "household.join")).all()
    assert len(joins) == 2 and all(j.details["confirmed_despite"] == ["phone"] for j in joins)


def test_the_record_page_warns_and_asks_to_confirm(client, login, district, officer):
    v = village(district)
    mother = make_patient(district, name="Savita Sahu", phone_number=SHARED, village_id=v.id)
    neighbour = make_patient(district, name="Usha Verma", phone_number="+919826077777", village_id=v.id)
    login(officer)
    token = csrf_token(client, f"/patients/{mother.id}")
    html = client.post(f"/patients/{mother.id}/household", data={"csrf_token": token, "other_id": neighbour.id}
                       ).get_data(as_text=True)
    assert 'id="household-doubt"' in html and "have no phone number in common" in html
    assert "Add them to one household all the same?" in html and 'name="confirm" value="y"' in html
    assert fresh(neighbour).household_id is None
    response = client.post(f"/patients/{mother.id}/household", data={
        "csrf_token": token, "other_id": neighbour.id, "confirm": "y"}, follow_redirects=True)
    assert "Added to the household" in response.get_data(as_text=True)
    assert fresh(neighbour).household_id == fresh(mother).household_id is not None


def test_the_warning_in_hindi(client, login, district):
    mother = make_patient(district, name="Savita Sahu", phone_number=SHARED)
    neighbour = make_patient(district, name="Usha Verma", phone_number="+919826077777")
    login(make_user("nodal_officer", district, language="hi"))
    token = csrf_token(client, f"/patients/{mother.id}")
    html = client.post(f"/patients/{mother.id}/household", data={"csrf_token": token, "other_id": neighbour.id}
                       ).get_data(as_text=True)
    assert "Savita Sahu और Usha Verma का कोई फ़ोन नंबर एक नहीं है" in html
    assert "फिर भी इन्हें एक परिवार में जोड़ें?" in html
