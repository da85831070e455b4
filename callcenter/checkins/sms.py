"""POST /twilio/sms: an inbound SMS, answered with TwiML (the reply in the patient's language)."""
from flask import abort, request
from twilio.twiml.messaging_response import MessagingResponse

from ..services.checkins import inbound
from .blueprint import bp
from .security import twilio_signed
from .twiml import twiml


@bp.post("/twilio/sms")
@twilio_signed
def sms():
    form = request.form
    sid = form.get("MessageSid") or form.get("SmsSid")
    if not sid:
        abort(400)
    received = inbound.receive_sms(sid, form.get("From", ""), form.get("To", ""), form.get("Body", ""))
    response = MessagingResponse()
    if received.reply:
        response.message(received.reply)
    return twiml(response)
