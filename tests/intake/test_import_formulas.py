"""A formula cell saved without its value (a workbook written by a program that never calculated it, e.g.
openpyxl writing "=A1+1") is said so on its row, not read as a blank; a sheet reads as before otherwise."""
import zipfile

from callcenter.extensions import db
from callcenter.models import ImportRow
from callcenter.services.intake import imports, reading, storage
from callcenter.services.intake.messages import reason_text

from .conftest import COLUMNS, day, outcomes, patient_by_phone, row, write_xlsx


def cells_at(path, replacements):
    """The workbook with parts of its sheet's XML replaced (what Excel would have saved instead)."""
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    for old, new in replacements.items():
        assert old in sheet, old
        sheet = sheet.replace(old, new)
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    with zipfile.ZipFile(path, "w") as target:
        for name, data in parts.items():
            target.writestr(name, data)
    return path


def test_a_formula_without_a_saved_value_is_said_so_not_read_as_blank(tmp_path, officer, raipur):
    rows = [row(1, Age="=40+2"), row(2, Address="=B3"), row(3, Age="=40+2"), row(4, Address='=IF(1=1,"","x")'),
            row(5)]
    path = write_xlsx(tmp_path / "uncalculated.xlsx", COLUMNS, [[r.get(h, "") for h in COLUMNS] for r in rows])
    # Rows 4 and 5 as Excel saves them: a formula with its value; a formula whose value is the empty string.
    cells_at(path, {'<c r="C4"><f>40+2</f><v /></c>': '<c r="C4"><f>40+2</f><v>42</v></c>',
                    '<c r="L5"><f>IF(1=1,"","x")</f><v /></c>': '<c r="L5" t="str"><f>IF(1=1,"","x")</f><v></v></c>'})
    batch = imports.import_line_list(storage.local_file(path), officer)
    found = outcomes(batch)
    assert found[2] == ("rejected", [("Age", "=40+2", "formula_no_value")])
    assert found[3] == ("rejected", [("Address", "=B3", "formula_no_value")])
    assert found[4] == ("added", []) and patient_by_phone("+919826000003").age == 42
    assert found[5] == ("added", []) and patient_by_phone("+919826000004").address == ""
    assert found[6] == ("added", [])
    error = db.session.scalar(db.select(ImportRow).where(ImportRow.batch_id == batch.id, ImportRow.row_number == 2))
    assert reason_text(error.errors[0]) == ("A formula without a saved value: the program that wrote the file never "
                                            "calculated it. Open the file in Excel and save it, then upload it again.")


def test_an_excel_sheet_reads_as_before(tmp_path):
    """Dates, numbers, text, gaps between rows and cells: the same values openpyxl's own reading gives."""
    import openpyxl
    path = write_xlsx(tmp_path / "plain.xlsx", ["Name", "Age", "Date of Sample", "Mobile"],
                      [["Sunita", 42, day(2), 9826012345], [], ["Ramesh", 41.0, None, "98260 12346"]])
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    theirs = [[v for v in r] for r in workbook.worksheets[0].iter_rows(values_only=True)]
    workbook.close()
    ours = list(reading.rows(storage.local_file(path)))
    assert [r + [None] * (len(t) - len(r)) for r, t in zip(ours, theirs, strict=True)] == theirs
    assert ours[1][2] == theirs[1][2] and ours[3][1] == 41.0
