"""The import's error report is guarded like every CSV (rules/spreadsheet.py), and still goes back in: the
quote the guard put in front of a cell is taken off when the corrected report is imported again."""
import csv

from callcenter.extensions import db
from callcenter.models import Patient
from callcenter.services.intake import batches, imports, storage

from .conftest import COLUMNS, row, run


def test_the_guarded_error_report_is_imported_again_as_written(tmp_path, officer, raipur):
    first = run(officer, tmp_path, [row(2, **{"Patient Name": "-Ravi Sahu", "Mobile No": "+91 98260 00002",
                                              "Age": "-5", "Address": "@Gali 4", "Comorbidity": "=1+1"})])
    assert first.rows_rejected == 1
    report = tmp_path / "errors.csv"
    report.write_text("".join(batches.error_report(first)), encoding="utf-8")
    with open(report, encoding="utf-8-sig", newline="") as f:
        lines = list(csv.reader(f))
    cells = dict(zip(lines[0], lines[1], strict=True))
    assert (cells["Patient Name"], cells["Mobile No"], cells["Age"], cells["Address"], cells["Comorbidity"]) == (
        "'-Ravi Sahu", "'+91 98260 00002", "'-5", "'@Gali 4", "'=1+1")
    lines[1][COLUMNS.index("Age")] = "33"  # corrected in a spreadsheet; the rest saved back as it came
    lines[1][COLUMNS.index("Comorbidity")] = ""
    with open(report, "w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows(lines)
    second = imports.import_line_list(storage.local_file(report), officer)
    assert (second.rows_added, second.rows_rejected) == (1, 0)
    patient = db.session.scalar(db.select(Patient).where(Patient.phone == "+919826000002"))
    assert (patient.name, patient.age, patient.address) == ("-Ravi Sahu", 33, "@Gali 4")
