"""Forms of the patient record and the village pages: types only; the rules are in services/
(transfers.py, households.py, villages.py)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from .. import labels
from ..forms import MaxLength, WholeNumberField, max_chars
from ..services.records.transfers import END_STATUSES, MAX_REASON


def _int_or_none(value):
    return int(value) if value not in (None, "", "None") else None


class SearchForm(FlaskForm):
    """The patients' search: sent by POST, so the words (often a mobile number) are in no address and so in no
    access log, proxy log or browser history."""
    q = StringField(_l("Name, mobile number, lab ID or ABHA number"))


class TransferForm(FlaskForm):
    to_setting = RadioField(_l("Move to"), choices=labels.choices(labels.SETTINGS),
                            validators=[DataRequired(_l("Choose hospital, COVID care centre or home isolation."))])
    to_facility_id = SelectField(_l("Hospital / care centre"), coerce=_int_or_none, validators=[Optional()])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(_l("Say why the patient is moved.")),
                                                     Length(max=MAX_REASON)], render_kw={"rows": 2})


class EndForm(FlaskForm):
    status = RadioField(_l("Follow-up ends because the patient"),
                        choices=labels.choices([(str(s), labels.PATIENT_STATUSES[s]) for s in END_STATUSES]),
                        validators=[DataRequired(_l("Choose how the follow-up ends."))])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(_l("Say why the follow-up ends.")),
                                                     Length(max=MAX_REASON)], render_kw={"rows": 2})


class HouseholdForm(FlaskForm):
    other_id = WholeNumberField(_l("Record number of the family member"),
                                validators=[DataRequired(_l("Choose another patient to add to this household."))])
    confirm = HiddenField()  # "y": the officer saw the warning (different villages or phones) and adds anyway


class PlainForm(FlaskForm):
    """A button that only needs its CSRF token (take out of household, deactivate …)."""


class ContactForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter the contact's name.")), MaxLength(120)],
                       render_kw=max_chars(120))
    role = SelectField(_l("Role"), choices=labels.choices(labels.CONTACT_ROLES),
                       validators=[DataRequired(_l("Choose the contact's role."))])
    phone = StringField(_l("Mobile number"), validators=[DataRequired(_l("Enter a mobile number."))],
                        render_kw={"inputmode": "tel", "placeholder": "98xxxxxxxx"})

    def values(self):
        return {"name": self.name.data, "role": self.role.data, "phone": self.phone.data}
