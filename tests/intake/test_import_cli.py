"""`flask import-patients FILE [--dry-run] [--district NAME] [--map HEADER=FIELD] [--report PATH]`."""
import csv

from callcenter.extensions import db
from callcenter.models import CallTask, HeaderMapping, ImportBatch, Patient

from ..factories import make_district, village
from .conftest import dmy, write_csv

HEADERS = ["Name", "Age", "Sex", "Mobile", "Date of Sample", "Village"]


def count(model):
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def line_list(tmp_path, district, name="list.csv"):
    v = village(district).name
    return write_csv(tmp_path / name, HEADERS, [["Sunita Sahu", "42", "F", "9826012345", dmy(), v],
                                                ["Ramesh Verma", "65", "M", "12345", dmy(), v]])


def test_dry_run_then_import(runner, district, tmp_path):
    path = line_list(tmp_path, district)
    result = runner.invoke(args=["import-patients", str(path), "--dry-run", "--district", district.name.upper()])
    assert result.exit_code == 0, result.output
    assert "1 would be added" in result.output and "Nothing was saved." in result.output
    assert 'row 3, Mobile "12345": Not a valid Indian mobile number.' in result.output
    assert count(Patient) == 0
    result = runner.invoke(args=["import-patients", str(path), "--district", district.name])
    assert result.exit_code == 0, result.output
    assert "Imported 2 rows: 1 added" in result.output and "calls added to today's queue" in result.output
    report = tmp_path / "list-errors.csv"
    assert str(report) in result.output
    with open(report, encoding="utf-8-sig", newline="") as f:
        lines = list(csv.reader(f))
    assert lines[0] == HEADERS + ["errors"] and lines[1][0] == "Ramesh Verma"
    assert count(Patient) == 1 and count(CallTask) == 1
    batch = db.session.scalars(db.select(ImportBatch).order_by(ImportBatch.id.desc())).first()
    assert (batch.source, batch.user_id, batch.district_id) == ("cli", None, district.id)
    assert path.exists()  # the shell's file is never deleted
    result = runner.invoke(args=["import-patients", str(path), "--district", district.name])
    assert "0 added, 0 updated, 1 unchanged, 1 rejected" in result.output


def test_unknown_columns_are_mapped_with_map(runner, district, tmp_path):
    path = write_csv(tmp_path / "a.csv", ["Rogi", "Umar", "Sex", "Mobile", "Date of Sample"],
                     [["Sunita Sahu", "42", "F", "9826012345", dmy()]])
    result = runner.invoke(args=["import-patients", str(path), "--district", district.name])
    assert result.exit_code != 0
    assert "not known: 'Rogi'" in result.output and "no column holds: name" in result.output
    result = runner.invoke(args=["import-patients", str(path), "--district", district.name, "--map", "Rogi=name",
                                 "--map", "Umar=age"])
    assert result.exit_code == 0, result.output
    assert count(Patient) == 1 and count(HeaderMapping) == 2
    result = runner.invoke(args=["import-patients", str(path), "--map", "Rogi=shoe_size"])
    assert result.exit_code != 0 and "FIELD one of" in result.output


def test_refusals_and_bad_options(runner, district, tmp_path):
    bad = tmp_path / "garbage.csv"
    bad.write_bytes(b"\x00\x01\x02garbage")
    result = runner.invoke(args=["import-patients", str(bad), "--district", district.name])
    assert result.exit_code != 0 and "This is not a CSV (text) file." in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(args=["import-patients", str(line_list(tmp_path, district)), "--district", "Atlantis"])
    assert result.exit_code != 0 and "No district named Atlantis" in result.output


def test_state_level_without_a_district_column(runner, district, tmp_path):
    make_district()
    result = runner.invoke(args=["import-patients", str(line_list(tmp_path, district))])
    assert result.exit_code != 0 and "no column holds: district" in result.output
