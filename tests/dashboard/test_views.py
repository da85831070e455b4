"""The dashboard's pages, exports, report and actions through the web (roles, filters in the URL, audit)."""
import csv
import io
import os
import re
from datetime import timedelta, timezone

import pytest
from openpyxl import load_workbook

from callcenter.clock import local_tz
from callcenter.extensions import db
from callcenter.models import AuditLog, CallTask, QueuePause
from callcenter.services.core.errors import NotFound
from callcenter.services.dashboard import actions as dashboard_actions
from callcenter.services.dashboard import export as dashboard_export

from .. import factories
from ..conftest import csrf_token
from . import scenario


@pytest.mark.parametrize("role", ["volunteer", "control_room", "doctor", "counsellor"])
def test_only_officers_open_the_dashboard(client, login, role):
    district = factories.make_district()
    login(factories.make_user(role, district))
    for path in ("/dashboard/", "/dashboard/figures.json", "/dashboard/list/tasks", "/dashboard/export/tasks.csv",
                 "/dashboard/export/patients.xlsx", "/dashboard/report"):
        assert client.get(path).status_code == 403, path


def test_dashboard_shows_the_figures_with_links(client, login):
    s = scenario.build()
    login(s.officer)
    html = client.get("/dashboard/").get_data(as_text=True)
    assert 'data-fig="tasks.due">4</a>' in html
    assert "/dashboard/list/tasks?which=overdue" in html
    assert 'data-fig="active_total">4</a>' in html
    assert "Ramesh Sarpanch" in html and "<svg" in html and "<title id=" in html
    assert "Other District" not in html


def test_json_figures(client, login):
    s = scenario.build()
    login(s.officer)
    data = client.get("/dashboard/figures.json").get_json()["figures"]
    assert data["active_total"] == 4 and data["needs.oxygen"] == 1


def test_filters_live_in_the_url_and_are_validated(client, login):
    s = scenario.build()
    login(s.officer)
    html = client.get("/dashboard/list/patients?which=active&setting=ccc").get_data(as_text=True)
    assert "Chandu CCC" in html and "Asha Home" not in html
    # Another district's id is not a valid choice for a district officer: the filter is refused.
    html = client.get(f"/dashboard/?district={s.b.id}").get_data(as_text=True)
    assert "Not a valid choice" in html and "Other District" not in html
    html = client.get("/dashboard/?date_from=2026-01-10&date_to=2026-01-01").get_data(as_text=True)
    assert "The end date is before the start date." in html


def test_csv_export_contents_and_audit(client, login):
    s = scenario.build()
    login(s.officer)
    response = client.get("/dashboard/export/patients.csv?which=active")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert sorted(r["Name"] for r in rows) == ["Asha Home", "Bina Home", "Chandu CCC", "Dev Hospital"]
    dev = next(r for r in rows if r["Name"] == "Dev Hospital")
    assert dev["Setting"] == "COVID hospital" and dev["Sex"] == "Male" and dev["Status"] == "Active"
    # A "+" starts a formula: the number is written as text (rules/spreadsheet.py), as Excel would mangle it anyway.
    assert dev["Phone"] == "'" + s.p[3].phone and dev["Block"] == s.village.block.name
    log = db.session.scalar(db.select(AuditLog).where(AuditLog.action == "export"))
    assert log.user_id == s.officer.id and log.entity == "patients" and log.details["fmt"] == "csv"


def test_xlsx_export_contents_and_audit(client, login):
    s = scenario.build()
    login(s.officer)
    with client.get("/dashboard/export/tasks.xlsx?which=pending") as response:
        assert response.status_code == 200
        wb = load_workbook(io.BytesIO(response.data), read_only=True)
    rows = list(wb.active.values)
    wb.close()
    header, body = rows[0], rows[1:]
    assert header[:6] == ("No.", "Day", "Slot", "Patient no.", "Name", "Phone") and len(body) == 2
    by_name = {r[header.index("Name")]: dict(zip(header, r, strict=True)) for r in body}
    assert set(by_name) == {"Bina Home", "Chandu CCC"}
    chandu = by_name["Chandu CCC"]
    assert chandu["Status"] == "Waiting" and chandu["Setting"] == "COVID care centre" and chandu["Attempts"] == 0
    assert chandu["Patient no."] == s.p[2].id and chandu["Day"] == s.now.date().isoformat()
    assert chandu["Due"] == (s.now + timedelta(hours=1)).replace(tzinfo=timezone.utc).astimezone(
        local_tz()).strftime("%Y-%m-%d %H:%M")
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditLog).where(
        AuditLog.action == "export", AuditLog.details["fmt"].as_string() == "xlsx")) == 1


def test_exports_are_in_the_officers_language(client, login):
    s = scenario.build()
    s.officer.language = "hi"
    db.session.commit()
    login(s.officer)
    text = client.get("/dashboard/export/patients.csv?which=active&setting=home").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    header = rows[0]
    assert "नाम" in header and "स्थिति" in header and "name" not in header
    assert {r[header.index("उपचार स्थल")] for r in rows[1:]} == {"होम आइसोलेशन"}
    with client.get("/dashboard/export/tasks.xlsx?which=pending") as response:
        wb = load_workbook(io.BytesIO(response.data), read_only=True)
    xrows = list(wb.active.values)
    wb.close()
    assert "नाम" in xrows[0] and {r[xrows[0].index("स्थिति")] for r in xrows[1:]} == {"प्रतीक्षा में"}


def test_exports_stream_and_guard_against_formulas(app, client, login):
    s = scenario.build()
    s.p[0].name = "=HYPERLINK(\"http://x\")"
    db.session.commit()
    login(s.officer)
    response = client.get("/dashboard/export/patients.csv?which=active")
    assert response.is_streamed and "Content-Length" not in response.headers
    assert "'=HYPERLINK" in response.get_data(as_text=True)
    response = client.get("/dashboard/export/patients.xlsx?which=active")
    assert response.is_streamed and response.mimetype == dashboard_export.XLSX_MIME
    wb = load_workbook(io.BytesIO(response.data), read_only=True)
    names = [r[1] for r in list(wb.active.values)[1:]]
    wb.close()
    assert "=HYPERLINK(\"http://x\")" in names  # an inline string in XLSX, never a formula


def test_xlsx_writer_handles_many_rows_and_odd_text():
    header = ["A", "B", "C"]
    rows = [(i, f"name <{i}> & \x07bell", None) for i in range(1200)]
    data = b"".join(dashboard_export.xlsx_stream("t", header, [lambda v: v] * 3, iter(rows)))
    wb = load_workbook(io.BytesIO(data), read_only=True)
    got = list(wb["t"].values)
    wb.close()
    assert got[0] == ("A", "B", "C") and len(got) == 1201
    assert got[1200][:2] == (1199, "name <1199> & bell")
    assert dashboard_export.column_letter(0) == "A" and dashboard_export.column_letter(27) == "AB"


def _row_numbers(html, row_id):
    row = re.search(rf'<tr data-value="{row_id}">(.*?)</tr>', html, re.S).group(1)
    return [int(n) for n in re.findall(r'<td class="n">(\d+)</td>', row)]


def _figure(html, label):
    return re.search(rf"<th>{re.escape(label)}</th><td class=\"n\">([^<]*)</td>", html).group(1)


def _assert_report_content(html, s):
    """The day's figures and the sex / block / setting tables, as built by the scenario."""
    for label, value in (("Calls due", "4"), ("Calls done", "1"), ("Still pending", "2"), ("Call attempts", "3"),
                         ("Reach rate", "33.3%"), ("Unreachable patients", "1"), ("Check-ins received", "2"),
                         ("Escalations raised", "3"), ("Open escalations", "2"), ("Active patients", "4"),
                         ("New patients", "3"), ("Discharged", "1")):
        assert _figure(html, label) == value, label
    # columns: active, new, discharged, calls, connected, unreachable, escalations, check-ins
    assert _row_numbers(html, "male") == [1, 0, 0, 2, 0, 1, 1, 0]
    assert _row_numbers(html, "female") == [3, 3, 1, 1, 1, 0, 2, 2]
    assert _row_numbers(html, s.village.block.name) == [3, 2, 0, 3, 1, 1, 3, 2]
    assert _row_numbers(html, "home") == [2, 2, 1, 1, 1, 0, 2, 2]
    assert _row_numbers(html, "hospital") == [1, 0, 0, 2, 0, 1, 1, 0]
    assert "Medicine 1" in html and "Other District" not in html


def test_daily_report_page(client, login):
    s = scenario.build()
    login(s.officer)
    html = client.get("/dashboard/report").get_data(as_text=True)
    assert "@media print" in html and 'id="report-sex"' in html and 'id="report-block"' in html
    # The Print button runs from static/page-actions.js (the CSP allows no inline handler).
    assert "@page { size: A4" in html and "data-print" in html and "/static/page-actions.js" in html
    _assert_report_content(html, s)
    assert f"District: {s.a.name}" in html


def test_daily_report_in_hindi(client, login):
    s = scenario.build()
    s.officer.language = "hi"
    db.session.commit()
    login(s.officer)
    html = client.get("/dashboard/report").get_data(as_text=True)
    assert '<html lang="hi">' in html and "होम आइसोलेशन" in html and _row_numbers(html, "home")[0] == 2


def test_daily_report_pdf_is_the_report_page(client, login, monkeypatch):
    """What is printed to PDF is the report page itself (figures and tables), without its toolbar."""
    s = scenario.build()
    login(s.officer)
    printed = []
    monkeypatch.setattr(dashboard_export, "html_to_pdf", lambda html: printed.append(html) or b"%PDF-1.4 stub")
    response = client.get("/dashboard/report.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "sampark-report-" in response.headers["Content-Disposition"]
    (html,) = printed
    _assert_report_content(html, s)
    assert "Back to the dashboard" not in html and "data-print" not in html and "page-actions.js" not in html


def test_daily_report_pdf_falls_back_to_the_printable_page(client, login, monkeypatch):
    s = scenario.build()
    login(s.officer)

    def broken(html):
        raise dashboard_export.PdfUnavailable("no chromium")
    monkeypatch.setattr(dashboard_export, "html_to_pdf", broken)
    response = client.get("/dashboard/report.pdf")
    assert response.status_code == 302 and "/dashboard/report" in response.headers["Location"]
    with client.session_transaction() as session:
        assert any("use Print on the report page" in message for _, message in session["_flashes"])


@pytest.mark.skipif(not os.access("/usr/bin/chromium", os.X_OK), reason="no Chromium for the PDF")
def test_daily_report_pdf(client, login):
    s = scenario.build()
    login(s.officer)
    response = client.get("/dashboard/report.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    pdf = response.data
    assert re.search(rb"/MediaBox \[0 0 59[45]\.\d+ 841\.9\d*\]", pdf)  # A4, from the page's @page rule
    title = bytes.fromhex(re.search(rb"/Title <FEFF([0-9A-F]+)>", pdf).group(1).decode()).decode("utf-16-be")
    assert title.startswith("Daily COVID call-centre report")
    assert int(re.search(rb"/Count (\d+)", pdf).group(1)) >= 1
    assert db.session.scalar(db.select(AuditLog).where(AuditLog.entity == "daily_report")) is not None


def test_every_live_figure_on_the_page_is_in_the_json(client, login):
    """The page's own refresh (static/dashboard-live.js) finds every figure it shows in figures.json,
    with the value the page shows."""
    s = scenario.build()
    login(s.officer)
    html = client.get("/dashboard/").get_data(as_text=True)
    shown = dict(re.findall(r'data-fig="([^"]+)">([^<]*)<', html))
    assert len(shown) >= 20
    data = client.get("/dashboard/figures.json").get_json()
    figures = data["figures"]
    for key, value in shown.items():
        assert key in figures, key
        assert value == ("–" if figures[key] is None else str(figures[key])), key
    assert data["at"].endswith("Z")
    assert 'src="/static/dashboard-live.js"' in html and 'data-url="/dashboard/figures.json' in html


def test_reassign_a_volunteers_calls(client, login):
    s = scenario.build()
    task = db.session.scalar(db.select(CallTask).where(CallTask.status == "pending").limit(1))
    task.status, task.claimed_by_id, task.claimed_at = "claimed", s.vol.id, s.now
    db.session.commit()
    login(s.officer)
    token = csrf_token(client, "/dashboard/")
    response = client.post("/dashboard/actions/reassign", data={"csrf_token": token, "from_user": s.vol.id,
                                                                "to_user": s.vol2.id})
    assert response.status_code == 302
    db.session.refresh(task)
    assert task.claimed_by_id == s.vol2.id and task.status == "claimed"
    assert dashboard_actions.reassign_tasks(s.officer, s.vol2.id) == 1  # and back to the queue
    db.session.refresh(task)
    assert task.status == "pending" and task.claimed_by_id is None
    actions = db.session.scalars(db.select(AuditLog.action).where(AuditLog.action == "task.reassign")).all()
    assert len(actions) == 2


def test_reassign_refuses_another_districts_volunteer():
    s = scenario.build()
    stranger = factories.make_user("volunteer", s.b)
    with pytest.raises(NotFound):
        dashboard_actions.reassign_tasks(s.officer, stranger.id)


def test_pause_and_resume_a_queue(client, login):
    s = scenario.build()
    login(s.officer)
    token = csrf_token(client, "/dashboard/")
    client.post("/dashboard/actions/pause", data={"csrf_token": token, "setting": "home", "reason": "power cut"})
    pause = db.session.scalar(db.select(QueuePause))
    assert pause.district_id == s.a.id and pause.resumed_at is None
    assert dashboard_actions.paused_settings(s.a.id) == {"home"}
    assert dashboard_actions.paused_settings(s.b.id) == set()
    assert "power cut" in client.get("/dashboard/").get_data(as_text=True)
    client.post("/dashboard/actions/resume", data={"csrf_token": token, "pause_id": pause.id})
    db.session.refresh(pause)
    assert pause.resumed_at is not None and dashboard_actions.paused_settings(s.a.id) == set()
    assert {a for (a,) in db.session.execute(db.select(AuditLog.action))} >= {"queue.pause", "queue.resume"}
