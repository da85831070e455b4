"""Importing line lists through the service: validation, duplicates, history, today's calls, refusals."""
from datetime import datetime, time

import pytest

from callcenter.clock import local_date, local_to_utc
from callcenter.extensions import db
from callcenter.models import (
    AuditLog,
    CallTask,
    ImportRow,
    Patient,
    Transfer,
)
from callcenter.services.intake import batches, imports, messages, reading, storage

from ..factories import make_district, make_patient, make_task
from .conftest import COLUMNS, count, day, dmy, outcomes, patient_by_phone, row, run, write_xlsx

# --- adding -----------------------------------------------------------------------------------------------

def test_a_line_list_adds_patients_with_history_and_todays_calls(tmp_path, officer, raipur):
    # At 10:00, between the two slots (an import after the afternoon slot gets one call, not two:
    # tests/services/test_call_lists.py).
    batch = run(officer, tmp_path, [
        row(1, Comorbidity="DM, HTN", Address="House 4"),
        row(2, Age=30, Setting="Hospital", Facility="aiims raipur"),
        row(3, Age=28, Setting="", Facility="Indoor Stadium CCC", Village="Kendri", Block="Arang"),
    ], now=local_to_utc(datetime.combine(local_date(), time(10, 0))))
    assert (batch.status, batch.rows_total, batch.rows_added, batch.rows_rejected) == ("completed", 3, 3, 0)
    sunita = patient_by_phone("+919826000001")
    assert (sunita.name, sunita.lab_id, sunita.setting, sunita.positive_date, sunita.comorbidities,
            sunita.address, sunita.isolation_start_date) == (
        "Sunita Sahu", "CG-0001", "home", day(), "diabetes,hypertension", "House 4", day())
    assert sunita.village.name == "Gobra Navapara" and sunita.created_by_id == officer.id
    hospital = patient_by_phone("+919826000002")
    assert (hospital.setting, hospital.facility.name) == ("hospital", "AIIMS Raipur")
    ccc = patient_by_phone("+919826000003")
    assert (ccc.setting, ccc.facility.name, ccc.village.block.name) == ("ccc", "Indoor Stadium CCC", "Arang")
    transfers = db.session.scalars(db.select(Transfer).order_by(Transfer.patient_id)).all()
    assert [(t.from_setting, t.to_setting, t.reason) for t in transfers] == [(None, "home", "imported"),
                                                                            (None, "hospital", "imported"),
                                                                            (None, "ccc", "imported")]
    # Today's calls by the daily list's policy: a high-risk patient at home is called twice.
    tasks = db.session.scalars(db.select(CallTask).order_by(CallTask.patient_id, CallTask.slot)).all()
    assert [(t.patient_id, t.slot, t.task_date) for t in tasks] == [
        (sunita.id, 1, local_date()), (sunita.id, 2, local_date()), (hospital.id, 1, local_date()),
        (ccc.id, 1, local_date())]
    assert batch.tasks_created == 4
    assert {r.action for r in db.session.scalars(db.select(ImportRow))} == {"added"}
    log = db.session.scalar(db.select(AuditLog).where(AuditLog.action == "import.line_list"))
    assert log.entity_id == batch.id and log.details["rows_added"] == 3


def test_hindi_headers_in_an_excel_workbook_with_a_title_row(tmp_path, officer, raipur):
    import datetime as dt
    headers = ["क्र.", "मरीज का नाम", "आयु", "लिंग", "मोबाइल नंबर", "जांच की तारीख", "विकासखंड", "ग्राम", "स्थिति"]
    path = write_xlsx(tmp_path / "सूची.xlsx", headers, [
        [1, "रमेश साहू", 65, "पुरुष", 9826012345, dt.datetime.combine(day(2), dt.time()), "Abhanpur", "Kendri",
         "होम आइसोलेशन"],
        [2, "गीता वर्मा", "34 वर्ष", "महिला", "+91 98260 54321", day(1).strftime("%d.%m.%y"), "", "Mandir Hasaud",
         "गृह एकांतवास"],
    ], title="जिला रायपुर — कोविड पॉजिटिव सूची")
    batch = imports.import_line_list(storage.local_file(path), officer)
    assert (batch.rows_added, batch.rows_rejected) == (2, 0), outcomes(batch)
    ramesh = patient_by_phone("+919826012345")
    assert (ramesh.name, ramesh.age, ramesh.sex, ramesh.positive_date, ramesh.village.block.name) == (
        "रमेश साहू", 65, "male", day(2), "Abhanpur")
    assert patient_by_phone("+919826054321").positive_date == day(1)
    assert batch.filename == "सूची.xlsx"
    assert list(batch.mapping.values()) == ["ignore", "name", "age", "sex", "phone", "positive_date", "block",
                                            "village", "setting"]
    assert {r.row_number for r in db.session.scalars(db.select(ImportRow))} == {3, 4}  # as the sheet numbers them


# --- validation -------------------------------------------------------------------------------------------

BAD_CELLS = [
    ({"Mobile No": "12345"}, "Mobile No", "phone_invalid"),
    ({"Mobile No": "+14155552671"}, "Mobile No", "phone_not_indian"),
    ({"Mobile No": "02225551234"}, "Mobile No", "phone_not_mobile"),
    ({"Mobile No": "1234567890"}, "Mobile No", "phone_placeholder"),
    ({"Mobile No": "9.83E+09"}, "Mobile No", "phone_excel_shortened"),
    ({"Mobile No": ""}, "Mobile No", "required_blank"),
    ({"Date of Sample": "31/02/2021"}, "Date of Sample", "date_invalid"),
    ({"Date of Sample": "someday"}, "Date of Sample", "date_unreadable"),
    ({"Date of Sample": dmy(-3)}, "Date of Sample", "date_in_future"),
    ({"Date of Sample": "12/05/2012"}, "Date of Sample", "date_too_old"),
    ({"Age": "abc"}, "Age", "age_unreadable"),
    ({"Age": "150"}, "Age", "age_range"),
    ({"Sex": "X"}, "Sex", "sex_unknown"),
    ({"Patient Name": "????"}, "Patient Name", "name_no_letters"),
    ({"Patient Name": ""}, "Patient Name", "required_blank"),
    ({"Setting": "spaceship"}, "Setting", "setting_unknown"),
    ({"Setting": "Hospital"}, "Facility", "facility_missing"),
    ({"Setting": "Home", "Facility": "AIIMS Raipur"}, "Facility", "facility_not_for_home"),
    ({"Setting": "CCC", "Facility": "AIIMS Raipur"}, "Facility", "facility_wrong_kind"),
    ({"Setting": "Hospital", "Facility": "AIIMS Bhopal"}, "Facility", "place_unknown_suggest"),
    ({"Village": "Gobri"}, "Village", "place_unknown_suggest"),
    ({"Village": "Kendri"}, "Village", "place_ambiguous"),
    ({"Village": "Kendri", "Block": "Dharsiwa"}, "Block", "place_unknown"),
    ({"Comorbidity": "gout"}, "Comorbidity", "comorbidity_unknown"),
    ({"SRF ID": "X" * 41}, "SRF ID", "lab_id_too_long"),
]


def test_each_rule_names_the_row_column_value_and_reason(tmp_path, officer, raipur):
    rows = [row(n, **cells) for n, (cells, _column, _reason) in enumerate(BAD_CELLS, start=1)]
    batch = run(officer, tmp_path, rows + [row(len(rows) + 1)])
    found = outcomes(batch)
    for n, (cells, column, reason) in enumerate(BAD_CELLS, start=1):
        action, errors = found[n + 1]  # row 1 is the header
        value = str(next(iter(v for k, v in cells.items() if k == column), cells.get(column, "")))
        assert action == "rejected" and (column, value, reason) in errors, (cells, errors)
        assert len(errors) == 1, errors
    assert found[len(BAD_CELLS) + 2][0] == "added"
    assert (batch.rows_rejected, batch.rows_added, count(Patient)) == (len(BAD_CELLS), 1, 1)


def test_reasons_read_as_sentences_with_suggestions(tmp_path, officer, raipur):
    batch = run(officer, tmp_path, [row(1, Village="Gobri"), row(2, Village="Kendri"), row(3, Comorbidity="DM, gout")])
    texts = {r.row_number: messages.reason_text(r.errors[0]) for r in db.session.scalars(
        db.select(ImportRow).where(ImportRow.batch_id == batch.id))}
    assert texts[2] == "Not a name we know in this district. Did you mean: Gobra Navapara (Abhanpur)?"
    assert texts[3].startswith("More than one place has this name: Kendri (Abhanpur), Kendri (Arang).")
    assert "Unknown comorbidity gout" in texts[4]


def test_a_file_with_only_bad_rows_writes_no_patient(tmp_path, officer, raipur):
    batch = run(officer, tmp_path, [row(1, Age="abc"), row(2, **{"Mobile No": "1"})])
    assert (batch.status, batch.rows_total, batch.rows_rejected, batch.rows_added) == ("completed", 2, 2, 0)
    assert count(Patient) == count(CallTask) == count(Transfer) == 0
    assert batch.tasks_created == 0


# --- dry run ------------------------------------------------------------------------------------------------

def test_the_dry_run_writes_nothing_and_says_what_would_happen(tmp_path, officer, raipur):
    existing = make_patient(raipur, name="Lata Dhruw", phone_number="+919826099999", lab_id="CG-9", age=42)
    rows = [row(1), row(2, Age="x"), row(3), row(9, **{"Patient Name": "Lata Dhruw", "Mobile No": "9826099999",
                                                     "SRF ID": "CG-9", "Address": "New address"}),
            row(1, **{"S.No.": 5, "Address": "House 9"})]  # row 1's person again
    dry = run(officer, tmp_path, rows, dry_run=True)
    assert (dry.status, dry.rows_added, dry.rows_updated, dry.rows_unchanged, dry.rows_rejected) == (
        "dry_run", 2, 2, 0, 1)
    assert count(Patient) == 1 and count(Transfer) == 0 and count(CallTask) == 0
    assert db.session.get(Patient, existing.id).address == ""
    rows_seen = outcomes(dry)
    assert rows_seen[6][0] == "updated"  # found the same person the dry run "added" at row 2
    ids = {r.row_number: r.patient_id
           for r in db.session.scalars(db.select(ImportRow).where(ImportRow.batch_id == dry.id))}
    assert ids[2] is None and ids[6] is None and ids[5] == existing.id
    assert db.session.scalar(db.select(AuditLog.action).where(AuditLog.entity_id == dry.id)) == "import.dry_run"
    real = run(officer, tmp_path, rows)
    assert (real.rows_added, real.rows_updated, real.rows_unchanged, real.rows_rejected) == (2, 2, 0, 1)
    assert count(Patient) == 3


# --- no duplicates, no loss -----------------------------------------------------------------------------------

def test_importing_the_same_file_twice_changes_nothing(tmp_path, officer, raipur):
    make_patient(raipur, name="Lata Dhruw", phone_number="+919826099999", lab_id="CG-9", age=50)
    rows = [row(1), row(2, Setting="Hospital", Facility="AIIMS Raipur"), row(3, Age="x"),
            row(9, **{"Patient Name": "Lata Dhruw", "Mobile No": "9826099999", "SRF ID": "CG-9", "Age": 51}),
            row(1, **{"S.No.": 6, "Address": "House 9"}), row(1, **{"S.No.": 7, "Age": 43})]
    first = run(officer, tmp_path, rows)
    assert (first.rows_added, first.rows_updated, first.rows_unchanged, first.rows_rejected) == (2, 2, 0, 2)
    snapshot = {p.id: (p.age, p.address, p.setting, p.facility_id, p.lab_id)
                for p in db.session.scalars(db.select(Patient))}
    counts = (count(Patient), count(Transfer), count(CallTask))
    second = run(officer, tmp_path, rows)
    assert (second.rows_added, second.rows_updated, second.rows_unchanged, second.rows_rejected) == (0, 0, 4, 2)
    db.session.expire_all()
    assert {p.id: (p.age, p.address, p.setting, p.facility_id, p.lab_id)
            for p in db.session.scalars(db.select(Patient))} == snapshot
    assert (count(Patient), count(Transfer), count(CallTask)) == counts
    assert batches.earlier_imports(second) == [first]


@pytest.mark.parametrize("chunk_rows", [1000, 1])
def test_the_same_person_twice_in_one_file_is_one_patient(tmp_path, officer, raipur, monkeypatch, chunk_rows):
    monkeypatch.setattr(reading, "CHUNK_ROWS", chunk_rows)  # also across chunks
    batch = run(officer, tmp_path, [
        row(1, **{"SRF ID": ""}),
        row(2, **{"S.No.": 2, "Patient Name": "smt. sunita sahoo", "Mobile No": "+91 98260-00001", "SRF ID": "",
                  "Address": "House 9", "Comorbidity": "Diabetes"}),
        row(3, **{"S.No.": 3, "Patient Name": "S Sahu", "Mobile No": "9826011111", "SRF ID": "CG-0003"}),
        row(4, **{"S.No.": 4, "Patient Name": "Sunita S.", "Mobile No": "9826011111", "SRF ID": "CG-0003"}),
        row(5, **{"S.No.": 5, "Patient Name": "Sunita Sahu", "Age": 41, "Mobile No": "098260 00001", "SRF ID": ""}),
    ])
    assert outcomes(batch) == {
        2: ("added", []), 3: ("updated", [("Patient Name", "smt. sunita sahoo", "same_as_row")]), 4: ("added", []),
        5: ("unchanged", [("Patient Name", "Sunita S.", "same_as_row")]),
        6: ("rejected", [("Age", "41", "conflicts_with_row")])}
    sunita = patient_by_phone("+919826000001")
    assert (sunita.name, sunita.age, sunita.address, sunita.comorbidities) == ("Sunita Sahu", 42, "House 9", "diabetes")
    assert count(Patient) == 2
    error = db.session.scalar(db.select(ImportRow).where(ImportRow.row_number == 6)).errors[0]
    assert error["params"] == {"row": 2, "value": "42"}
    assert messages.reason_text(error).startswith("Differs from 42, which this person already has: row 2 of this file")


def test_a_person_on_record_is_updated_never_overwritten_with_blanks(tmp_path, officer, raipur):
    patient = make_patient(raipur, name="Lata Dhruw", phone_number="+919826099999", lab_id="CG-0009", age=50,
                           address="Old house", comorbidities="heart")
    make_task(patient)
    batch = run(officer, tmp_path, [row(9, **{"Patient Name": "Lata Dhruw", "Age": 51, "Address": "",
                                               "Village": "", "Comorbidity": "DM", "Setting": ""})])
    assert (batch.rows_updated, batch.rows_added) == (1, 0)
    db.session.expire_all()
    patient = db.session.get(Patient, patient.id)
    assert (patient.age, patient.address, patient.village_id, patient.comorbidities, patient.setting) == (
        51, "Old house", None, "heart,diabetes", "home")
    assert count(Transfer) == 0
    # Today's first call was there already; the second (high risk, at home) is added by the policy.
    assert sorted(db.session.scalars(db.select(CallTask.slot))) == [1, 2]
    assert db.session.scalar(db.select(ImportRow.patient_id)) == patient.id


def test_the_lab_id_identifies_a_person_whose_phone_changed(tmp_path, officer, raipur):
    patient = make_patient(raipur, name="Lata Dhruw", phone_number="+919826099999", lab_id="CG-0009",
                           phone_invalid=True, age=42)
    run(officer, tmp_path, [row(9, **{"Patient Name": "Lata Dhruw", "Mobile No": "9826088888"})])
    db.session.expire_all()
    patient = db.session.get(Patient, patient.id)
    assert (patient.phone, patient.phone_invalid, count(Patient)) == ("+919826088888", False, 1)


def test_family_members_sharing_a_phone_stay_apart(tmp_path, officer, raipur):
    make_patient(raipur, name="Ramesh Sahu", phone_number="+919826000001", sex="male", age=60)
    batch = run(officer, tmp_path, [row(1, **{"Patient Name": "Rakesh Sahu", "SRF ID": "", "Sex": "M", "Age": 32}),
                                    row(2, **{"Patient Name": "Ramesh Sahoo", "Mobile No": "9826000001",
                                              "SRF ID": "", "Sex": "M", "Age": 60})])
    assert [a for a, _e in outcomes(batch).values()] == ["added", "updated"]  # (his village filled in)
    assert sorted((p.name, p.age) for p in db.session.scalars(db.select(Patient))) == [
        ("Rakesh Sahu", 32), ("Ramesh Sahu", 60)]


def test_a_setting_change_is_a_transfer_and_moves_todays_call(tmp_path, officer, raipur):
    patient = make_patient(raipur, name="Lata Dhruw", phone_number="+919826099999", lab_id="CG-0009", age=42)
    task = make_task(patient)
    batch = run(officer, tmp_path, [row(9, **{"Patient Name": "Lata Dhruw", "Setting": "DCH",
                                               "Facility": "AIIMS"})])
    assert batch.rows_updated == 1
    db.session.expire_all()
    patient = db.session.get(Patient, patient.id)
    assert (patient.setting, patient.facility.name) == ("hospital", "AIIMS Raipur")
    transfer = db.session.scalars(db.select(Transfer)).one()
    assert (transfer.from_setting, transfer.to_setting, transfer.to_facility_id, transfer.reason,
            transfer.by_user_id) == ("home", "hospital", patient.facility_id, f"line list import #{batch.id}",
                                     officer.id)
    assert db.session.get(CallTask, task.id).setting == "hospital"


def test_someone_elses_lab_id_is_rejected(tmp_path, officer, raipur):
    make_patient(raipur, name="Ramesh Verma", phone_number="+919826077777", lab_id="CG-0001")
    batch = run(officer, tmp_path, [row(1)])
    assert outcomes(batch)[2] == ("rejected", [("SRF ID", "CG-0001", "lab_conflict")])
    assert "Ramesh Verma" in messages.reason_text(db.session.scalar(db.select(ImportRow)).errors[0])


def test_a_recovered_patient_positive_again_is_a_new_episode(tmp_path, officer, raipur):
    old = make_patient(raipur, name="Sunita Sahu", phone_number="+919826000001", status="recovered",
                       positive_date=day(200))
    same_test = make_patient(raipur, name="Geeta Verma", phone_number="+919826000002", status="recovered",
                             positive_date=day(1))
    batch = run(officer, tmp_path, [row(1, **{"SRF ID": ""}),
                                    row(2, **{"Patient Name": "Geeta Verma", "SRF ID": "", "Age": 35, "Village": "",
                                              "Setting": "CCC", "Facility": "Indoor Stadium CCC"})])
    assert [a for a, _e in outcomes(batch).values()] == ["added", "unchanged"]
    db.session.expire_all()
    assert db.session.get(Patient, old.id).status == "recovered"
    recovered = db.session.get(Patient, same_test.id)
    assert (recovered.status, recovered.setting) == ("recovered", "home")  # no silent move, no new calls
    assert {t.patient_id for t in db.session.scalars(db.select(CallTask))} == {
        patient_by_phone_active("+919826000001").id}


def patient_by_phone_active(phone):
    return db.session.scalar(db.select(Patient).where(Patient.phone == phone, Patient.status == "active"))


def test_a_person_on_record_in_another_district_is_not_touched(tmp_path, officer, raipur):
    other = make_district()
    make_patient(other, name="Sunita Sahu", phone_number="+919826000001", lab_id="CG-0001")
    batch = run(officer, tmp_path, [row(1)])
    assert outcomes(batch)[2] == ("rejected", [("SRF ID", "CG-0001", "other_district")])


def test_a_workbook_is_read_from_its_first_sheet_whichever_was_open(tmp_path, officer, raipur):
    import openpyxl
    workbook = openpyxl.Workbook()
    workbook.active.title = "Positives"
    workbook.active.append(COLUMNS)
    workbook.active.append([row(1).get(h, "") for h in COLUMNS])
    summary = workbook.create_sheet("Summary")
    summary.append(["Block", "Cases"])
    summary.append(["Abhanpur", 1])
    workbook.active = 1  # saved with the summary open, as a district office would
    path = tmp_path / "list.xlsx"
    workbook.save(path)
    batch = imports.import_line_list(storage.local_file(path), officer)
    assert (batch.rows_total, batch.rows_added) == (1, 1)
    assert patient_by_phone("+919826000001").name == "Sunita Sahu"


def test_placeholder_phones_are_rejected_and_nobody_is_joined_on_them(tmp_path, officer, raipur):
    batch = run(officer, tmp_path, [row(1, **{"Mobile No": "9999999999"}),
                                    row(2, **{"Mobile No": "9999999999", "Patient Name": "Pooja Sahu", "Age": 36})])
    assert [a for a, _e in outcomes(batch).values()] == ["rejected", "rejected"]
    assert {e[2] for _a, errors in outcomes(batch).values() for e in errors} == {"phone_placeholder"}
    assert count(Patient) == 0
