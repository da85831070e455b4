from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DecimalField, IntegerField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from .. import labels
from ..services.settings import LABELS


class SettingsForm(FlaskForm):
    spo2_emergency_below = IntegerField(LABELS["spo2_emergency_below"], validators=[InputRequired()])
    fever_f = DecimalField(LABELS["fever_f"], places=1, validators=[InputRequired()])
    claim_timeout_minutes = IntegerField(LABELS["claim_timeout_minutes"], validators=[InputRequired()])
    retry_interval_minutes = IntegerField(LABELS["retry_interval_minutes"], validators=[InputRequired()])
    max_attempts_per_day = IntegerField(LABELS["max_attempts_per_day"], validators=[InputRequired()])
    emergency_ack_minutes = IntegerField(LABELS["emergency_ack_minutes"], validators=[InputRequired()])
    high_risk_age = IntegerField(LABELS["high_risk_age"], validators=[InputRequired()])
    submit = SubmitField(_l("Save settings"))

    def values(self):
        return {key: (float(f.data) if key == "fever_f" else f.data)
                for key, f in self._fields.items() if key in LABELS}


class UserForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=60)])
    full_name = StringField(_l("Full name"), validators=[Length(max=120)])
    role = SelectField(_l("Role"), choices=labels.choices(labels.ROLES))
    district = SelectField(_l("District"), validators=[Optional()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    submit = SubmitField(_l("Create user"))


class EditUserForm(FlaskForm):
    full_name = StringField(_l("Full name"), validators=[Length(max=120)])
    role = SelectField(_l("Role"), choices=labels.choices(labels.ROLES))
    district = SelectField(_l("District"), validators=[Optional()])
    phone = StringField(_l("Mobile number"), validators=[Length(max=20)],
                        description=_l("For alerts sent to this person (optional)."))
    active = BooleanField(_l("Active (may sign in)"))
    submit = SubmitField(_l("Save"))


class PasswordResetForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired()])
    reset = SubmitField(_l("Set new password"))
