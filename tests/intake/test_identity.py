"""Shared phones in line lists: a row updates a patient only when it is the same person (name, sex, age);
someone else on the phone is a new patient in the household, and a row that cannot be told is held for
review with its reason. Never a silent overwrite (issue 15, item 2)."""
from datetime import timedelta

import pytest

from callcenter.clock import utcnow
from callcenter.extensions import db
from callcenter.models import AuditLog, CallTask, Household, ImportRow, Patient
from callcenter.services.intake import batches, messages, reading
from callcenter.services.records import records

from ..factories import make_patient, make_user
from .conftest import count, outcomes, row, run


def people(phone):
    return {p.name: p for p in db.session.scalars(db.select(Patient).where(Patient.phone == phone))}


def reasons(batch):
    return {n: (action, [e[2] for e in errors]) for n, (action, errors) in outcomes(batch).items()}


def error_of(batch, row_number):
    return db.session.scalar(db.select(ImportRow).where(ImportRow.batch_id == batch.id,
                                                        ImportRow.row_number == row_number)).errors


# --- the bug report: a family's phone, two days' files ------------------------------------------------------

def test_the_next_days_file_never_rewrites_another_person_on_the_family_phone(tmp_path, officer, raipur):
    family = {"Mobile No": "9826055555", "SRF ID": ""}
    first = run(officer, tmp_path, [
        row(1, **family, **{"Patient Name": "Pooja Sahu", "Age": 36, "Sex": "F"}),
        row(2, **family, **{"Patient Name": "Ram Prasad Sahu", "Age": 60, "Sex": "M", "Comorbidity": "DM"})])
    assert (first.rows_added, first.rows_rejected) == (2, 0)
    next_day = run(officer, tmp_path, [
        row(1, **family, **{"Patient Name": "Pooja Sahu", "Age": 20, "Sex": "F"}),   # same name, 16 years off
        row(2, **family, **{"Patient Name": "Ram Prasad", "Age": 32, "Sex": "M"})],  # a short form, 28 years off
        name="next.csv")
    assert reasons(next_day) == {2: ("held", ["held_same_name"]),
                                 3: ("added", ["another_person", "household_joined"])}
    assert (next_day.rows_added, next_day.rows_updated, next_day.rows_held) == (1, 0, 1)
    db.session.expire_all()
    family_now = people("+919826055555")
    assert family_now["Pooja Sahu"].age == 36
    elder = family_now["Ram Prasad Sahu"]
    assert (elder.age, elder.comorbidities) == (60, "diabetes")  # still high risk, still called as such
    son = family_now["Ram Prasad"]
    assert (son.age, son.sex) == (32, "male")
    # Same phone, same place: one household (the earlier file put Pooja and her father-in-law in it already).
    assert {p.household_id for p in family_now.values()} == {elder.household_id} != {None}
    household = db.session.get(Household, elder.household_id)
    assert (household.phone, household.district_id) == ("+919826055555", raipur.id)
    # The reasons say who and what differs, in words.
    held = error_of(next_day, 2)[0]
    assert (held["column"], held["value"]) == ("Age", "20")
    assert messages.reason_text(held) == (
        "Held for review: the same phone and name as Pooja Sahu (36 F), but this row says 20 F. Is the age or sex "
        "wrong, or is this another person of the same name? Nothing was saved: correct the file (for another "
        "person, write their full name) or the patient's record, and import it again.")
    note = error_of(next_day, 3)
    assert messages.reason_text(note[0]) == (
        "Not Ram Prasad Sahu (60 M), who has this phone: this row says 32 M, so this is another person, added as "
        "a new patient.")
    assert messages.reason_text(note[1]).startswith("Added to the household of Ram Prasad Sahu")
    assert batches.summary(next_day) == ("Imported 2 rows: 1 added, 0 updated, 0 unchanged, 1 held for review, "
                                         "0 rejected.")


def test_a_held_row_writes_nothing_and_is_in_the_error_report(tmp_path, officer, raipur):
    patient = make_patient(raipur, name="Ramesh Sahu", phone_number="+919826000001", sex="male", age=45)
    batch = run(officer, tmp_path, [row(1, **{"Patient Name": "Ramesh Sahu", "Sex": "F", "Age": 45,
                                              "SRF ID": "", "Address": "House 4"})])
    assert reasons(batch) == {2: ("held", ["held_same_name"])}
    assert error_of(batch, 2)[0]["column"] == "Sex"
    db.session.expire_all()
    assert (db.session.get(Patient, patient.id).sex, db.session.get(Patient, patient.id).address) == ("male", "")
    assert count(Patient) == 1 and count(CallTask) == 0
    held = db.session.scalar(db.select(ImportRow).where(ImportRow.batch_id == batch.id))
    assert held.patient_id is None and held.raw["Address"] == "House 4"  # kept whole, to correct
    report = "".join(batches.error_report(batch))
    assert "Ramesh Sahu" in report and "Held for review" in report


# --- who is the same person --------------------------------------------------------------------------------

@pytest.mark.parametrize("name, sex, age, expected", [
    ("Smt. Sahu Sunita", "F", 42, "updated"),        # honorific and word order
    ("S. Sahu", "F", 43, "updated"),                 # an initial; a birthday since
    ("Sunita Devi Sahu", "F", 41, "updated"),
    ("Sunita Sahu", "F", 44, "held"),                # two years on: a mistake, or her namesake?
    ("Sunita Sahu", "M", 42, "held"),
    ("Anita Sahu", "F", 42, "held"),                 # a letter off, same age and sex: misspelt, or her sister?
    ("Anita Sahu", "F", 19, "added"),                # … a letter off and 23 years apart: her daughter
    ("Sunita", "F", 67, "added"),                    # a short form, 25 years apart: her mother-in-law
    ("Ramesh Sahu", "M", 45, "added"),               # another name
])
def test_the_same_person_needs_the_name_the_sex_and_the_age(tmp_path, officer, raipur, name, sex, age, expected):
    sunita = make_patient(raipur, name="Sunita Sahu", phone_number="+919826000001", age=42)
    batch = run(officer, tmp_path, [row(1, **{"Patient Name": name, "Sex": sex, "Age": age, "SRF ID": "",
                                              "Address": "House 9"})])
    assert outcomes(batch)[2][0] == expected
    db.session.expire_all()
    sunita = db.session.get(Patient, sunita.id)
    assert sunita.sex == "female" and sunita.address == ("House 9" if expected == "updated" else "")
    assert sunita.age == (age if expected == "updated" else 42)
    assert count(Patient) == (2 if expected == "added" else 1)


def test_an_age_recorded_years_ago_has_grown_since(tmp_path, officer, raipur):
    recorded = utcnow() - timedelta(days=3 * 365 + 10)
    make_patient(raipur, name="Lata Dhruw", phone_number="+919826099999", age=40, created_at=recorded)
    make_patient(raipur, name="Geeta Verma", phone_number="+919826088888", age=40, created_at=recorded)
    batch = run(officer, tmp_path, [
        row(1, **{"Patient Name": "Lata Dhruw", "Mobile No": "9826099999", "Age": 43, "SRF ID": ""}),
        row(2, **{"Patient Name": "Geeta Verma", "Mobile No": "9826088888", "Age": 46, "SRF ID": ""})])
    assert reasons(batch) == {2: ("updated", []), 3: ("held", ["held_same_name"])}


def test_a_lab_ids_owner_with_another_age_is_held(tmp_path, officer, raipur):
    owner = make_patient(raipur, name="Lata Dhruw", phone_number="+919826099999", lab_id="CG-0009", age=60)
    batch = run(officer, tmp_path, [row(9, **{"Patient Name": "Lata Dhruw", "Mobile No": "9826099999", "Age": 25})])
    assert reasons(batch) == {2: ("held", ["held_lab"])}
    assert error_of(batch, 2)[0]["params"] == {"name": "Lata Dhruw", "recorded": "60 F", "given": "25 F"}
    db.session.expire_all()
    assert db.session.get(Patient, owner.id).age == 60


# --- within one file ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("chunk_rows", [1000, 1])
def test_two_people_on_one_phone_in_one_file_are_both_imported(tmp_path, officer, raipur, monkeypatch, chunk_rows):
    monkeypatch.setattr(reading, "CHUNK_ROWS", chunk_rows)  # also across chunks
    phone = {"Mobile No": "9826012121", "SRF ID": ""}
    batch = run(officer, tmp_path, [
        row(1, **phone, **{"Patient Name": "Sunita Sahu", "Age": 60}),
        row(2, **phone, **{"Patient Name": "Sunita", "Age": 32}),
        row(3, **phone, **{"Patient Name": "Sunita Sahu", "Age": 60}),          # a true duplicate of row 2
        row(4, **phone, **{"Patient Name": "Ramesh Sahu", "Age": 63, "Sex": "M"}),
    ])
    assert reasons(batch) == {2: ("added", []), 3: ("added", ["another_person", "household_joined"]),
                              4: ("unchanged", ["same_as_row"]), 5: ("added", ["household_joined"])}
    assert error_of(batch, 4)[0]["params"] == {"row": 2}
    family = people("+919826012121")
    assert sorted((p.name, p.age) for p in family.values()) == [("Ramesh Sahu", 63), ("Sunita", 32),
                                                               ("Sunita Sahu", 60)]
    assert len({p.household_id for p in family.values()}) == 1 and family["Sunita"].household_id is not None
    joins = db.session.scalars(db.select(AuditLog.entity_id).where(AuditLog.action == "household.join")).all()
    assert sorted(joins) == sorted(p.id for p in family.values())


def test_only_people_in_the_same_place_share_a_household(tmp_path, officer, raipur):
    make_patient(raipur, name="Ramesh Sahu", phone_number="+919826000001", setting="hospital", sex="male", age=70)
    batch = run(officer, tmp_path, [row(1, **{"Patient Name": "Pooja Sahu", "Age": 36, "SRF ID": ""})])
    assert reasons(batch) == {2: ("added", [])}  # at home, he is in hospital: no household
    assert all(p.household_id is None for p in people("+919826000001").values())


def test_a_dry_run_shows_the_held_and_told_apart_rows(tmp_path, officer, raipur):
    make_patient(raipur, name="Pooja Sahu", phone_number="+919826000001", age=36)
    dry = run(officer, tmp_path, [row(1, **{"Patient Name": "Pooja Sahu", "Age": 20, "SRF ID": ""}),
                                  row(2, **{"Patient Name": "Pooja", "Mobile No": "9826000001", "Age": 12,
                                            "SRF ID": ""})], dry_run=True)
    assert (dry.rows_held, dry.rows_added) == (1, 1)
    assert reasons(dry) == {2: ("held", ["held_same_name"]), 3: ("added", ["another_person", "household_joined"])}
    assert batches.summary(dry) == ("Checked 2 rows: 1 would be added, 0 updated, 0 unchanged, 1 held for review, "
                                    "0 rejected. Nothing was saved.")
    assert count(Patient) == 1 and count(Household) == 0


# --- every change in the timeline ---------------------------------------------------------------------------

def test_each_changed_field_is_audited_with_its_old_value(tmp_path, officer, raipur):
    patient = make_patient(raipur, name="Lata Dhruw", phone_number="+919826099999", lab_id="CG-0009", age=42,
                           comorbidities="heart")
    batch = run(officer, tmp_path, [row(9, **{"Patient Name": "Lata Dhruw", "Mobile No": "9826099999", "Age": 43,
                                               "Address": "House 4", "Comorbidity": "DM", "Setting": "DCH",
                                               "Facility": "AIIMS"})])
    assert batch.rows_updated == 1
    logged = db.session.scalars(db.select(AuditLog).where(AuditLog.action == "patient.import_update")).one()
    assert (logged.entity, logged.entity_id, logged.user_id) == ("patient", patient.id, officer.id)
    db.session.expire_all()
    patient = db.session.get(Patient, patient.id)
    assert logged.details == {"batch_id": batch.id, "row": 2, "changes": {
        "age": [42, 43], "address": ["", "House 4"], "village_id": [None, patient.village_id],
        "comorbidities": [["heart"], ["heart", "diabetes"]], "setting": ["home", "hospital"],
        "facility_id": [None, patient.facility_id]}}
    imported = next(e for e in records.timeline(patient) if e.kind == "imported")
    assert imported.extra["changes"][:2] == [("age", 42, 43), ("address", "", "House 4")]
    assert ("village_id", None, "Gobra Navapara") in imported.extra["changes"]
    assert ("facility_id", None, "AIIMS Raipur") in imported.extra["changes"]


@pytest.mark.parametrize("language, lines", [
    ("en", ["age 42 → 43", "address — → House 4", "comorbidities Heart disease → Heart disease, Diabetes"]),
    ("hi", ["आयु 42 → 43", "पता — → House 4", "पहले से मौजूद बीमारियां हृदय रोग → हृदय रोग, मधुमेह (शुगर)"]),
])
def test_the_patient_page_shows_what_an_import_changed(client, login, tmp_path, officer, raipur, language, lines):
    patient = make_patient(raipur, name="Lata Dhruw", phone_number="+919826099999", lab_id="CG-0009", age=42,
                           comorbidities="heart")
    run(officer, tmp_path, [row(9, **{"Patient Name": "Lata Dhruw", "Mobile No": "9826099999", "Age": 43,
                                       "Address": "House 4", "Comorbidity": "DM"})])
    login(make_user("nodal_officer", raipur, language=language))
    html = client.get(f"/patients/{patient.id}").get_data(as_text=True)
    changes = [" ".join(line.split()) for line in
               html.split('class="small tl-change"')[1:]]
    shown = [c.split(">", 1)[1].split("</div>")[0] for c in changes]
    for line in lines:
        assert line in shown, (line, shown)


@pytest.mark.parametrize("language, words", [
    ("en", ["Held for review", "the same phone and name as Pooja Sahu (36 F)", "Not Pooja Sahu (36 F)"]),
    ("hi", ["समीक्षा के लिए रोकी गई", "Pooja Sahu (36 F)"]),
])
def test_the_import_page_shows_held_and_added_rows_with_their_reason(client, login, tmp_path, officer, raipur,
                                                                     language, words):
    make_patient(raipur, name="Pooja Sahu", phone_number="+919826000001", age=36)
    batch = run(officer, tmp_path, [row(1, **{"Patient Name": "Pooja Sahu", "Age": 20, "SRF ID": ""}),
                                    row(2, **{"Patient Name": "Pooja", "Mobile No": "9826000001", "Age": 12,
                                              "SRF ID": ""})], dry_run=True)
    login(make_user("nodal_officer", raipur, language=language))
    html = client.get(f"/intake/imports/{batch.id}").get_data(as_text=True)
    for word in words:
        assert word in html, word
    held_tab = client.get(f"/intake/imports/{batch.id}?action=held").get_data(as_text=True)
    assert held_tab.count("table-warning") == 1
