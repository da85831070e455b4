"""Line-list fixtures: small CSV and XLSX files written in tmp_path, uploads kept in tmp_path too."""
import csv
from datetime import timedelta

import pytest

from callcenter.clock import local_date
from callcenter.services.intake import imports, storage

from ..factories import make_user

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
