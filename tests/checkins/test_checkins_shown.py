"""A check-in by any channel is on the patient's call screen and record timeline."""
from callcenter.services.calls import queue
from callcenter.services.checkins import inbound

from ..conftest import csrf_token
from ..factories import make_patient, make_task, make_user

PHONE = "+919826012345"


def test_an_sms_check_in_is_on_the_call_screen_and_the_timeline(client, login, district):
    patient = make_patient(district, phone_number=PHONE)
    make_task(patient)
    inbound.receive_sms("SM1", PHONE, "", "2 spo2 96 temp 100.2")
    volunteer = make_user("volunteer", district)
    task = queue.claim_next_task(volunteer)
    login(volunteer)
    html = client.get(f"/queue/task/{task.id}").get_data(as_text=True)
    assert "Check-in" in html and "(SMS)" in html and "SpO2 96%" in html and "100.2 °F" in html
    client.post("/logout", data={"csrf_token": csrf_token(client, "/queue/")})
    login(make_user("nodal_officer", district))
    record = client.get(f"/patients/{patient.id}")
    assert record.status_code == 200 and "100.2" in record.get_data(as_text=True)
