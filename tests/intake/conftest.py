"""Line-list fixtures: small CSV and XLSX files written in tmp_path, uploads kept in tmp_path too."""
import csv
from datetime import timedelta

import pytest

from callcenter.clock import local_date
from callcenter.extensions import db
from callcenter.models import Block, Facility, ImportRow, Patient, Village
from callcenter.services.intake import imports, storage

from ..factories import make_district, make_user

HEADERS = ["S.No.", "Patient Name", "Age", "Sex", "Mobile No", "SRF ID", "Date of Sample", "Village", "Setting",
           "Facility"]


def day(days_ago=1):
    return local_date() - timedelta(days=days_ago)


def dmy(days_ago=1):
    return day(days_ago).strftime("%d/%m/%Y")


def write_csv(path, headers, rows, encoding="utf-8"):
    with open(path, "w", newline="", encoding=encoding) as f:
        writer = csv.writer(f)
        writer.writerow(headers)
        writer.writerows(rows)
    return path


def write_xlsx(path, headers, rows, title=None):
    import openpyxl
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    if title:
        sheet.append([title])
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


@pytest.fixture(autouse=True)
def _uploads_in_tmp(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_UPLOAD_DIR", str(tmp_path / "uploads"))


@pytest.fixture
def nodal(district):
    return make_user("nodal_officer", district)


@pytest.fixture
def run_import(tmp_path):
    """run_import(user, headers, rows, dry_run=False, name="list.csv", **kw) → the batch."""
    def _run(user, headers, rows, dry_run=False, name="list.csv", **kwargs):
        path = tmp_path / name
        if name.endswith(".xlsx"):
            write_xlsx(path, headers, rows)
        else:
            write_csv(path, headers, rows)
        return imports.import_line_list(storage.local_file(path), user, dry_run=dry_run, **kwargs)
    return _run


# Shared by the import service's tests: a district with names to match, its officer, rows and a run.

COLUMNS = ["S.No.", "Patient Name", "Age", "Sex", "Mobile No", "SRF ID", "Date of Sample", "Block", "Village",
           "Setting", "Facility", "Address", "Comorbidity"]


@pytest.fixture
def raipur():
    """A district with names to match: two blocks share a village name."""
    district = make_district("Raipur", with_places=False)
    abhanpur, arang = Block(district=district, name="Abhanpur"), Block(district=district, name="Arang")
    db.session.add_all([
        abhanpur, arang, Village(block=abhanpur, name="Gobra Navapara"), Village(block=abhanpur, name="Kendri"),
        Village(block=arang, name="Kendri"), Village(block=arang, name="Mandir Hasaud"),
        Facility(district=district, name="AIIMS Raipur", kind="hospital"),
        Facility(district=district, name="Indoor Stadium CCC", kind="ccc"),
    ])
    db.session.commit()
    return district


@pytest.fixture
def officer(raipur):
    return make_user("nodal_officer", raipur)


def row(n=1, **values):
    """One line-list row (a dict by header); phones differ by n."""
    base = {"S.No.": n, "Patient Name": f"Sunita Sahu {chr(64 + n)}" if n > 1 else "Sunita Sahu", "Age": 42,
            "Sex": "F", "Mobile No": f"98260{n:05d}", "SRF ID": f"CG-{n:04d}", "Date of Sample": dmy(),
            "Block": "", "Village": "Gobra Navapara", "Setting": "Home Isolation", "Facility": "", "Address": "",
            "Comorbidity": ""}
    base.update(values)
    return base


def run(user, tmp_path, rows, name="list.csv", headers=COLUMNS, **kwargs):
    path = tmp_path / name
    cells = [[r.get(h, "") for h in headers] for r in rows]
    (write_xlsx if name.endswith(".xlsx") else write_csv)(path, headers, cells)
    return imports.import_line_list(storage.local_file(path), user, **kwargs)


def count(model):
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def outcomes(batch):
    return {r.row_number: (r.action, [(e["column"], e["value"], e["reason"]) for e in r.errors])
            for r in db.session.scalars(db.select(ImportRow).where(ImportRow.batch_id == batch.id))}


def patient_by_phone(phone):
    return db.session.scalar(db.select(Patient).where(Patient.phone == phone))
