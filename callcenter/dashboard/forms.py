from datetime import timedelta

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from .. import labels

MAX_RANGE_DAYS = 92


def _int_or_none(value):
    if value in (None, "", "None"):
        return None
    return int(value)


class RunJobForm(FlaskForm):
    job = HiddenField(validators=[DataRequired()])


class FilterForm(FlaskForm):
    """The dashboard's filters, read from the query string (a shared link reproduces the view)."""
    class Meta:
        csrf = False  # GET filters change nothing

    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])
    district = SelectField(_l("District"), choices=[], coerce=_int_or_none, validators=[Optional()])
    block = SelectField(_l("Block"), choices=[], coerce=_int_or_none, validators=[Optional()])
    setting = SelectField(_l("Setting"), choices=[], validators=[Optional()])
    facility = SelectField(_l("Facility"), choices=[], coerce=_int_or_none, validators=[Optional()])

    def set_choices(self, districts, blocks, facilities, state_level):
        everything = [("", _l("All"))]
        own = [(d.id, d.name) for d in districts]
        self.district.choices = labels.choices(everything + own if state_level else own)
        self.block.choices = labels.choices(everything + [(b[0], f"{b[1]} ({b[2]})" if state_level else b[1])
                                                          for b in blocks])
        self.setting.choices = labels.choices(everything + list(labels.SETTINGS.items()))
        self.facility.choices = labels.choices(everything + [(x[0], f"{x[1]} ({x[2]})" if state_level else x[1])
                                                             for x in facilities])

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        start, end = self.date_from.data, self.date_to.data
        if start and end:
            if start > end:
                self.date_to.errors.append(_l("The end date is before the start date."))
                ok = False
            elif end - start > timedelta(days=MAX_RANGE_DAYS):
                self.date_to.errors.append(_l("Choose at most %(n)s days.", n=MAX_RANGE_DAYS))
                ok = False
        return ok


class ReassignForm(FlaskForm):
    from_user = HiddenField(validators=[DataRequired()])
    to_user = SelectField(_l("Hand to"), choices=[], coerce=_int_or_none, validators=[Optional()])


class PauseForm(FlaskForm):
    setting = SelectField(_l("Queue"), choices=labels.choices(labels.SETTINGS), validators=[DataRequired()])
    district = SelectField(_l("District"), choices=[], coerce=_int_or_none, validators=[Optional()])
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=200)])


class ResumeForm(FlaskForm):
    pause_id = HiddenField(validators=[DataRequired()])
