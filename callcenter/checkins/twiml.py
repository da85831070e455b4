"""TwiML answers: what the SMS and IVR webhooks send back to Twilio."""
from flask import Response


def twiml(response):
    return Response(str(response), mimetype="text/xml")
