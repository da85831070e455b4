"""The call form. It parses types only; the ranges and rules live in services/calls/calls.py."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import HiddenInput

from .. import labels
from ..clock import local_to_utc
from ..forms import DecimalNumberField, MultiCheckboxField, WholeNumberField


class CallForm(FlaskForm):
    submission_key = HiddenField(validators=[DataRequired()])
    outcome = RadioField(_l("What happened?"), choices=labels.choices(labels.OUTCOMES),
                         validators=[DataRequired(_l("Choose what happened on the call."))])
    temperature_f = DecimalNumberField(_l("Temperature (°F)"), places=1, validators=[Optional()])
    spo2 = WholeNumberField(_l("SpO2 (%)"), validators=[Optional()])
    symptoms = MultiCheckboxField(_l("Symptoms"), choices=labels.choices(labels.SYMPTOMS))
    needs = MultiCheckboxField(_l("Needs"), choices=labels.choices(labels.NEEDS))
    notes = TextAreaField(_l("Notes"), validators=[Length(max=2000)], render_kw={"rows": 3})
    callback_at = DateTimeLocalField(_l("Call back at"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    submit = SubmitField(_l("Save call"))

    def report(self):
        return {
            "outcome": self.outcome.data,
            "temperature_f": float(self.temperature_f.data) if self.temperature_f.data is not None else None,
            "spo2": self.spo2.data,
            "symptoms": self.symptoms.data or [],
            "needs": self.needs.data or [],
            "notes": self.notes.data or "",
            "callback_at": local_to_utc(self.callback_at.data) if self.callback_at.data else None,
        }


class MemberForm(Form):
    """One household member's readings on a household call (no CSRF of its own: part of the call form)."""
    patient_id = IntegerField(widget=HiddenInput(), validators=[DataRequired()])
    temperature_f = DecimalNumberField(_l("Temperature (°F)"), places=1, validators=[Optional()])
    spo2 = WholeNumberField(_l("SpO2 (%)"), validators=[Optional()])
    symptoms = MultiCheckboxField(_l("Symptoms"), choices=labels.choices(labels.SYMPTOMS))
    needs = MultiCheckboxField(_l("Needs"), choices=labels.choices(labels.NEEDS))

    def readings(self):
        return {
            "patient_id": self.patient_id.data,
            "temperature_f": float(self.temperature_f.data) if self.temperature_f.data is not None else None,
            "spo2": self.spo2.data,
            "symptoms": self.symptoms.data or [],
            "needs": self.needs.data or [],
        }


class HouseholdCallForm(CallForm):
    """One call to a household's shared phone: the outcome, notes and call-back once; readings per member."""
    temperature_f = spo2 = symptoms = needs = None  # per member instead
    members = FieldList(FormField(MemberForm))

    def report(self):
        return {
            "outcome": self.outcome.data,
            "notes": self.notes.data or "",
            "callback_at": local_to_utc(self.callback_at.data) if self.callback_at.data else None,
            "members": [entry.form.readings() for entry in self.members],
        }

    def apply_member_errors(self, errors):
        """Put the service's "members-<i>-<field>" messages on the member's field; the rest stay."""
        rest = {}
        for key, message in errors.items():
            parts = key.split("-", 2)
            if len(parts) == 3 and parts[0] == "members" and parts[1].isdigit() and int(parts[1]) < len(self.members):
                field = getattr(self.members[int(parts[1])].form, parts[2], None)
                if field is not None:
                    field.errors = list(field.errors) + [str(message)]
                    continue
            rest[key] = message
        return rest


class TakeForm(FlaskForm):
    setting = HiddenField()
    submit = SubmitField(_l("Take next call"))


class ReleaseForm(FlaskForm):
    submit = SubmitField(_l("Put back in queue"))
