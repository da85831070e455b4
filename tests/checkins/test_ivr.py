"""The IVR check-in, step by step as TwiML: each <Say language> and <Gather>, a retry then the polite end with
a volunteer's call queued, the happy path recording a CheckIn, a warning sign raising an emergency, and
Twilio's repeated webhooks recording nothing twice."""
import pytest

from callcenter.clock import utcnow
from callcenter.extensions import db
from callcenter.models import CallTask, CheckIn, Escalation, IvrCall, OutboundMessage
from callcenter.rules import priority

from ..factories import make_patient, make_task
from .inbound_helpers import call_params, signed_post, twilio_token, xml  # noqa: F401

pytestmark = pytest.mark.usefixtures("twilio_token")  # a configured auth token, for every test
PHONE = "+919826012345"


@pytest.fixture
def patient(district):
    return make_patient(district, phone_number=PHONE)


def call_message(patient, language="en", to_phone=None):
    message = OutboundMessage(idempotency_key=f"checkin:{patient.id}:test", patient_id=patient.id, kind="call",
                              to_phone=to_phone or patient.phone, template="checkin_ivr", params={},
                              language=language, body="http://localhost/twilio/voice", status="sent", tries=1,
                              next_attempt_at=utcnow(), last_error="", created_at=utcnow())
    db.session.add(message)
    db.session.commit()
    return message


def start(client, message=None, **params):
    path = f"/twilio/voice?m={message.id}" if message else "/twilio/voice"
    return xml(signed_post(client, path, call_params(to=PHONE, **params)))


def press(client, step, digits, attempt=0, sid="CA0001"):
    return xml(signed_post(client, f"/twilio/voice/{step}?a={attempt}", call_params(sid=sid, to=PHONE, Digits=digits)))


def gather_of(root):
    [gather] = root.findall("Gather")
    assert root.find("Hangup") is None
    return gather


def says(node, language="en-IN"):
    spoken = node.findall("Say")
    assert spoken and all(s.get("language") == language and s.get("voice") == "Polly.Aditi" for s in spoken)
    return [s.text for s in spoken]


def ends(root, language="en-IN"):
    assert root.find("Gather") is None and root.find("Hangup") is not None
    [text] = says(root, language)
    return text


def the_call():
    return db.session.scalar(db.select(IvrCall))


def test_the_whole_call_step_by_step(client, patient):
    root = start(client, call_message(patient))
    gather = gather_of(root)
    assert gather.attrib == {"input": "dtmf", "action": "/twilio/voice/feeling?a=0", "method": "POST",
                             "actionOnEmptyResult": "true", "numDigits": "1", "timeout": "6"}
    greeting, question = says(gather)
    assert greeting.startswith("Namaste. This is the Sampark COVID call centre")
    assert question == "If you are feeling fine, press 1. If you are not well, press 2."

    gather = gather_of(press(client, "feeling", "1"))
    assert (gather.get("action"), gather.get("numDigits")) == ("/twilio/voice/spo2?a=0", "2")
    assert says(gather)[0].startswith("Please key in your oxygen level")

    gather = gather_of(press(client, "spo2", "96"))
    assert (gather.get("action"), gather.get("finishOnKey"), gather.get("numDigits")) == (
        "/twilio/voice/temperature?a=0", "#", None)
    assert "press 1 0 1 2 hash" in says(gather)[0]

    gather = gather_of(press(client, "temperature", "1012"))
    assert (gather.get("action"), gather.get("numDigits")) == ("/twilio/voice/need?a=0", "1")
    assert says(gather)[0].startswith("Do you need anything? For medicine, press 2.")

    assert ends(press(client, "need", "0")) == "Thank you. Your answers are recorded. Take care. Goodbye."
    [checkin] = db.session.scalars(db.select(CheckIn)).all()
    assert (checkin.patient_id, checkin.channel, checkin.feeling_ok, checkin.spo2, checkin.temperature_f) == (
        patient.id, "ivr", True, 96, 101.2)
    call = the_call()
    assert (call.status, call.checkin_id, call.patient_id, call.language) == ("completed", checkin.id, patient.id, "en")
    assert call.message_id is not None and call.ended_at is not None
    assert db.session.scalars(db.select(Escalation)).all() == []


def test_a_need_is_passed_on(client, patient):
    start(client, call_message(patient))
    press(client, "feeling", "2")
    press(client, "spo2", "0")            # no oximeter
    press(client, "temperature", "0#")    # no thermometer
    assert ends(press(client, "need", "3")).startswith("Thank you. Your request has been passed on")
    [esc] = db.session.scalars(db.select(Escalation)).all()
    assert (esc.kind, esc.desk) == ("doctor", "doctor")
    checkin = db.session.scalar(db.select(CheckIn))
    assert (checkin.feeling_ok, checkin.spo2, checkin.temperature_f) == (False, None, None)


def test_an_ambulance_is_an_emergency(client, patient):
    start(client, call_message(patient))
    press(client, "feeling", "2")
    press(client, "spo2", "95")
    press(client, "temperature", "986#")
    assert "emergency control room" in ends(press(client, "need", "4"))
    assert db.session.scalar(db.select(Escalation.severity)) == "emergency"


def test_a_low_spo2_ends_the_call_with_an_emergency_at_once(client, patient):
    task = make_task(patient, priority=priority.ROUTINE)
    start(client, call_message(patient))
    press(client, "feeling", "2")
    text = ends(press(client, "spo2", "88"))
    assert "emergency control room" in text and "108" in text
    [esc] = db.session.scalars(db.select(Escalation)).all()
    assert (esc.kind, esc.severity, esc.reasons, esc.source) == ("warning_sign", "emergency", [["spo2", 88]], "checkin")
    checkin = db.session.scalar(db.select(CheckIn))
    assert (checkin.spo2, checkin.feeling_ok, checkin.channel) == (88, False, "ivr")
    assert the_call().status == "completed"
    assert db.session.get(CallTask, task.id).priority == priority.EMERGENCY_FOLLOW_UP


def test_a_wrong_answer_is_asked_again_once_then_the_call_ends_and_a_volunteer_calls(client, patient):
    start(client, call_message(patient))
    gather = gather_of(press(client, "feeling", ""))  # silence (actionOnEmptyResult)
    assert gather.get("action") == "/twilio/voice/feeling?a=1"
    assert says(gather) == ["Sorry, that was not a valid answer.",
                            "If you are feeling fine, press 1. If you are not well, press 2."]
    text = ends(press(client, "feeling", "7", attempt=1))
    assert text.startswith("Sorry, we could not get your answers. A volunteer from the call centre will call you")
    call = the_call()
    assert (call.status, call.checkin_id) == ("gave_up", None)
    [task] = db.session.scalars(db.select(CallTask)).all()
    assert (task.status, task.priority, task.reason) == ("pending", priority.UNWELL_OR_UNREACHED, "ivr_gave_up")
    assert task.due_at <= utcnow()
    assert db.session.scalars(db.select(CheckIn)).all() == []


def test_giving_up_half_way_keeps_what_was_answered(client, patient):
    task = make_task(patient, priority=priority.ROUTINE)
    start(client, call_message(patient))
    press(client, "feeling", "2")
    press(client, "spo2", "97")
    press(client, "temperature", "12#")
    ends(press(client, "temperature", "5555#", attempt=1))
    checkin = db.session.scalar(db.select(CheckIn))
    assert (checkin.feeling_ok, checkin.spo2, checkin.temperature_f) == (False, 97, None)
    task = db.session.get(CallTask, task.id)
    assert (task.priority, task.status) == (priority.UNWELL_OR_UNREACHED, "pending") and task.due_at <= utcnow()
    assert the_call().checkin_id == checkin.id


def test_a_repeated_webhook_records_nothing_twice(client, patient):
    message = call_message(patient)
    start(client, message)
    again = start(client, message)  # Twilio retried the first request: same question, one call
    assert gather_of(again).get("action") == "/twilio/voice/feeling?a=0"
    assert db.session.scalar(db.select(db.func.count(IvrCall.id))) == 1
    press(client, "feeling", "1")
    repeat = press(client, "feeling", "1")  # already past this step: the current question again
    assert gather_of(repeat).get("action") == "/twilio/voice/spo2?a=0"
    press(client, "spo2", "")                       # one wrong answer …
    stale = press(client, "spo2", "", attempt=0)    # … and its retry does not count as a second one
    assert gather_of(stale).get("action") == "/twilio/voice/spo2?a=1"
    press(client, "spo2", "97", attempt=1)
    press(client, "temperature", "98#")
    first = ends(press(client, "need", "2"))
    assert ends(press(client, "need", "2")) == first  # the last step repeated: the same goodbye
    assert db.session.scalar(db.select(db.func.count(CheckIn.id))) == 1
    assert db.session.scalar(db.select(db.func.count(Escalation.id))) == 1


def test_the_call_speaks_the_patients_language(client, patient):
    gather = gather_of(start(client, call_message(patient, language="hi")))
    greeting, question = says(gather, "hi-IN")
    assert greeting.startswith("नमस्ते।") and question == "अगर आप ठीक हैं, तो 1 दबाएँ। अगर तबीयत ठीक नहीं है, तो 2 दबाएँ।"
    assert says(gather_of(press(client, "feeling", "9")), "hi-IN")[0] == "क्षमा करें, यह सही जवाब नहीं था।"


def test_without_the_message_id_the_called_number_identifies_the_patient(client, patient):
    start(client)  # outbound-api: the patient is "To"
    assert the_call().patient_id == patient.id


def test_a_call_the_patient_makes_is_identified_by_from(client, patient):
    xml(signed_post(client, "/twilio/voice", call_params(to="+15005550006", from_phone=PHONE, direction="inbound")))
    assert the_call().patient_id == patient.id


def test_a_message_id_for_another_number_is_not_trusted(client, district, patient):
    other = make_patient(district, phone_number="+919811111111")
    start(client, call_message(other))  # the call went to PHONE, not to the message's number
    assert the_call().patient_id == patient.id and the_call().message_id is None


def test_an_unknown_number_hears_where_to_call_and_nothing_is_recorded(client, district):
    root = xml(signed_post(client, "/twilio/voice", call_params(to="+919811111111")))
    assert "आपका नंबर हमारे रिकॉर्ड में नहीं मिला" in ends(root, "hi-IN")  # no patient: the default language
    call = the_call()
    assert (call.status, call.patient_id) == ("unknown_caller", None)
    assert db.session.scalars(db.select(CallTask)).all() == []


def test_ivr_webhooks_are_signed_too(client, patient):
    assert client.post("/twilio/voice", data=call_params(to=PHONE)).status_code == 403
    assert client.post("/twilio/voice/feeling?a=0", data=call_params(to=PHONE, Digits="1")).status_code == 403
    # the signature covers the query string: ?m= cannot be changed
    message = call_message(patient)
    response = signed_post(client, f"/twilio/voice?m={message.id}", call_params(to=PHONE),
                           url=f"http://localhost/twilio/voice?m={message.id + 1}")
    assert response.status_code == 403
    assert the_call() is None


def test_an_unknown_step_is_not_found(client):
    assert signed_post(client, "/twilio/voice/bogus?a=0", call_params(Digits="1")).status_code == 404
