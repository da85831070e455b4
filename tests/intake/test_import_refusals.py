"""Importing line lists through the service: the error report, files that are not line lists, columns to map,
who imports for which district."""
import csv
from datetime import timedelta

import pytest

from callcenter.clock import utcnow
from callcenter.extensions import db
from callcenter.models import (
    District,
    HeaderMapping,
    ImportBatch,
    ImportRow,
    Patient,
)
from callcenter.services.core.errors import Forbidden
from callcenter.services.intake import batches, imports, messages, reading, storage

from ..factories import make_district, make_user
from .conftest import COLUMNS, count, dmy, outcomes, patient_by_phone, row, run, write_csv

# --- the error report ----------------------------------------------------------------------------------------

def test_the_corrected_error_report_finishes_the_job(tmp_path, officer, raipur):
    first = run(officer, tmp_path, [row(1), row(2, **{"Mobile No": "12345"}), row(3, Village="Gobri"),
                                    row(4, Age="abc")])
    assert (first.rows_added, first.rows_rejected) == (1, 3)
    report = tmp_path / "errors.csv"
    report.write_text("".join(batches.error_report(first)), encoding="utf-8")
    with open(report, encoding="utf-8-sig", newline="") as f:
        lines = list(csv.reader(f))
    assert lines[0] == COLUMNS + ["errors"]
    assert [line[0] for line in lines[1:]] == ["2", "3", "4"]
    assert lines[1][4] == "12345" and lines[1][-1] == "Mobile No: Not a valid Indian mobile number."
    assert "Did you mean: Gobra Navapara (Abhanpur)?" in lines[2][-1]
    lines[1][4], lines[2][8], lines[3][2] = "9826000002", "Gobra Navapara", "33"  # corrected in Excel
    with open(report, "w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows(lines)
    second = imports.import_line_list(storage.local_file(report), officer)
    assert (second.rows_total, second.rows_added, second.rows_rejected) == (3, 3, 0)
    assert count(Patient) == 4
    assert second.mapping["errors"] == "ignore"


# --- files that are not line lists ----------------------------------------------------------------------------

def _refused(officer, path):
    with pytest.raises(messages.Refused) as exc:
        imports.import_line_list(storage.local_file(path), officer)
    assert exc.value.batch.status == "refused" and exc.value.batch.message == str(exc.value.message)
    return str(exc.value.message)


def test_broken_files_are_refused_with_a_clear_message(tmp_path, officer, raipur, app, monkeypatch):
    import os
    cases = {
        "garbage.csv": (os.urandom(2000) + b"\x00", "not a CSV (text) file"),
        "empty.csv": (b"", "The file is empty."),
        "notes.pdf": (b"%PDF-1.4", "Upload a line list as a CSV file or an Excel workbook (.xlsx)."),
        "old.xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old Excel file (.xls)"),
        "fake.xlsx": (b"Name,Age\nA,3\n", "not an Excel workbook that can be read"),
        "zip.xlsx": (b"PK\x03\x04" + os.urandom(300), "not an Excel workbook that can be read"),
        "excel-ansi.csv": ("Name,Age,Sex,Mobile,Date of Sample\nJosé,30,M,9826012345,12/05/2021\n".encode("cp1252"),
                           "CSV UTF-8"),
        "header-only.csv": (b"Name,Age,Sex,Mobile,Date of Sample\n", "no patients under it"),
        "blank.csv": (b",,\n,,\n", "first rows of the file are blank"),
    }
    for name, (content, expected) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        assert expected in _refused(officer, path), name
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 1024 * 1024)
    big = tmp_path / "big.csv"
    big.write_bytes(b"x" * (1024 * 1024 + 1))
    assert "larger than 1 MB" in _refused(officer, big)
    assert count(ImportBatch) == len(cases) + 1 and count(Patient) == 0


def test_too_many_rows_is_refused_and_nothing_is_written(tmp_path, officer, raipur, app, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 2)
    monkeypatch.setattr(reading, "CHUNK_ROWS", 1)
    path = tmp_path / "many.csv"
    write_csv(path, COLUMNS, [[r[h] for h in COLUMNS] for r in (row(1), row(2), row(3))])
    assert "more than 2 rows" in _refused(officer, path)
    assert count(Patient) == 0 and count(ImportRow) == 0


@pytest.mark.parametrize("encoding, delimiter", [("utf-8-sig", ","), ("utf-16", ","), ("utf-8", ";"),
                                                 ("utf-8", "\t")])
def test_unicode_csv_encodings_and_delimiters_are_read(tmp_path, officer, raipur, encoding, delimiter):
    path = tmp_path / "list.csv"
    with open(path, "w", encoding=encoding, newline="") as f:
        writer = csv.writer(f, delimiter=delimiter)
        writer.writerow(["नाम", "आयु", "लिंग", "मोबाइल नंबर", "जांच की तारीख"])
        writer.writerow(["सुनीता साहू", "42", "महिला", "9826012345", dmy()])
    batch = imports.import_line_list(storage.local_file(path), officer)
    assert batch.rows_added == 1 and patient_by_phone("+919826012345").name == "सुनीता साहू"


# --- columns ------------------------------------------------------------------------------------------------

def test_unknown_headers_need_a_person_and_are_remembered(tmp_path, officer, raipur):
    headers = ["Rogi ka naam", "Umar", "Sex", "Mobile", "Date of Sample", "Colour"]
    path = write_csv(tmp_path / "a.csv", headers, [["Sunita Sahu", "42", "F", "9826012345", dmy(), "red"]])
    with pytest.raises(messages.NeedsMapping) as exc:
        imports.import_line_list(storage.local_file(path), officer)
    inspection = exc.value.inspection
    assert inspection.map.unknown == ["Rogi ka naam", "Umar", "Colour"]
    assert inspection.missing == ["name", "age"]
    assert inspection.samples == [["Sunita Sahu", "42", "F", "9826012345", dmy(), "red"]]
    assert count(ImportBatch) == 0
    chosen = {"Rogi ka naam": "name", "Umar": "age", "Sex": "sex", "Mobile": "phone", "Date of Sample": "positive_date",
              "Colour": "ignore"}
    reading.remember_mapping(chosen, officer)
    assert {(m.header_key, m.field) for m in db.session.scalars(db.select(HeaderMapping))} == {
        ("rogi ka naam", "name"), ("umar", "age"), ("colour", "ignore")}  # built-in names are not stored
    assert imports.import_line_list(storage.local_file(path), officer, mapping=chosen).rows_added == 1
    # The next file with these headers goes straight through.
    path2 = write_csv(tmp_path / "b.csv", headers, [["Geeta Verma", "30", "F", "9826054321", dmy(), "blue"]])
    assert imports.import_line_list(storage.local_file(path2), officer).rows_added == 1


def test_two_columns_for_one_field_need_a_choice(tmp_path, officer, raipur):
    headers = ["Name", "Age", "Sex", "Mobile", "Contact No", "Date of Sample"]
    path = write_csv(tmp_path / "a.csv", headers, [["Sunita Sahu", "42", "F", "9826012345", "9826099999", dmy()]])
    with pytest.raises(messages.NeedsMapping) as exc:
        imports.import_line_list(storage.local_file(path), officer)
    assert exc.value.inspection.map.duplicates == {"phone": ["Mobile", "Contact No"]}
    chosen = dict(zip(headers, ["name", "age", "sex", "phone", "attendant_phone", "positive_date"], strict=True))
    imports.import_line_list(storage.local_file(path), officer, mapping=chosen)
    assert patient_by_phone("+919826012345").attendant_phone == "+919826099999"


# --- who and where ------------------------------------------------------------------------------------------

def test_a_state_officer_imports_by_each_rows_district(tmp_path, raipur):
    admin = make_user("admin")
    other = make_district("Durg")
    headers = COLUMNS + ["District"]
    rows = [row(1, District="Raipur"), row(2, District="durg", Village="", Block=""), row(3, District="Atlantis"),
            row(4, District="")]
    path = write_csv(tmp_path / "state.csv", headers, [[r.get(h, "") for h in headers] for r in rows])
    batch = imports.import_line_list(storage.local_file(path), admin)
    assert batch.district_id is None
    found = outcomes(batch)
    assert [found[n][0] for n in (2, 3, 4, 5)] == ["added", "added", "rejected", "rejected"]
    assert found[4][1] == [("District", "Atlantis", "place_unknown")]
    assert found[5][1] == [("District", "", "required_blank")] or found[5][1][0][2] in ("required_blank",
                                                                                         "district_required")
    assert patient_by_phone("+919826000002").district_id == other.id
    # Without a District column, the state officer names the district.
    path = write_csv(tmp_path / "raipur.csv", COLUMNS, [[row(5)[h] for h in COLUMNS]])
    with pytest.raises(messages.NeedsMapping) as exc:
        imports.import_line_list(storage.local_file(path), admin)
    assert exc.value.inspection.missing == ["district"]
    assert imports.import_line_list(storage.local_file(path), admin, district_id=raipur.id).rows_added == 1


def test_district_scope_and_roles(tmp_path, officer, raipur):
    other = make_district()
    path = write_csv(tmp_path / "a.csv", COLUMNS, [[row(1)[h] for h in COLUMNS]])
    with pytest.raises(Forbidden):
        imports.import_line_list(storage.local_file(path), officer, district_id=other.id)
    for role in ("volunteer", "control_room", "doctor", "counsellor"):
        with pytest.raises(Forbidden):
            imports.import_line_list(storage.local_file(path), make_user(role, raipur))
    assert count(ImportBatch) == 0


def test_the_row_says_another_district(tmp_path, officer, raipur):
    make_district("Durg")
    headers = COLUMNS + ["District"]
    path = write_csv(tmp_path / "a.csv", headers, [[row(1, District="Durg").get(h, "") for h in headers]])
    batch = imports.import_line_list(storage.local_file(path), officer)
    assert outcomes(batch)[2][1] == [("District", "Durg", "place_unknown")]  # not a district this officer sees


def test_import_rows_record_when(tmp_path, officer, raipur):
    now = utcnow() - timedelta(hours=1)
    batch = run(officer, tmp_path, [row(1)], now=now)
    assert batch.started_at == now == batch.finished_at
    assert db.session.scalar(db.select(District).where(District.id == batch.district_id)).name == "Raipur"
