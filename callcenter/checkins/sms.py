"""POST /twilio/sms: an inbound SMS, answered with TwiML (the reply in the patient's language)."""
from flask import Response, abort, request
from twilio.twiml.messaging_response import MessagingResponse

from ..services.checkins import inbound
from .security import twilio_signed
from .views import bp


def twiml(response):
    return Response(str(response), mimetype="text/xml")


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
