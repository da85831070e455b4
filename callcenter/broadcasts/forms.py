"""The broadcast form: types only; the rules are in services/broadcasts."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateTimeLocalField, HiddenField, RadioField, SelectField, StringField
from wtforms.validators import AnyOf, DataRequired, Optional

from .. import labels
from ..forms import MaxLength, WholeNumberField, max_chars
from ..services.checkins.sms_templates import BROADCAST_TEMPLATES, MAX_VARIABLE_LENGTH, TEMPLATES

LOCAL_MINUTE = "%Y-%m-%dT%H:%M"
WHO = {"patients": _l("Active patients"), "recovered": _l("Patients who recovered lately"),
       "contacts": _l("Village contacts (sarpanch, ward member, health worker)")}
TEMPLATE_NAMES = {"broadcast_camp": _l("Camp (vaccination, testing …)"),
                  "broadcast_helpline": _l("A new helpline"),
                  "broadcast_report_fever": _l("Report fever cases (to village contacts)")}
# Every blank any broadcast template has; the page shows those of the chosen template.
BLANKS = {"district": _l("District's name"), "what": _l("For what"), "place": _l("Place"), "day": _l("Day"),
          "time": _l("From (time)"), "number": _l("Phone number"), "hours": _l("Open (hours)")}


def _optional_int(value):
    return int(value) if value not in (None, "", "None") else None


class BroadcastForm(FlaskForm):
    title = StringField(_l("Title (for your team; not sent)"),
                        validators=[DataRequired(_l("Give the broadcast a title.")), MaxLength(120)],
                        render_kw=max_chars(120))
    template = RadioField(_l("Message"), validators=[DataRequired(_l("Choose a message."))],
                          choices=labels.choices((n, TEMPLATE_NAMES.get(n, n)) for n in BROADCAST_TEMPLATES))
    who = RadioField(_l("Send to"), choices=labels.choices(WHO), default="patients", validators=[AnyOf(list(WHO))])
    district_id = SelectField(_l("District"), coerce=_optional_int, validate_choice=False)
    setting = SelectField(_l("Setting"), validate_choice=False)
    block_id = SelectField(_l("Block"), coerce=_optional_int, validate_choice=False)
    village_id = SelectField(_l("Village / ward"), coerce=_optional_int, validate_choice=False)
    facility_id = SelectField(_l("Hospital / care centre"), coerce=_optional_int, validate_choice=False)
    language = SelectField(_l("Language"),
                           choices=labels.choices([("", _l("Any")), ("hi", "हिन्दी"), ("en", "English")]))
    high_risk = BooleanField(_l("High-risk patients only"))
    recovered_days = WholeNumberField(_l("Recovered in the last (days)"), default=14, validators=[Optional()])
    send_at = DateTimeLocalField(_l("Send from"), format=LOCAL_MINUTE, validators=[Optional()])
    action = HiddenField(default="preview")


for _name, _label in BLANKS.items():
    setattr(BroadcastForm, f"v_{_name}", StringField(_label, validators=[MaxLength(MAX_VARIABLE_LENGTH)],
                                                     render_kw=max_chars(MAX_VARIABLE_LENGTH)))


def blanks_of(template):
    return TEMPLATES[template].variables if template in TEMPLATES else ()


class DecisionForm(FlaskForm):
    """Approve or cancel: the button is the decision."""
