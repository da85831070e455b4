from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import DataRequired


class RunJobForm(FlaskForm):
    job = HiddenField(validators=[DataRequired()])
