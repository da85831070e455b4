"""Patient registration form: types only; the rules (phone, ABHA, duplicates, facility) are in
services/patients.py so the API applies exactly the same ones."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from .. import labels
from ..forms import MultiCheckboxField


def _int_or_none(value):
    return int(value) if value not in (None, "", "None") else None


class PatientForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter the patient's name.")), Length(max=120)])
    age = IntegerField(_l("Age"), validators=[InputRequired(_l("Enter the age in years."))])
    sex = RadioField(_l("Sex"), choices=labels.choices(labels.SEXES),
                     validators=[DataRequired(_l("Choose the patient's sex."))])
    phone = StringField(_l("Mobile number"), validators=[DataRequired(_l("Enter a mobile number."))],
                        render_kw={"inputmode": "tel", "placeholder": "98xxxxxxxx"})
    attendant_phone = StringField(_l("Attendant's mobile (optional)"), render_kw={"inputmode": "tel"})
    language = RadioField(_l("Language for calls and messages"), choices=labels.choices(labels.LANGUAGES),
                          default="hi")
    district_id = SelectField(_l("District"), coerce=_int_or_none, validators=[Optional()])
    village_id = SelectField(_l("Village / ward"), coerce=_int_or_none, validators=[Optional()])
    address = TextAreaField(_l("Address"), validators=[Length(max=500)], render_kw={"rows": 2})
    setting = RadioField(_l("Where is the patient?"), choices=labels.choices(labels.SETTINGS),
                         validators=[DataRequired(_l("Choose hospital, COVID care centre or home isolation."))])
    facility_id = SelectField(_l("Hospital / care centre"), coerce=_int_or_none, validators=[Optional()])
    positive_date = DateField(_l("Date of positive test"),
                              validators=[InputRequired(_l("Enter the date of the positive test."))])
    symptom_onset_date = DateField(_l("Symptoms started on (if any)"), validators=[Optional()])
    isolation_start_date = DateField(_l("Isolation started on"), validators=[Optional()])
    comorbidities = MultiCheckboxField(_l("Comorbidities"), choices=labels.choices(labels.COMORBIDITIES))
    abha_number = StringField(_l("ABHA number (optional)"), render_kw={"placeholder": "XX-XXXX-XXXX-XXXX"})
    lab_id = StringField(_l("Lab / sample ID (optional)"), validators=[Length(max=40)])
    submit = SubmitField(_l("Register patient"))

    FIELDS = ("name", "age", "sex", "phone", "attendant_phone", "language", "district_id", "village_id",
              "address", "setting", "facility_id", "positive_date", "symptom_onset_date", "isolation_start_date",
              "comorbidities", "abha_number", "lab_id")

    def values(self):
        return {name: getattr(self, name).data for name in self.FIELDS}
