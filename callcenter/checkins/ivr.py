"""POST /twilio/voice (the call is answered) and /twilio/voice/<step> (each <Gather>'s answer): TwiML."""
from flask import abort, current_app, request, url_for
from twilio.twiml.voice_response import Gather, VoiceResponse

from .. import public_urls
from ..services.checkins import ivr
from . import texts
from .blueprint import bp
from .security import twilio_signed
from .twiml import twiml

# Each question's <Gather>: one key, two digits, or digits ended by # (the temperature).
GATHER = {
    "feeling": {"num_digits": 1, "timeout": 6},
    "spo2": {"num_digits": 2, "timeout": 8},
    "temperature": {"finish_on_key": "#", "timeout": 10},
    "need": {"num_digits": 1, "timeout": 8},
}


def _say(parent, language, key):
    parent.say(texts.IVR[language][key], language=texts.SAY_LANGUAGE[language], voice=current_app.config["IVR_VOICE"])


def _action_url(step, attempt):
    """Relative, so Twilio resolves it against the URL it called (and signs what it resolved)."""
    path = url_for("checkins.voice_step", step=step, a=attempt)
    base = public_urls.configured_webhook_base()
    return base + path if base else path


def render(turn):
    response = VoiceResponse()
    language = texts.language(turn.language)
    if turn.end:
        _say(response, language, turn.end)
        response.hangup()
        return twiml(response)
    gather = Gather(input="dtmf", action=_action_url(turn.ask, turn.attempt), method="POST",
                    action_on_empty_result=True, **GATHER[turn.ask])
    for key in (*turn.say_first, turn.ask):
        _say(gather, language, key)
    response.append(gather)
    return twiml(response)


def _call_sid():
    sid = request.form.get("CallSid")
    if not sid:
        abort(400)
    return sid


@bp.post("/twilio/voice")
@twilio_signed
def voice():
    form = request.form
    turn = ivr.start_call(_call_sid(), request.args.get("m", type=int), form.get("From", ""), form.get("To", ""),
                          form.get("Direction", ""))
    return render(turn)


@bp.post("/twilio/voice/<step>")
@twilio_signed
def voice_step(step):
    if step not in ivr.STEPS:
        abort(404)
    turn = ivr.answer(_call_sid(), step, request.args.get("a", 0, type=int), request.form.get("Digits", ""))
    return render(turn)
