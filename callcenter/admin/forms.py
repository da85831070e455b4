from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DecimalField, IntegerField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from .. import labels
from ..services.core.settings import DEADLINE_KEY, LABELS


class SettingsForm(FlaskForm):
    spo2_emergency_below = IntegerField(LABELS["spo2_emergency_below"], validators=[InputRequired()])
    fever_f = DecimalField(LABELS["fever_f"], places=1, validators=[InputRequired()])
    claim_timeout_minutes = IntegerField(LABELS["claim_timeout_minutes"], validators=[InputRequired()])
    retry_interval_minutes = IntegerField(LABELS["retry_interval_minutes"], validators=[InputRequired()])
    max_attempts_per_day = IntegerField(LABELS["max_attempts_per_day"], validators=[InputRequired()])
    emergency_ack_minutes = IntegerField(LABELS["emergency_ack_minutes"], validators=[InputRequired()])
    high_risk_age = IntegerField(LABELS["high_risk_age"], validators=[InputRequired()])
    # The release rule: who is flagged each morning for a discharge review (rules/isolation.py).
    release_min_days = IntegerField(LABELS["release_min_days"], validators=[InputRequired()])
    release_fever_free_days = IntegerField(LABELS["release_fever_free_days"], validators=[InputRequired()])
    checkin_ok_deprioritises = BooleanField(
        _l("Call patients who checked in fine after everyone else"),
        description=_l("When a patient's SMS, link or IVR check-in says they feel fine, with no symptom or need, "
                       "and any SpO2 or temperature they gave is within the limits above, their call today moves to "
                       "the bottom of the queue, so volunteers reach the others first. They are still called. "
                       "Patients who share a phone with their household are not moved."))
    submit = SubmitField(_l("Save settings"))

    def values(self):
        converters = {"fever_f": float, "checkin_ok_deprioritises": int}  # stored as numbers: 1 = yes, 0 = no
        return {key: converters.get(key, lambda v: v)(f.data) for key, f in self._fields.items() if key in LABELS}


# Response deadlines (services/core/settings.py): the re-alert interval, then minutes to acknowledge for each
# escalation kind, most urgent first (fields named by their setting key, e.g. "deadline_minutes.ambulance").
SettingsForm.realert_minutes = IntegerField(LABELS["realert_minutes"], validators=[InputRequired()])
for _key in [k for k in LABELS if k.startswith(DEADLINE_KEY.format(""))]:
    setattr(SettingsForm, _key, IntegerField(LABELS[_key], validators=[InputRequired()]))


class UserForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=60)])
    full_name = StringField(_l("Full name"), validators=[Length(max=120)])
    role = SelectField(_l("Role"), choices=labels.choices(labels.ROLES))
    # A required choice: "State level" is one of the options (value "*"), never the result of leaving it out.
    district = SelectField(_l("District"), validators=[DataRequired(_l("Choose a district."))])
    password = PasswordField(_l("Password"), validators=[DataRequired()],
                             description=_l("At least 8 characters, 12 for administrators, nodal officers and the "
                                            "control room; not a common password and not the username. A few "
                                            "unrelated words make a good one."))
    submit = SubmitField(_l("Create user"))


class EditUserForm(FlaskForm):
    full_name = StringField(_l("Full name"), validators=[Length(max=120)])
    role = SelectField(_l("Role"), choices=labels.choices(labels.ROLES))
    district = SelectField(_l("District"), validators=[Optional()])
    phone = StringField(_l("Mobile number"), validators=[Length(max=20)],
                        description=_l("For alerts sent to this person (optional)."))
    active = BooleanField(_l("Active (may sign in)"))
    submit = SubmitField(_l("Save"))


class DutyPhoneForm(FlaskForm):
    """A district's duty officer phone (services/desks/deadlines.py texts overdue escalations to it)."""
    district_id = IntegerField(validators=[InputRequired()])
    duty_phone = StringField(_l("Duty officer's mobile number"), validators=[Length(max=20)],
                             description=_l("Gets an SMS when an escalation is not acknowledged in time. "
                                            "Leave empty to send none."))
    save = SubmitField(_l("Save"))


class PasswordResetForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired()])
    reset = SubmitField(_l("Set new password"))


class TwoFactorResetForm(FlaskForm):
    reset_two_factor = SubmitField(_l("Reset two-factor sign-in"))
