from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from .. import labels
from ..forms import MaxLength, WholeNumberField, max_chars

ACTIONS = ("acknowledge", "start", "note", "resolve", "cancel")
LOCAL_MINUTE = "%Y-%m-%dT%H:%M"  # <input type="datetime-local">, India time


class EscalationActionForm(FlaskForm):
    action = SelectField(choices=[SelectChoice(a) for a in ACTIONS], validators=[DataRequired()])
    version = IntegerField(validators=[Optional()])
    text = TextAreaField(_l("Note"), validators=[Length(max=2000)])
    desk = HiddenField()
    # Resolving: what came of it, and where the patient was admitted (default: the ambulance's destination).
    outcome = SelectField(_l("Outcome"), choices=[SelectChoice("", "—"), *labels.choices(labels.ESCALATION_OUTCOMES)],
                          validators=[Optional()])
    facility_id = SelectField(_l("Admitted at"), choices=[], validate_choice=False, validators=[Optional()])


class DispatchForm(FlaskForm):
    """Help sent: an ambulance (vehicle, driver, destination, ETA) or a delivery (who, when)."""
    kind = RadioField(_l("What is sent"), choices=labels.choices(labels.DISPATCH_KINDS), default="ambulance",
                      validators=[Optional()])
    # Examples as help under the box, never as a placeholder: a grey "CG 04 AB 1234" in the box read as typed.
    vehicle_number = StringField(_l("Vehicle number"), validators=[Length(max=30)],
                                 description=_l("For example: %(example)s", example="CG 04 AB 1234"))
    driver_phone = StringField(_l("Driver's mobile"), validators=[Length(max=20)],
                               description=_l("For example: %(example)s", example="98260 12345"),
                               render_kw={"type": "tel", "inputmode": "tel"})
    destination_facility_id = SelectField(_l("Takes the patient to"), choices=[], validate_choice=False)
    eta = DateTimeLocalField(_l("Reaches the patient at"), format=LOCAL_MINUTE, validators=[Optional()])
    delivered_by = StringField(_l("Brought by"), validators=[MaxLength(120)], render_kw=max_chars(120))
    delivery_at = DateTimeLocalField(_l("Reaches the patient at"), format=LOCAL_MINUTE, validators=[Optional()])
    note = TextAreaField(_l("Note"), validators=[Length(max=2000)])
    version = IntegerField(validators=[Optional()])


class ReassignForm(FlaskForm):
    owner_id = SelectField(_l("Hand over to"), choices=[], validate_choice=False, validators=[Optional()])
    text = TextAreaField(_l("Why"), validators=[Length(max=2000)])
    version = IntegerField(validators=[Optional()])


class ReviewDecisionForm(FlaskForm):
    decision = SelectField(choices=[SelectChoice("discharge"), SelectChoice("continue")],
                           validators=[DataRequired()])
    note = TextAreaField(_l("Note"), validators=[Length(max=2000)])
    confirmed = HiddenField()  # "yes" from the confirmation page: a discharge is never one click


# --- Referral desks (desks/referrals.py), field visits (desks/field_visits.py), free beds (desks/beds.py).
# Types only: the rules and their messages are in services/desks/consultations.py, field_visits.py and beds.py.

class ConsultationForm(FlaskForm):
    """A doctor's or counsellor's call to a referred patient."""
    submission_key = HiddenField(validators=[DataRequired()])
    outcome = RadioField(_l("What happened?"), choices=labels.choices(labels.OUTCOMES), validate_choice=False)
    notes = TextAreaField(_l("Advice given / session notes"), validators=[Length(max=4000)], render_kw={"rows": 4})
    need_met = BooleanField(_l("Need met: close the referral"))
    follow_up_date = DateField(_l("Call again on (optional)"), validators=[Optional()])

    def report(self):
        return {"outcome": self.outcome.data, "notes": self.notes.data or "", "need_met": bool(self.need_met.data),
                "follow_up_date": self.follow_up_date.data}


class DeskEmergencyForm(FlaskForm):
    kind = RadioField(_l("The patient needs"), validate_choice=False, choices=labels.choices(
        [("warning_sign", _l("Urgent medical attention")), ("ambulance", labels.NEEDS["ambulance"]),
         ("hospital_bed", labels.NEEDS["hospital_bed"]), ("oxygen", labels.NEEDS["oxygen"])]))
    note = TextAreaField(_l("What the control room must know"), validators=[Length(max=4000)], render_kw={"rows": 2})


class FieldVisitForm(FlaskForm):
    result = RadioField(_l("What the visit found"), choices=labels.choices(labels.FIELD_VISIT_RESULTS),
                        validate_choice=False)
    send_to = RadioField(_l("Unwell: who must act"), choices=labels.choices(labels.FIELD_VISIT_SEND_TO),
                         validate_choice=False)
    note = TextAreaField(_l("Note"), validators=[Length(max=2000)], render_kw={"rows": 2})
    version = IntegerField(validators=[Optional()])


class BedsForm(FlaskForm):
    """One facility's free beds; `stamp` is the update stamp the page was opened with."""
    free_general = WholeNumberField(labels.BED_KINDS["general"], validators=[Optional()], render_kw={"min": 0})
    free_oxygen = WholeNumberField(labels.BED_KINDS["oxygen"], validators=[Optional()], render_kw={"min": 0})
    free_icu = WholeNumberField(labels.BED_KINDS["icu"], validators=[Optional()], render_kw={"min": 0})
    stamp = HiddenField()

    def values(self):
        return {"general": self.free_general.data, "oxygen": self.free_oxygen.data, "icu": self.free_icu.data}
