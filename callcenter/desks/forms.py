from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

ACTIONS = ("acknowledge", "start", "note", "resolve", "cancel")


class EscalationActionForm(FlaskForm):
    action = SelectField(choices=[SelectChoice(a) for a in ACTIONS], validators=[DataRequired()])
    version = IntegerField(validators=[Optional()])
    text = TextAreaField(_l("Note"), validators=[Length(max=2000)])
    desk = HiddenField()


class ReviewDecisionForm(FlaskForm):
    decision = SelectField(choices=[SelectChoice("discharge"), SelectChoice("continue")],
                           validators=[DataRequired()])
    note = TextAreaField(_l("Note"), validators=[Length(max=2000)])
