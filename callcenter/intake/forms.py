"""Patient registration and line-list import forms: types only; the rules (phone, ABHA, duplicates,
facility) are in services/records/patients.py and services/intake/checking.py so the API and the shell
apply the same ones."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from .. import labels
from ..forms import MaxLength, MultiCheckboxField, WholeNumberField, max_chars
from ..rules.linelist.headers import FIELDS, IGNORE


def _int_or_none(value):
    return int(value) if value not in (None, "", "None") else None


class PatientForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter the patient's name.")), MaxLength(120)],
                       render_kw=max_chars(120))
    age = WholeNumberField(_l("Age"), validators=[InputRequired(_l("Enter the age in years."))])
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


class ImportForm(FlaskForm):
    """Upload a line list. The file's rules (type, size, columns, rows) are in services/intake/ (storage, reading)."""
    file = FileField(_l("Line list (CSV or Excel .xlsx)"), validators=[FileRequired(_l("Choose a file."))])
    district_id = SelectField(_l("District"), coerce=_int_or_none, validators=[Optional()])
    dry_run = BooleanField(_l("Only check the file: save nothing yet"), default=True)
    submit = SubmitField(_l("Upload"))


def mapping_form(headers, fields):
    """One choice per column of the file ('col_0', 'col_1' …), preset to what the column seems to hold."""
    choices = [("", _l("— choose —"))] + [(f, labels.IMPORT_FIELDS[f]) for f in (*FIELDS, IGNORE)]

    class MappingForm(FlaskForm):
        submit = SubmitField(_l("Use these columns"))

    for index, header in enumerate(headers):
        setattr(MappingForm, f"col_{index}", SelectField(
            header, choices=labels.choices(choices), default=fields[index] or "",
            validators=[DataRequired(_l("Choose what this column holds."))]))
    form = MappingForm()
    form.columns = [form[f"col_{i}"] for i in range(len(headers))]
    return form
