"""The Exotel backend against the fake Exotel (tests/exotel_fake.py) over real HTTP: SMS with the DLT fields,
delivery reports through the secret callback URL, failure codes, refusals."""
import pytest

from callcenter import gateway as gateways
from callcenter.extensions import db
from callcenter.gateway.exotel import ExotelGateway, template_ids
from callcenter.services.outbox.enqueue import enqueue_sms
from callcenter.services.outbox.sender import send_pending

from ..checkins.outbox_helpers import NOW, FakeClock, at, make_patient_speaking, messages
from ..exotel_fake import ENTITY_ID, HEADER
from ..exotel_fixtures import SECRET
from ..factories import make_patient


def _sms(patient, template="checkin_reply", key="k1", **variables):
    enqueue_sms(key, patient.phone, template, patient.language, now=NOW, patient_id=patient.id, **variables)
    db.session.commit()


def send():
    return send_pending(clock=FakeClock(), now_fn=at())


def test_per_channel_selection(app, exotel):
    assert isinstance(gateways.get(), ExotelGateway)
    app.config["IVR_BACKEND"] = "console"
    router = gateways.get()
    assert router.for_kind("sms").name == "exotel" and router.for_kind("call").name == "console"
    assert gateways.for_channel("click_to_call").name == "exotel"


def test_a_hindi_sms_goes_with_its_dlt_fields_in_unicode_and_its_delivery_report_is_recorded(district, exotel):
    patient = make_patient_speaking(district, "hi")
    _sms(patient)
    assert send()["sent"] == 1
    (sent,) = exotel.sent
    p = sent.params
    assert (p["From"], p["DltEntityId"], p["EncodingType"], p["To"]) == (HEADER, ENTITY_ID, "unicode", patient.phone)
    assert p["DltTemplateId"] == template_ids(exotel_config_ids())["checkin_reply.hi"]
    assert p["StatusCallback"].endswith(f"/exotel/{SECRET}/status?m={messages()[0].id}")
    m = messages()[0]
    assert (m.status, m.provider, m.provider_sid) == ("sent", "exotel", sent.sid)

    assert exotel.deliver(sent).status_code == 200
    assert messages()[0].status == "delivered"


def exotel_config_ids():
    from flask import current_app
    return current_app.config["EXOTEL_DLT_TEMPLATE_IDS"]


def test_an_english_sms_is_plain_text(district, exotel):
    _sms(make_patient(district))  # the factory's patients speak English
    send()
    assert "EncodingType" not in exotel.sent[0].params and exotel.refused == []


def test_a_template_without_a_dlt_id_is_refused_with_a_clear_error(app, district, exotel):
    ids = template_ids(app.config["EXOTEL_DLT_TEMPLATE_IDS"])
    ids.pop("checkin_reply.en")
    app.config["EXOTEL_DLT_TEMPLATE_IDS"] = ",".join(f"{k}={v}" for k, v in ids.items())
    _sms(make_patient(district))
    assert send()["failed"] == 1
    m = messages()[0]
    assert m.status == "failed" and "no DLT template id" in m.last_error and "checkin_reply" in m.last_error
    assert exotel.sent == [] and exotel.refused == []  # never asked the provider


def test_dnd_and_template_mismatch_are_permanent_failures(district, exotel):
    a, b = make_patient(district), make_patient(district)
    _sms(a, key="a")
    _sms(b, key="b")
    send()
    first, second = exotel.sent
    exotel.deliver(first, "failed", 23005, "FAILED_DND")
    exotel.deliver(second, "failed", 23082, "FAILED_DLT_TEMPLATE")
    by_sid = {m.provider_sid: m for m in messages()}
    assert by_sid[first.sid].status == "failed" and "DND" in by_sid[first.sid].last_error
    assert "23082" in by_sid[second.sid].last_error and "template" in by_sid[second.sid].last_error
    assert send()["handed"] == 0  # never sent again


def test_a_callback_without_the_secret_is_refused_and_changes_nothing(client, district, exotel):
    _sms(make_patient(district))
    send()
    (sent,) = exotel.sent
    m = messages()[0]
    for key in ("wrong-secret", "", SECRET[:-1]):
        response = client.post(f"/exotel/{key}/status?m={m.id}" if key else f"/exotel//status?m={m.id}",
                               data={"SmsSid": sent.sid, "Status": "failed", "DetailedStatusCode": "23005"})
        assert response.status_code in (403, 404)
    assert client.post(f"/exotel/wrong-secret/status?m={m.id}", data={"SmsSid": sent.sid}).status_code == 403
    assert messages()[0].status == "sent"


def test_a_replayed_or_late_callback_changes_nothing(district, exotel):
    _sms(make_patient(district))
    send()
    (sent,) = exotel.sent
    exotel.deliver(sent)
    before = messages()[0]
    status_at = before.status_at
    assert exotel.replay_last_callback(sent).status_code == 200  # Exotel retries: twice at most
    exotel.deliver(sent, "failed", 23005, "FAILED_DND")  # a late, contradicting report
    after = messages()[0]
    assert (after.status, after.status_at, after.last_error) == ("delivered", status_at, "")


def test_a_refused_request_fails_the_message_and_a_busy_provider_is_retried(district, exotel):
    _sms(make_patient(district), key="a")
    exotel.fail_next.append(503)
    assert send()["retried"] == 1
    assert messages()[0].status == "queued" and exotel.sent == []


def test_the_gateway_needs_its_settings():
    with pytest.raises(gateways.ConfigurationError):
        ExotelGateway({"EXOTEL_API_KEY": "k", "EXOTEL_API_TOKEN": "t"})
    with pytest.raises(gateways.ConfigurationError, match="EXOTEL_CALLBACK_SECRET"):
        ExotelGateway({"EXOTEL_API_KEY": "k", "EXOTEL_API_TOKEN": "t", "EXOTEL_ACCOUNT_SID": "s",
                       "EXOTEL_CALLBACK_SECRET": "short"})
