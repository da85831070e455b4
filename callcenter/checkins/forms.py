"""The SMS-link check-in form and the inbox's forms."""
import math

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..forms import MultiCheckboxField
from ..labels import choices
from ..rules import vitals
from ..rules.replies.lexicon import normalise
from . import texts


class LinkCheckinForm(FlaskForm):
    """Fields only: the words come from texts.LINK in the patient's language (see report())."""
    feeling = RadioField(choices=choices([("fine", "fine"), ("unwell", "unwell")]), validate_choice=False)
    spo2 = StringField()
    temperature_f = StringField()
    symptoms = MultiCheckboxField(choices=choices((s, s) for s in texts.LINK_SYMPTOMS))
    needs = MultiCheckboxField(choices=choices((n, n) for n in texts.LINK_NEEDS))

    def report(self):
        """(values, errors): errors are text keys of texts.LINK, by field."""
        errors = {}
        feeling = {"fine": True, "unwell": False}.get(self.feeling.data)
        if feeling is None:
            errors["feeling"] = "feeling_required"
        spo2 = _number(self.spo2.data)
        if spo2 == "bad" or (spo2 is not None and (spo2 != int(spo2) or
                                                    not vitals.SPO2_MIN <= spo2 <= vitals.SPO2_MAX)):
            errors["spo2"] = "spo2_invalid"
        temp = _number(self.temperature_f.data)
        if temp == "bad" or (temp is not None and not vitals.TEMPERATURE_F_MIN <= temp <= vitals.TEMPERATURE_F_MAX):
            errors["temperature_f"] = "temperature_invalid"
        values = {"feeling_ok": feeling,
                  "spo2": int(spo2) if "spo2" not in errors and spo2 is not None else None,
                  "temperature_f": round(temp, 1) if "temperature_f" not in errors and temp is not None else None,
                  "symptoms": tuple(s for s in self.symptoms.data or () if s in texts.LINK_SYMPTOMS),
                  "needs": tuple(n for n in self.needs.data or () if n in texts.LINK_NEEDS)}
        return values, errors


def _number(text):
    """A typed number (Devanagari digits and a decimal comma allowed); None if empty, "bad" if not one."""
    text = normalise(text or "").strip().replace(",", ".").rstrip("%").rstrip("°f").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        return "bad"
    return value if math.isfinite(value) else "bad"


class HandledForm(FlaskForm):
    pass


class SimulateReplyForm(FlaskForm):
    """The console backend's stand-in for a patient's phone: goes through the same path as /twilio/sms."""
    from_phone = StringField(_l("From (the patient's phone)"), validators=[DataRequired(), Length(max=32)])
    body = TextAreaField(_l("Message"), validators=[Length(max=1600)])
    next = HiddenField()
