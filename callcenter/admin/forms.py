from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from .. import labels
from ..forms import DecimalNumberField, MaxLength, WholeNumberField, max_chars
from ..services.core.settings import ON_PAGE


class SettingsForm(FlaskForm):
    """One field per setting on the page, built from their declarations (services/core/settings.ON_PAGE)."""
    submit = SubmitField(_l("Save settings"))

    def values(self):
        return {setting.key: _stored(setting, self[setting.key].data) for setting in ON_PAGE}


# The settings page's sections: (anchor, heading, the keys it shows, or a key prefix ending in ".").
SECTIONS = (
    ("warning-signs", _l("Warning signs"), ("spo2_emergency_below", "fever_f", "high_risk_age")),
    ("calls", _l("Calls and the queue"), ("claim_timeout_minutes", "retry_interval_minutes", "max_attempts_per_day",
                                          "checkin_ok_deprioritises")),
    ("discharge", _l("Discharge review"), ("release_min_days", "release_fever_free_days")),
    ("records", _l("Records and retention"), ("retention_days", "audit_retention_days")),
    ("deadlines", _l("Response deadlines"), ("emergency_ack_minutes", "realert_minutes", "deadline_minutes.")),
)


def sections(form):
    """[(anchor, heading, [fields])] in SECTIONS' order; a setting no section names goes under "Other"
    (a new setting is never left off the page)."""
    fields = [form[s.key] for s in ON_PAGE]
    out, placed = [], set()
    for anchor, heading, keys in SECTIONS:
        mine = [f for key in keys for f in fields
                if (f.name.startswith(key) if key.endswith(".") else f.name == key) and f.name not in placed]
        placed.update(f.name for f in mine)
        out.append((anchor, heading, mine))
    rest = [f for f in fields if f.name not in placed]
    if rest:
        out.append(("other", _l("Other"), rest))
    return out


def _stored(setting, data):
    if setting.kind is bool:
        return int(bool(data))  # kept as a number: 1 = yes, 0 = no
    return setting.kind(data) if data is not None else None


def _field(setting):
    if setting.kind is bool:
        return BooleanField(setting.label, description=setting.help)
    if setting.kind is float:
        return DecimalNumberField(setting.label, places=1, description=setting.help, validators=[InputRequired()])
    return WholeNumberField(setting.label, description=setting.help, validators=[InputRequired()])


for _setting in ON_PAGE:  # (fields named by their setting key, e.g. "deadline_minutes.ambulance")
    setattr(SettingsForm, _setting.key, _field(_setting))


class UserForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=60)])
    full_name = StringField(_l("Full name"), validators=[MaxLength(120)], render_kw=max_chars(120))
    role = SelectField(_l("Role"), choices=labels.choices(labels.ROLES))
    # A required choice: "State level" is one of the options (value "*"), never the result of leaving it out.
    district = SelectField(_l("District"), validators=[DataRequired(_l("Choose a district."))])
    password = PasswordField(_l("Password"), validators=[DataRequired()],
                             description=_l("At least 8 characters, 12 for administrators, nodal officers and the "
                                            "control room; not a common password and not the username. A few "
                                            "unrelated words make a good one."))
    submit = SubmitField(_l("Create user"))


class EditUserForm(FlaskForm):
    full_name = StringField(_l("Full name"), validators=[MaxLength(120)], render_kw=max_chars(120))
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
