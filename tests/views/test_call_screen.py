"""The volunteer's call screen over HTTP: take, record, double submission, clear messages."""
import re

from callcenter.extensions import db
from callcenter.models import AuditLog, CallAttempt, CallTask, Escalation

from ..factories import make_patient, make_task, make_user


def take_call(client):
    html = client.get("/queue/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    response = client.post("/queue/take", data={"csrf_token": token})
    assert response.status_code == 302 and "/queue/task/" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    fields = dict(re.findall(r'name="(csrf_token|submission_key)" type="hidden" value="([^"]+)"', page))
    return response.headers["Location"], page, fields


def test_call_screen_shows_what_the_call_needs(client, login, district):
    patient = make_patient(district, name="Geeta Nishad", age=67, comorbidities="diabetes",
                           abha_number="91123456789012")
    make_task(patient)
    login(make_user("volunteer", district))
    _url, page, _fields = take_call(client)
    assert "Geeta Nishad" in page and "+91 98" in page
    assert "Diabetes" in page and "Over 60" in page
    assert "91-1234-5678-9012" not in page  # the ABHA number is not needed for a call
    view = db.session.scalars(db.select(AuditLog).where(AuditLog.action == "patient.view")).one()
    assert view.entity_id == patient.id  # every view of a patient record is logged


def test_double_submitted_call_is_recorded_once(client, login, district):
    task = make_task(make_patient(district))
    login(make_user("volunteer", district))
    url, _page, fields = take_call(client)
    form = dict(fields, outcome="connected", spo2="91", needs="ambulance", notes="breathless")
    first = client.post(url, data=form)
    second = client.post(url, data=form)
    assert first.status_code == second.status_code == 302
    assert db.session.scalar(db.select(db.func.count()).select_from(CallAttempt)) == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(Escalation)) == 1
    assert db.session.get(CallTask, task.id).status == "done"
    page = client.get("/queue/").get_data(as_text=True)
    assert "already saved" in page


def test_out_of_range_vitals_get_a_clear_message_and_nothing_is_saved(client, login, district):
    make_task(make_patient(district))
    login(make_user("volunteer", district))
    url, _page, fields = take_call(client)
    response = client.post(url, data=dict(fields, outcome="connected", spo2="190", temperature_f="50"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "SpO2 must be between 50 and 100 %" in html
    assert "Temperature must be between 93.0 and 108.0 °F" in html
    assert db.session.scalar(db.select(db.func.count()).select_from(CallAttempt)) == 0


def test_missing_outcome_is_explained(client, login, district):
    make_task(make_patient(district))
    login(make_user("volunteer", district))
    url, _page, fields = take_call(client)
    html = client.post(url, data=fields).get_data(as_text=True)
    assert "Choose what happened on the call." in html


def test_ambulance_need_reaches_the_control_room_desk(client, login, district):
    make_task(make_patient(district, name="Ramesh Sahu"))
    login(make_user("volunteer", district))
    url, _page, fields = take_call(client)
    response = client.post(url, data=dict(fields, outcome="connected", needs="ambulance"), follow_redirects=True)
    assert "Control room (Ambulance, Emergency)" in response.get_data(as_text=True)
    client.post("/logout", data={"csrf_token": fields["csrf_token"]})
    login(make_user("control_room", district))
    desk = client.get("/desk/").get_data(as_text=True)
    assert "Ramesh Sahu" in desk and "Emergency" in desk and "Ambulance" in desk


def test_someone_elses_call_screen_redirects(client, login, district):
    task = make_task(make_patient(district))
    login(make_user("volunteer", district))
    response = client.get(f"/queue/task/{task.id}")
    assert response.status_code == 302


def test_queue_counts_json(client, login, district):
    make_task(make_patient(district, setting="home"))
    make_task(make_patient(district, setting="ccc"))
    login(make_user("volunteer", district))
    assert client.get("/queue/counts.json").get_json() == {"hospital": 0, "ccc": 1, "home": 1}


def test_the_call_screen_says_why_this_call_is_first(client, login, district):
    from datetime import timedelta

    from callcenter.clock import utcnow
    from callcenter.rules import priority
    from callcenter.services.desks import escalations

    patient = make_patient(district, name="Geeta Nishad", age=67, comorbidities="diabetes")
    escalations.raise_escalation(patient, "ambulance", "control_room", "emergency", "call")
    make_task(patient, priority=priority.EMERGENCY_FOLLOW_UP, due_at=utcnow() - timedelta(hours=2), attempts=2)
    login(make_user("volunteer", district))
    _url, page, _fields = take_call(client)
    why = re.search(r'<div id="why-first" class="alert alert-danger.*?</div>', page, re.S).group(0)
    assert re.findall(r'data-why="(\w+)"', why) == ["open_emergency", "high_risk", "tried", "waiting"]
    assert "High risk: over 60, Diabetes" in why and "Tried 2 times today, not reached" in why
    assert "Waiting since" in why


def test_a_routine_call_says_so(client, login, district):
    make_task(make_patient(district, age=30))
    login(make_user("volunteer", district))
    _url, page, _fields = take_call(client)
    assert re.findall(r'data-why="(\w+)"', page) == ["routine"]
    assert "Routine daily call" in page


def test_save_and_take_next_goes_straight_to_the_next_call(client, login, district):
    first = make_task(make_patient(district, name="Geeta Nishad"), priority=1)
    second = make_task(make_patient(district, name="Ramesh Verma"), priority=3)
    login(make_user("volunteer", district))
    url, page, fields = take_call(client)
    assert url.endswith(f"/queue/task/{first.id}") and 'id="save-next"' in page
    response = client.post(url, data=dict(fields, outcome="connected", spo2="97", then="next"))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/queue/task/{second.id}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Call with Geeta Nishad saved." in page and "<h1" in page and "Ramesh Verma" in page
    assert db.session.get(CallTask, first.id).status == "done"
    assert db.session.get(CallTask, second.id).claimed_by_id is not None
    # The last one: saved, and back to the queue saying there is nothing more.
    fields = dict(re.findall(r'name="(csrf_token|submission_key)" type="hidden" value="([^"]+)"', page))
    response = client.post(response.headers["Location"], data=dict(fields, outcome="connected", then="next"),
                           follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Call with Ramesh Verma saved." in html and "No calls are due in this queue right now." in html


def test_save_and_take_next_stays_in_the_queue_chosen(client, login, district):
    home = make_task(make_patient(district, name="At Home"), priority=2)
    make_task(make_patient(district, name="In Hospital", setting="hospital"), priority=0)
    home2 = make_task(make_patient(district, name="Also Home"), priority=3)
    login(make_user("volunteer", district))
    html = client.get("/queue/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    response = client.post("/queue/take", data={"csrf_token": token, "setting": "home"})
    url = response.headers["Location"]
    assert url.endswith(f"/queue/task/{home.id}?queue=home")
    page = client.get(url).get_data(as_text=True)
    fields = dict(re.findall(r'name="(csrf_token|submission_key)" type="hidden" value="([^"]+)"', page))
    response = client.post(url, data=dict(fields, outcome="no_answer", then="next"))
    assert response.headers["Location"].endswith(f"/queue/task/{home2.id}?queue=home")  # not the hospital's
    # A double-sent "save and take next" records once and lands on the same next call.
    again = client.post(url, data=dict(fields, outcome="no_answer", then="next"))
    assert again.headers["Location"] == response.headers["Location"]
    assert db.session.scalar(db.select(db.func.count()).select_from(CallAttempt)) == 1


def _saved_at(attempt):
    from callcenter.templating import local_datetime
    return local_datetime(attempt.created_at, "HH:mm")


def test_back_after_saving_says_when_it_was_saved(client, login, district):
    """Issue 17: Back (the page is reloaded: no-store) or a reload after saving said "not assigned to you"."""
    make_task(make_patient(district))
    login(make_user("volunteer", district))
    url, _page, fields = take_call(client)
    assert client.post(url, data=dict(fields, outcome="connected", spo2="97")).status_code == 302
    attempt = db.session.scalars(db.select(CallAttempt)).one()
    back = client.get(url, follow_redirects=True).get_data(as_text=True)
    assert f"This call was already saved at {_saved_at(attempt)}." in back
    assert "not assigned to you" not in back


def test_sending_the_form_again_after_back_says_it_was_saved_and_records_nothing(client, login, district):
    make_task(make_patient(district))
    login(make_user("volunteer", district))
    url, page, fields = take_call(client)
    client.post(url, data=dict(fields, outcome="no_answer"))
    attempt = db.session.scalars(db.select(CallAttempt)).one()
    # The page as Back shows it again (a new submission key), saved a second time.
    again = client.post(url, data=dict(fields, submission_key="another-key", outcome="connected"),
                        follow_redirects=True).get_data(as_text=True)
    assert f"This call was already saved at {_saved_at(attempt)}." in again
    assert "no longer assigned" not in again and "not assigned to you" not in again
    assert db.session.scalar(db.select(db.func.count()).select_from(CallAttempt)) == 1


def test_back_after_saving_in_hindi(client, login, district):
    make_task(make_patient(district))
    login(make_user("volunteer", district, language="hi"))
    url, _page, fields = take_call(client)
    client.post(url, data=dict(fields, outcome="connected"))
    attempt = db.session.scalars(db.select(CallAttempt)).one()
    back = client.get(url, follow_redirects=True).get_data(as_text=True)
    assert f"यह कॉल {_saved_at(attempt)} बजे पहले ही सेव हो चुकी है।" in back


def test_another_volunteers_call_is_still_not_yours(client, login, district):
    task = make_task(make_patient(district))
    first = make_user("volunteer", district)
    login(first)
    url, _page, fields = take_call(client)
    client.post(url, data=dict(fields, outcome="connected"))
    client.post("/logout", data={"csrf_token": fields["csrf_token"]})
    login(make_user("volunteer", district))
    html = client.get(f"/queue/task/{task.id}", follow_redirects=True).get_data(as_text=True)
    assert "This call is not assigned to you." in html and "already saved at" not in html
