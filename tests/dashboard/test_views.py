"""The dashboard's pages, exports, report and actions through the web (roles, filters in the URL, audit)."""
import csv
import io
import os

import pytest
from openpyxl import load_workbook

from callcenter.extensions import db
from callcenter.models import AuditLog, CallTask, QueuePause
from callcenter.services import dashboard_actions
from callcenter.services.errors import NotFound

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
    assert sorted(r["name"] for r in rows) == ["Asha Home", "Bina Home", "Chandu CCC", "Dev Hospital"]
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
    assert "status" in header and len(body) == 2
    assert {r[header.index("name")] for r in body} == {"Bina Home", "Chandu CCC"}
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditLog).where(
        AuditLog.action == "export", AuditLog.details["fmt"].as_string() == "xlsx")) == 1


def test_daily_report_page(client, login):
    s = scenario.build()
    login(s.officer)
    html = client.get("/dashboard/report").get_data(as_text=True)
    assert "@media print" in html and 'id="report-sex"' in html and 'id="report-block"' in html
    assert 'data-value="male"' in html


@pytest.mark.skipif(not os.access("/usr/bin/chromium", os.X_OK), reason="no Chromium for the PDF")
def test_daily_report_pdf(client, login):
    s = scenario.build()
    login(s.officer)
    response = client.get("/dashboard/report.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert db.session.scalar(db.select(AuditLog).where(AuditLog.entity == "daily_report")) is not None


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
