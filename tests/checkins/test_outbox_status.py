"""POST /twilio/status: signed by Twilio (real signatures), idempotent, and never moving a message back."""
import pytest
from twilio.request_validator import RequestValidator

from callcenter.extensions import db
from callcenter.models import OutboundMessage
from callcenter.services.outbox.enqueue import enqueue_daily_checkins
from callcenter.services.outbox.reconcile import reconcile
from callcenter.services.outbox.sender import send_pending

from ..factories import make_patient
from .outbox_helpers import DAY, NOW, FakeClock, FakeGateway, at, config, messages  # noqa: F401

TOKEN = "twilio-auth-token-for-tests"


@pytest.fixture
def twilio(config):  # noqa: F811
    config["TWILIO_AUTH_TOKEN"] = TOKEN
    return config


def post(client, path, params, token=TOKEN, url=None, signature=None):
    """POST as Twilio does: the form signed with the auth token over the full URL it calls."""
    url = url or f"http://localhost{path}"
    headers = {}
    if signature is None and token:
        signature = RequestValidator(token).compute_signature(url, params)
    if signature:
        headers["X-Twilio-Signature"] = signature
    return client.post(path, data=params, headers=headers)


def sent_message(district, channel="sms_reply"):
    make_patient(district, checkin_channel=channel)
    enqueue_daily_checkins(DAY, now=NOW)
    gateway = FakeGateway()
    send_pending(gateway, clock=FakeClock(), now_fn=at())
    return messages()[0]


def sms_status(m, status, **extra):
    return {"MessageSid": m.provider_sid, "SmsSid": m.provider_sid, "MessageStatus": status, "SmsStatus": status,
            "AccountSid": "AC" + "0" * 32, "To": m.to_phone, **extra}


def test_a_delivery_report_is_recorded_once_and_never_undone(client, district, twilio):
    m = sent_message(district)
    path = f"/twilio/status?m={m.id}"
    assert post(client, path, sms_status(m, "sent")).status_code == 204
    assert messages()[0].status == "sent"
    assert post(client, path, sms_status(m, "delivered")).status_code == 204
    delivered = messages()[0]
    assert delivered.status == "delivered"
    first_at = delivered.status_at
    # Twilio retries, and callbacks overtake each other: nothing changes
    for late in ("delivered", "sent", "queued", "undelivered"):
        assert post(client, path, sms_status(m, late)).status_code == 204
        again = messages()[0]
        assert (again.status, again.status_at) == ("delivered", first_at), late


def test_a_failed_delivery(client, district, twilio):
    m = sent_message(district)
    post(client, f"/twilio/status?m={m.id}", sms_status(m, "undelivered", ErrorCode="30003"))
    failed = messages()[0]
    assert failed.status == "failed" and failed.last_error == "undelivered (Twilio error 30003)"


def test_call_status(client, district, twilio):
    m = sent_message(district, channel="ivr")
    params = {"CallSid": m.provider_sid, "AccountSid": "AC" + "0" * 32}
    path = f"/twilio/status?m={m.id}"
    post(client, path, {**params, "CallStatus": "ringing"})
    assert messages()[0].status == "sent"
    post(client, path, {**params, "CallStatus": "completed", "CallDuration": "63"})
    assert messages()[0].status == "delivered"
    post(client, path, {**params, "CallStatus": "in-progress"})
    assert messages()[0].status == "delivered"


def test_a_callback_settles_a_message_whose_outcome_was_unknown(client, district, twilio):
    make_patient(district)
    enqueue_daily_checkins(DAY, now=NOW)
    m = messages()[0]
    db.session.get(OutboundMessage, m.id).status = "unknown"  # its sender died with Twilio's answer
    db.session.commit()
    sid = "SM" + "9" * 32
    post(client, f"/twilio/status?m={m.id}", {"MessageSid": sid, "MessageStatus": "delivered"})
    settled = messages()[0]
    assert (settled.status, settled.provider_sid, settled.provider) == ("delivered", sid, "twilio")
    assert settled.params == {}  # Twilio has the text: the seed its token was made from goes
    # and the reconciliation has nothing left to do
    assert reconcile(FakeGateway(), NOW) == {}


def test_a_callback_naming_another_message_changes_nothing(client, district, twilio):
    m = sent_message(district)
    other_sid = "SM" + "8" * 32
    assert post(client, f"/twilio/status?m={m.id}", {"MessageSid": other_sid, "MessageStatus": "failed"}
                ).status_code == 204
    unchanged = messages()[0]
    assert (unchanged.status, unchanged.provider_sid) == ("sent", m.provider_sid)
    # and a callback about a message that is not ours at all
    assert post(client, "/twilio/status", {"MessageSid": other_sid, "MessageStatus": "failed"}).status_code == 204


def test_signatures(client, district, twilio):
    m = sent_message(district)
    path = f"/twilio/status?m={m.id}"
    params = sms_status(m, "delivered")
    assert post(client, path, params, token=None).status_code == 403                     # missing
    assert post(client, path, params, token="someone-elses-token").status_code == 403    # forged
    assert post(client, path, params, url=f"https://sampark.example.gov.in{path}").status_code == 403  # wrong URL
    tampered = RequestValidator(TOKEN).compute_signature(f"http://localhost{path}", params)
    assert post(client, path, {**params, "MessageStatus": "failed"}, signature=tampered).status_code == 403
    assert messages()[0].status == "sent"
    assert post(client, path, params).status_code == 204                                  # valid
    assert messages()[0].status == "delivered"


def test_behind_a_proxy_the_public_url_is_what_is_signed(client, district, twilio):
    twilio["WEBHOOK_BASE_URL"] = "https://sampark.example.gov.in"
    m = sent_message(district)
    path = f"/twilio/status?m={m.id}"
    public = f"https://sampark.example.gov.in{path}"
    assert post(client, path, sms_status(m, "delivered")).status_code == 403  # signed for the inner URL
    assert post(client, path, sms_status(m, "delivered"), url=public).status_code == 204


def test_with_no_auth_token_every_callback_is_refused(client, district, config):  # noqa: F811
    config["TWILIO_AUTH_TOKEN"] = ""
    m = sent_message(district)
    path = f"/twilio/status?m={m.id}"
    assert post(client, path, sms_status(m, "delivered"), token="anything").status_code == 403
    assert post(client, path, sms_status(m, "delivered"), token=None).status_code == 403
    assert messages()[0].status == "sent"
