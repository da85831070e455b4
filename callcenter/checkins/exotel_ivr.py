"""The IVR check-in through Exotel: the same questions, answers and escalations as the Twilio IVR (checkins/ivr.py,
services/checkins/ivr.py, texts.IVR), spoken by an Exotel flow (docs/TELEPHONY.md) whose applets call here:

    Gather (prompt from /ivr/gather) → Passthru (/ivr/answer, the digits pressed) ─200─▶ back to Gather
                                                                               └─302─▶ Greeting (/ivr/end) → Hangup
The call is named by Exotel's CallSid; the outbox message by the call's CustomField ("m=<id>").
"""
import re

from flask import Response, jsonify, request

from ..services.checkins import ivr
from . import texts
from .blueprint import bp
from .exotel_security import exotel_secret
from .ivr import GATHER

CONTINUE, FINISHED = 200, 302  # the Passthru applet's two ways on


def _params():
    return {**request.args.to_dict(), **request.form.to_dict()}


def _message_id(params):
    match = re.fullmatch(r"m=(\d{1,12})", params.get("CustomField", "") or "")
    return int(match.group(1)) if match else None


def _turn(params):
    """The call's current turn, starting the call on its first request (the patient is the number Exotel dialled)."""
    sid = params.get("CallSid", "")
    patient = params.get("CallFrom", "")
    return ivr.start_call(sid, _message_id(params), from_phone=params.get("CallTo", ""), to_phone=patient,
                          direction="outbound-api")


def _speak(language, keys):
    return " ".join(texts.IVR[language][k] for k in keys)


@bp.route("/exotel/<key>/ivr/gather", methods=["GET", "POST"])
@exotel_secret
def exotel_ivr_gather():
    """The Gather applet's dynamic configuration: the question to ask now, and how many keys it takes."""
    params = _params()
    if not params.get("CallSid"):
        return "", 400
    turn = _turn(params)
    language = texts.language(turn.language)
    if turn.ask is None:  # nothing left to ask: a short gather the flow passes straight through
        return jsonify({"gather_prompt": {"text": _speak(language, [turn.end])}, "max_input_digits": 1,
                        "input_timeout": 1})
    ivr.prompt_served(params["CallSid"], turn)
    spec = GATHER[turn.ask]
    body = {"gather_prompt": {"text": _speak(language, (*turn.say_first, turn.ask))},
            "input_timeout": spec["timeout"], "repeat_menu": 1,
            "repeat_gather_prompt": {"text": _speak(language, [turn.ask])}}
    if "num_digits" in spec:
        body["max_input_digits"] = spec["num_digits"]
    if "finish_on_key" in spec:
        body["max_input_digits"], body["finish_on_key"] = 5, spec["finish_on_key"]
    return jsonify(body)


@bp.route("/exotel/<key>/ivr/answer", methods=["GET", "POST"])
@exotel_secret
def exotel_ivr_answer():
    """The Passthru applet after Gather: the digits pressed (Exotel quotes them: "digits"="\\"1\\"")."""
    params = _params()
    if not params.get("CallSid"):
        return "", 400
    digits = (params.get("digits") or params.get("DigitsPressed") or "").strip().strip('"')
    turn = ivr.answer_prompted(params["CallSid"], digits)
    return "", CONTINUE if turn.ask else FINISHED


@bp.route("/exotel/<key>/ivr/end", methods=["GET", "POST"])
@exotel_secret
def exotel_ivr_end():
    """The closing Greeting applet's text: the IVR's closing words for how the call ended."""
    params = _params()
    turn = _turn(params) if params.get("CallSid") else ivr.Turn(texts.DEFAULT, end=ivr.GAVE_UP)
    language = texts.language(turn.language)
    return Response(texts.IVR[language][turn.end or ivr.GAVE_UP], mimetype="text/plain")
