"""A signed webhook asks the database a fixed, small number of questions: Twilio's SMS and IVR webhooks arrive by
the hundred a second on a state's morning, so each statement counts (docs/PERFORMANCE.md, webhook section). The
counts are exact, per database (the audit chain's commit differs: one function call on PostgreSQL), so that a
change that adds a statement to these paths is seen and explained, not slipped in."""
import pytest
from sqlalchemy import event

from callcenter.extensions import db
from callcenter.models import CheckIn, InboundMessage, IvrCall

from ..factories import make_patient, make_task
from .inbound_helpers import BASE, call_params, sign, sms_params, twilio_token  # noqa: F401

pytestmark = pytest.mark.usefixtures("twilio_token")
PHONE = "+919826012345"
# The audit chain's statements at a commit that wrote audit rows (services/core/audit.py): PostgreSQL one call of
# audit_chain_append (the lock, the check, the head, the update); SQLite reads the unchained ids with the head, and
# updates.
CHAIN = {"postgresql": 1, "sqlite": 2}
# A commit without audit rows asks nothing of the chain.
NO_CHAIN = 0


@pytest.fixture
def patient(district):
    patient = make_patient(district, phone_number=PHONE)
    make_task(patient, priority=3)
    return patient


def statements(client, path, params):
    seen = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = client.post(path, data=params, headers={"X-Twilio-Signature": _signature(path, params)})
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert response.status_code == 200, response.get_data(as_text=True)
    return len(seen)


def _signature(path, params):
    return sign(BASE + path, params)


def test_an_sms_check_in(client, patient, is_postgres):
    chain = CHAIN["postgresql" if is_postgres else "sqlite"]
    # the MessageSid, the sender, the settings; the message; the check-in, the patient's last contact, today's
    # call moved, the audit row and its subject, the message's check-in id; the chain
    assert statements(client, "/twilio/sms", sms_params("1", PHONE, sid="SM1")) == 10 + chain
    assert db.session.scalar(db.select(InboundMessage.checkin_id)) is not None
    # Twilio's retry of the same MessageSid: one look-up, nothing written, no commit
    assert statements(client, "/twilio/sms", sms_params("1", PHONE, sid="SM1")) == 1
    assert len(db.session.scalars(db.select(CheckIn)).all()) == 1


def test_an_sms_with_a_need(client, patient, is_postgres):
    chain = CHAIN["postgresql" if is_postgres else "sqlite"]
    # as above, and the need, its escalation (looked for, raised, audited, linked to the need). The escalation's
    # audit row and the check-in's are flushed together at the commit: PostgreSQL inserts both in one INSERT
    # (SQLAlchemy's "insertmanyvalues", their ids returned in order), SQLite one INSERT each.
    audit_inserts = 1 if is_postgres else 2
    assert statements(client, "/twilio/sms", sms_params("2 spo2 96", PHONE, sid="SM2")) == 13 + audit_inserts + chain


def test_an_sms_from_an_unknown_number(client, patient, is_postgres):
    chain = CHAIN["postgresql" if is_postgres else "sqlite"]
    # the MessageSid, the sender (none); the message and its audit row; the chain
    assert statements(client, "/twilio/sms", sms_params("1", "+919800000099", sid="SM3")) == 4 + chain


def test_an_ivr_call_step_by_step(client, patient, is_postgres):
    chain = CHAIN["postgresql" if is_postgres else "sqlite"]
    params = call_params(sid="CA1", to=PHONE)
    # answered: the CallSid, the patient, the call
    assert statements(client, "/twilio/voice", params) == 3 + NO_CHAIN
    # each answer: the call, the compare-and-set UPDATE (SpO2 also reads the settings, for its threshold: the first
    # read of this process since the tables were emptied; then they are kept SETTINGS_CACHE_SECONDS)
    assert statements(client, "/twilio/voice/feeling?a=0", {**params, "Digits": "1"}) == 2 + NO_CHAIN
    assert statements(client, "/twilio/voice/spo2?a=0", {**params, "Digits": "96"}) == 3 + NO_CHAIN
    assert statements(client, "/twilio/voice/temperature?a=0", {**params, "Digits": "986#"}) == 2 + NO_CHAIN
    # Twilio repeats a webhook: the call is read, nothing written, no commit
    assert statements(client, "/twilio/voice/temperature?a=0", {**params, "Digits": "986#"}) == 1
    # the last answer: the call, the UPDATE (the settings as read above); the patient; the check-in, the last
    # contact, today's call moved, the audit row and its subject, the call's check-in id; the chain
    assert statements(client, "/twilio/voice/need?a=0", {**params, "Digits": "0"}) == 9 + chain
    call = db.session.scalar(db.select(IvrCall))
    assert call.status == "completed" and call.checkin_id is not None
