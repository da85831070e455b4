"""The import pages over HTTP, CSRF on: upload, column mapping, dry run then import, batch page, error report."""
import csv
import io
import re

import pytest

from callcenter.extensions import db
from callcenter.models import AuditLog, HeaderMapping, ImportBatch, Patient
from callcenter.services.intake import storage

from ..conftest import csrf_token
from ..factories import make_district, make_user, village
from .conftest import dmy

ROLES = ["volunteer", "control_room", "doctor", "counsellor", "nodal_officer", "admin"]


def csv_bytes(headers, rows, encoding="utf-8"):
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(headers)
    writer.writerows(rows)
    return text.getvalue().encode(encoding)


def good_file(district, extra_rows=()):
    v = village(district).name
    return csv_bytes(["Name", "Age", "Sex", "Mobile", "SRF ID", "Date of Sample", "Village"], [
        ["Sunita Sahu", "42", "F", "9826012345", "CG-1", dmy(), v],
        ["Ramesh Verma", "65", "M", "12345", "CG-2", dmy(), v],
        *extra_rows])


def upload(client, content, filename="list.csv", dry_run=True, **extra):
    data = {"csrf_token": csrf_token(client, "/intake/import"), "file": (io.BytesIO(content), filename)}
    if dry_run:
        data["dry_run"] = "y"
    data.update(extra)
    return client.post("/intake/import", data=data, content_type="multipart/form-data")


def batch_id(response):
    return int(re.search(r"/intake/imports/(\d+)", response.headers["Location"]).group(1))


def test_dry_run_then_import_from_the_batch_page(client, login, district):
    login(make_user("nodal_officer", district))
    response = upload(client, good_file(district))
    assert response.status_code == 302
    dry = db.session.get(ImportBatch, batch_id(response))
    assert dry.status == "dry_run" and db.session.scalar(db.select(db.func.count()).select_from(Patient)) == 0
    html = client.get(f"/intake/imports/{dry.id}").get_data(as_text=True)
    assert "Checked 2 rows: 1 would be added, 0 updated, 0 unchanged, 1 rejected. Nothing was saved." in html
    assert "Not a valid Indian mobile number." in html and "“12345”" in html and "Ramesh Verma" in html
    assert "Import the valid rows now" in html
    token = csrf_token(client, f"/intake/imports/{dry.id}")
    response = client.post(f"/intake/imports/{dry.id}/run", data={"csrf_token": token})
    real = db.session.get(ImportBatch, batch_id(response))
    assert (real.status, real.rows_added, real.rows_rejected) == ("completed", 1, 1)
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Imported 2 rows: 1 added" in html and "calls were added to today" in html
    assert "Sunita Sahu" in html and "Import the valid rows now" not in html
    # The upload is deleted once imported: the dry run's page no longer offers it.
    assert "Import the valid rows now" not in client.get(f"/intake/imports/{dry.id}").get_data(as_text=True)
    assert client.post(f"/intake/imports/{dry.id}/run", data={"csrf_token": token}).status_code == 302
    assert db.session.scalar(db.select(db.func.count()).select_from(ImportBatch)) == 2


def test_a_real_upload_and_the_error_report(client, login, district):
    nodal = make_user("nodal_officer", district)
    login(nodal)
    response = upload(client, good_file(district), filename="रायपुर सूची.csv", dry_run=False)
    batch = db.session.get(ImportBatch, batch_id(response))
    assert batch.status == "completed" and batch.filename == "रायपुर सूची.csv"
    report = client.get(f"/intake/imports/{batch.id}/errors.csv")
    assert report.status_code == 200 and report.mimetype == "text/csv"
    assert "attachment" in report.headers["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(report.get_data().decode("utf-8-sig"))))
    assert lines[0] == ["Name", "Age", "Sex", "Mobile", "SRF ID", "Date of Sample", "Village", "errors"]
    assert lines[1][:4] == ["Ramesh Verma", "65", "M", "12345"]
    assert lines[1][-1] == "Mobile: Not a valid Indian mobile number."
    assert db.session.scalar(db.select(AuditLog).where(AuditLog.action == "import.error_report")).user_id == nodal.id
    # Corrected and uploaded again, it finishes the job.
    lines[1][3] = "9826054321"
    fixed = io.StringIO()
    csv.writer(fixed).writerows(lines)
    response = upload(client, fixed.getvalue().encode("utf-8-sig"), filename="fixed.csv", dry_run=False)
    again = db.session.get(ImportBatch, batch_id(response))
    assert (again.rows_added, again.rows_rejected) == (1, 0)
    html = client.get("/intake/imports/").get_data(as_text=True)
    assert "fixed.csv" in html and "रायपुर सूची.csv" in html


def test_an_excel_upload(client, login, district, tmp_path):
    import openpyxl
    workbook = openpyxl.Workbook()
    workbook.active.append(["नाम", "आयु", "लिंग", "मोबाइल नंबर", "जांच की तारीख"])
    workbook.active.append(["सुनीता साहू", 42, "महिला", 9826012345, dmy()])
    path = tmp_path / "list.xlsx"
    workbook.save(path)
    login(make_user("nodal_officer", district))
    response = upload(client, path.read_bytes(), filename="list.xlsx", dry_run=False)
    assert db.session.get(ImportBatch, batch_id(response)).rows_added == 1


def test_unknown_columns_go_to_the_mapping_screen_and_are_remembered(client, login, district):
    login(make_user("nodal_officer", district))
    content = csv_bytes(["Rogi ka naam", "Umar", "Sex", "Mobile", "Date of Sample"],
                        [["Sunita Sahu", "42", "F", "9826012345", dmy()]])
    response = upload(client, content, dry_run=False)
    assert "/columns" in response.headers["Location"]
    page = client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Match the columns" in html
    assert "Say what these columns hold: Rogi ka naam, Umar." in html and "Sunita Sahu" in html
    token = csrf_token(client, response.headers["Location"])
    # A column left unchosen, or a needed field missing, is said again.
    bad = client.post(response.headers["Location"], data={"csrf_token": token, "col_0": "name", "col_1": "ignore",
                                                          "col_2": "sex", "col_3": "phone", "col_4": "positive_date"})
    assert bad.status_code == 422 and "No column holds: Age." in bad.get_data(as_text=True)
    done = client.post(response.headers["Location"], data={"csrf_token": token, "col_0": "name", "col_1": "age",
                                                           "col_2": "sex", "col_3": "phone", "col_4": "positive_date"})
    batch = db.session.get(ImportBatch, batch_id(done))
    assert (batch.status, batch.rows_added) == ("completed", 1)
    assert {m.header_key for m in db.session.scalars(db.select(HeaderMapping))} == {"rogi ka naam", "umar"}
    # Next time the same headers go straight through.
    content = csv_bytes(["Rogi ka naam", "Umar", "Sex", "Mobile", "Date of Sample"],
                        [["Geeta Verma", "30", "F", "9826054321", dmy()]])
    response = upload(client, content, filename="next.csv", dry_run=False)
    assert "/intake/imports/" in response.headers["Location"]


@pytest.mark.parametrize("content, filename, message", [
    (b"", "empty.csv", "The file is empty."),
    (b"%PDF-1.4 garbage", "scan.pdf", "Upload a line list as a CSV file or an Excel workbook (.xlsx)."),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00garbage", "photo.csv", "This is not a CSV (text) file."),
    ("Name,Age\nJosé,3\n".encode("cp1252"), "ansi.csv", "CSV UTF-8"),
    (b"not a zip", "list.xlsx", "not an Excel workbook that can be read"),
])
def test_files_that_are_not_line_lists_are_refused_with_a_message(client, login, district, content, filename,
                                                                   message):
    login(make_user("nodal_officer", district))
    response = upload(client, content, filename=filename)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html and "Traceback" not in html
    batch = db.session.scalars(db.select(ImportBatch)).one()
    assert batch.status == "refused"
    assert message in client.get("/intake/imports/").get_data(as_text=True)


def test_a_file_too_big_is_refused(client, login, district, app, monkeypatch):
    # (Small: the test client leaks a temporary file for bodies over 500 kB.)
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 200 * 1024)
    login(make_user("nodal_officer", district))
    response = upload(client, b"Name\n" + b"x" * (200 * 1024))
    assert response.status_code == 422 and "larger than 0.2 MB" in response.get_data(as_text=True)
    assert not list((storage.upload_dir()).iterdir())  # nothing of it kept


def test_no_file_and_no_csrf(client, login, district):
    login(make_user("nodal_officer", district))
    response = client.post("/intake/import", data={"csrf_token": csrf_token(client, "/intake/import")},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "Choose a file." in response.get_data(as_text=True)
    response = client.post("/intake/import", data={"file": (io.BytesIO(b"Name\nA\n"), "a.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert db.session.scalar(db.select(db.func.count()).select_from(ImportBatch)) == 0


def test_a_state_officer_chooses_the_district(client, login, district):
    login(make_user("admin"))
    html = client.get("/intake/import").get_data(as_text=True)
    assert "All districts: the file has a District column" in html and district.name in html
    response = upload(client, good_file(district), dry_run=False, district_id=str(district.id))
    batch = db.session.get(ImportBatch, batch_id(response))
    assert batch.district_id == district.id and batch.rows_added == 1


def test_other_districts_imports_are_not_shown(client, login, district):
    other = make_district()
    login(make_user("nodal_officer", other))
    upload(client, good_file(other))
    theirs = db.session.scalars(db.select(ImportBatch)).one()
    client.post("/logout", data={"csrf_token": csrf_token(client, "/intake/import")})
    login(make_user("nodal_officer", district))
    assert client.get(f"/intake/imports/{theirs.id}").status_code == 404
    assert client.get(f"/intake/imports/{theirs.id}/errors.csv").status_code == 404
    assert theirs.filename not in client.get("/intake/imports/").get_data(as_text=True)


def test_an_expired_upload_sends_back_to_the_upload_page(client, login, district):
    login(make_user("nodal_officer", district))
    response = client.get("/intake/import/" + "a" * 64 + "/columns?name=x.csv", follow_redirects=True)
    assert "This file is no longer kept here" in response.get_data(as_text=True)


# --- role checks on every page ---

def _pages(client, batch):
    return [("GET", "/intake/import"), ("POST", "/intake/import"), ("GET", "/intake/imports/"),
            ("GET", f"/intake/imports/{batch.id}"), ("POST", f"/intake/imports/{batch.id}/run"),
            ("GET", f"/intake/imports/{batch.id}/progress.json"),
            ("GET", f"/intake/imports/{batch.id}/errors.csv"),
            ("GET", f"/intake/import/{batch.file_hash}/columns?name=list.csv"),
            ("POST", f"/intake/import/{batch.file_hash}/columns?name=list.csv")]


@pytest.mark.parametrize("role", ROLES)
def test_only_nodal_officers_and_admins_import(client, login, district, role):
    nodal = make_user("nodal_officer", district)
    login(nodal)
    upload(client, good_file(district))
    batch = db.session.scalars(db.select(ImportBatch)).one()
    client.post("/logout", data={"csrf_token": csrf_token(client, "/intake/import")})
    login(make_user(role, district if role != "admin" else None))
    token = csrf_token(client)
    for method, path in _pages(client, batch):
        status = client.open(path, method=method, data={"csrf_token": token} if method == "POST" else None).status_code
        if role in ("nodal_officer", "admin"):
            assert status in (200, 302, 409, 422), (role, method, path, status)
        else:
            assert status == 403, (role, method, path, status)


def test_anonymous_users_are_sent_to_sign_in(client, login, district):
    login(make_user("nodal_officer", district))
    upload(client, good_file(district))
    batch = db.session.scalars(db.select(ImportBatch)).one()
    client.post("/logout", data={"csrf_token": csrf_token(client, "/intake/import")})
    for method, path in _pages(client, batch):
        if method == "GET":
            response = client.get(path)
            assert response.status_code == 302 and "/login" in response.headers["Location"], path


@pytest.mark.parametrize("language", ["en", "hi"])
def test_the_pages_render_in_both_languages(client, login, district, language):
    login(make_user("nodal_officer", district, language=language))
    response = upload(client, good_file(district))
    location = response.headers["Location"]
    for path in ("/intake/import", "/intake/imports/", location, location + "?action=rejected"):
        page = client.get(path)
        assert page.status_code == 200 and f'<html lang="{language}">' in page.get_data(as_text=True), path
    assert "/intake/import" in client.get("/intake/register").get_data(as_text=True)  # the nav link
