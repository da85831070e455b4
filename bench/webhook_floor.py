"""The floor for bench/webhook_throughput.py: a bare Flask app with one route that checks a Twilio signature as
the real webhooks do (RequestValidator, the URL as called, the form) and answers a fixed TwiML. No database, no
extensions: what gunicorn, the client and the signature check cost by themselves."""
import os

from flask import Flask, Response, abort, request
from twilio.request_validator import RequestValidator

app = Flask(__name__)
VALIDATOR = RequestValidator(os.environ.get("TWILIO_AUTH_TOKEN", ""))
TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Thanks</Message></Response>'


@app.post("/hello")
def hello():
    if not VALIDATOR.validate(request.url, request.form, request.headers.get("X-Twilio-Signature", "")):
        abort(403)
    return Response(TWIML, mimetype="text/xml")
