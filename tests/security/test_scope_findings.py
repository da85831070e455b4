"""Findings of the attack review, each as it was reproduced: every read and write stays in the user's district
and role, and no refusal tells an officer where else a person is a patient."""
import io
import re

from callcenter.extensions import db
from callcenter.models import (
    AppSetting,
    AuditLog,
    CallAttempt,
    Dispatch,
    Escalation,
    InboundMessage,
    JobRun,
    Patient,
    TaskStatus,
)
from callcenter.services.desks import escalations

from ..api.conftest import bearer
from ..conftest import csrf_token
from ..factories import make_district, make_patient, make_task, make_user
from ..views.test_call_screen import take_call
from ..views.test_registration_form import form_page, valid


def _text(response):
    return response.get_data(as_text=True)


# 1. The call screen's POST path ---------------------------------------------------------------------------

def test_a_posted_patient_id_of_another_district_shows_nobody(client, login, district):
    mine = make_task(make_patient(district, name="Kamla Sahu"))
    stranger = make_patient(make_district(), name="Rekha Markam", phone_number="+919811122233")
    login(make_user("volunteer", district))
    url, _page, fields = take_call(client)
    assert url.endswith(f"/queue/task/{mine.id}")
    # A household form (members-0-…) naming someone of another district, and invalid so that it is re-shown.
    response = client.post(url, data=dict(fields, outcome="", **{"members-0-patient_id": stranger.id}))
    body = _text(response)
    assert "Rekha Markam" not in body and "98111" not in body and "22233" not in body
    assert not db.session.scalars(db.select(AuditLog).where(AuditLog.action == "patient.view",
                                                            AuditLog.entity_id == stranger.id)).all()


def test_many_posted_ids_return_no_phone_number(client, login, district):
    make_task(make_patient(district))
    others = [make_patient(make_district()) for _ in range(5)] + [make_patient(district) for _ in range(5)]
    login(make_user("volunteer", district))
    url, _page, fields = take_call(client)
    data = dict(fields, outcome="")
    data.update({f"members-{i}-patient_id": p.id for i, p in enumerate(others)})
    response = client.post(url, data=data)
    body = _text(response)
    assert response.status_code < 500 and not any(p.phone[3:] in body or p.name in body for p in others)


def test_a_plain_post_to_someone_elses_call_does_not_show_it(client, login, district):
    patient = make_patient(district, name="Sunita Dhruw")
    colleague = make_user("volunteer", district)
    task = make_task(patient, status=TaskStatus.CLAIMED, claimed_by_id=colleague.id)
    login(make_user("volunteer", district))
    token = csrf_token(client, "/queue/")
    response = client.post(f"/queue/task/{task.id}", data={"csrf_token": token, "outcome": ""})
    assert response.status_code == 302 and "Sunita Dhruw" not in _text(response)
    assert "Sunita Dhruw" not in _text(client.get("/queue/"))
    # A complete report on a call one does not hold is refused too, and records nothing.
    client.post(f"/queue/task/{task.id}", data={"csrf_token": token, "outcome": "connected",
                                                "submission_key": "k" * 32})
    assert db.session.scalars(db.select(CallAttempt)).all() == []


def test_a_post_to_another_districts_task_is_not_found(client, login, district):
    task = make_task(make_patient(make_district(), name="Meena Netam"))
    login(make_user("volunteer", district))
    response = client.post(f"/queue/task/{task.id}", data={"csrf_token": csrf_token(client, "/queue/")})
    assert response.status_code == 404 and "Meena Netam" not in _text(response)


# 4. Dispatch is the control room's ------------------------------------------------------------------------

def _acknowledged_escalation(district, desk, user):
    patient = make_patient(district)
    esc = escalations.raise_escalation(patient, "medical_advice", desk, "urgent", "call")
    db.session.commit()
    escalations.acknowledge(esc.id, user)
    return db.session.get(Escalation, esc.id)


def test_doctors_and_counsellors_cannot_send_an_ambulance(client, login, district):
    for role in ("doctor", "counsellor"):
        user = make_user(role, district)
        esc = _acknowledged_escalation(district, role, user)
        login(user)
        token = csrf_token(client, f"/desk/escalation/{esc.id}")
        page = _text(client.get(f"/desk/escalation/{esc.id}"))
        assert 'id="dispatch-form"' not in page  # no panel for what the desk cannot do
        response = client.post(f"/desk/escalation/{esc.id}/dispatch", data={
            "csrf_token": token, "version": esc.version, "kind": "ambulance", "vehicle_number": "CG04AB1234",
            "driver_phone": "9826012345"})
        assert response.status_code == 403
        client.post("/logout", data={"csrf_token": token})
    assert db.session.scalars(db.select(Dispatch)).all() == []


def test_the_api_refuses_a_doctors_dispatch(client, district):
    doctor = make_user("doctor", district)
    esc = _acknowledged_escalation(district, "doctor", doctor)
    response = client.post(f"/api/v1/escalations/{esc.id}/dispatch", headers=bearer(doctor),
                           json={"kind": "other", "delivered_by": "x"})
    assert response.status_code == 403
    assert db.session.scalars(db.select(Dispatch)).all() == []


# 5. Simulated replies -------------------------------------------------------------------------------------

def test_a_district_officer_simulates_only_from_their_own_patients(client, login, district):
    elsewhere = make_patient(make_district(), phone_number="+919811100011")
    make_patient(district, phone_number="+919811100022")
    login(make_user("admin", district))
    token = csrf_token(client, "/inbox")
    answers = []
    for phone in ("9811100011", "9811100099"):  # another district's patient; nobody's number
        response = client.post("/inbox/simulate", data={"csrf_token": token, "from_phone": phone, "body": "STOP"},
                               follow_redirects=True)
        answers.append(re.search(r'<div class="alert[^"]*"[^>]*>(.*?)</div>', _text(response), re.S).group(1))
    assert answers[0] == answers[1] and "patient of your district" in answers[0]
    assert db.session.scalars(db.select(InboundMessage)).all() == []
    assert db.session.get(Patient, elsewhere.id).sms_opt_out is False
    ok = client.post("/inbox/simulate", data={"csrf_token": token, "from_phone": "9811100022", "body": "1"},
                     follow_redirects=True)
    assert "Simulated SMS stored" in _text(ok) and "+919811100022" not in _text(ok)
    message = db.session.scalars(db.select(InboundMessage)).one()
    assert db.session.scalars(db.select(AuditLog).where(AuditLog.action == "sms.simulate")).one().entity_id \
        == message.id


# 6. The inbox ---------------------------------------------------------------------------------------------

def test_volunteers_read_only_what_needs_a_look_and_the_view_is_audited(client, login, district):
    patient = make_patient(district)
    db.session.add(InboundMessage(provider_sid="SM1", from_phone=patient.phone, to_phone="x", body="kuch bhi",
                                  patient_id=patient.id, status="not_understood",
                                  received_at=patient.created_at))
    db.session.commit()
    volunteer = make_user("volunteer", district)
    login(volunteer)
    assert client.get("/inbox?show=all").status_code == 403
    page = _text(client.get("/inbox"))
    assert "All messages" not in page and "kuch bhi" in page
    view = db.session.scalars(db.select(AuditLog).where(AuditLog.action == "patient.list_view")).one()
    assert (view.user_id, view.details["patient_ids"], view.details["purpose"]) == (volunteer.id, [patient.id],
                                                                                    "inbox:open")


# 7. State-wide settings and jobs; uploads by their hash ---------------------------------------------------

def test_a_district_admin_cannot_change_state_wide_settings(client, login, district):
    login(make_user("admin", district))
    token = csrf_token(client, "/admin/users")
    response = client.post("/admin/settings", data={"csrf_token": token, "spo2_emergency_below": "80"})
    assert response.status_code == 403
    assert db.session.scalars(db.select(AppSetting)).all() == []


def test_a_district_nodal_officer_neither_sees_nor_runs_the_states_jobs(client, login, district):
    login(make_user("nodal_officer", district))
    token = csrf_token(client, "/dashboard/")
    assert client.get("/dashboard/jobs").status_code == 403
    assert client.post("/dashboard/jobs/run", data={"csrf_token": token, "job": "daily_figures"}).status_code == 403
    assert db.session.scalars(db.select(JobRun)).all() == []


CSV = "Patient Name,Age,Gender,Contact Number,Sample Collection Date\nRam Kumar,40,M,9826012345,2026-12-01\n"


def _upload(client, csv=CSV):
    token = csrf_token(client, "/intake/import")
    return client.post("/intake/import", data={"csrf_token": token, "dry_run": "y",
                                               "file": (io.BytesIO(csv.encode()), "list.csv")})


def test_an_upload_is_not_reachable_by_its_hash_from_another_district(client, login, district, app):
    import hashlib
    sha = hashlib.sha256(CSV.encode()).hexdigest()
    login(make_user("nodal_officer", district))
    _upload(client)
    assert client.get(f"/intake/import/{sha}/columns?name=list.csv").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/intake/import")})
    login(make_user("nodal_officer", make_district()))
    response = client.get(f"/intake/import/{sha}/columns?name=list.csv", follow_redirects=True)
    assert "no longer kept here" in _text(response) and "Ram Kumar" not in _text(response)


# 13. No oracle of where else a person is a patient --------------------------------------------------------

def test_a_duplicate_registration_says_the_same_wherever_the_twin_is(client, login, district):
    other = make_district()
    make_patient(district, name="Lata Dhruw", phone_number="+919826012345")
    login(make_user("nodal_officer", district))
    here = _text(client.post("/intake/register", data=valid(district, form_page(client))))
    db.session.execute(db.update(Patient).values(district_id=other.id))
    db.session.commit()
    elsewhere = _text(client.post("/intake/register", data=valid(district, form_page(client))))

    def message(html):
        return re.findall(r'class="(?:invalid-feedback|alert)[^"]*"[^>]*>\s*([^<]+)', html)
    assert message(here) == message(elsewhere) and message(here)
    assert "another district" not in elsewhere


def test_an_import_row_of_a_patient_elsewhere_does_not_say_where(tmp_path, app, monkeypatch, district):
    from callcenter.models import ImportRow
    from callcenter.services.intake import imports, messages, storage

    from ..intake.conftest import write_csv
    monkeypatch.setitem(app.config, "IMPORT_UPLOAD_DIR", str(tmp_path / "uploads"))
    make_patient(make_district(), name="Ram Kumar", phone_number="+919826012345", lab_id="CG-77")
    path = write_csv(tmp_path / "list.csv", ["Patient Name", "Age", "Sex", "Mobile No", "SRF ID", "Date of Sample"],
                     [["Ram Kumar", 40, "M", "9826012345", "CG-77", "01/12/2026"]])
    imports.import_line_list(storage.local_file(path), make_user("nodal_officer", district))
    [error] = db.session.scalars(db.select(ImportRow)).one().errors
    reason = str(messages.reason_text(error))
    assert "district" not in reason.lower() and "Ram Kumar" not in reason
