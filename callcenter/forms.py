"""Form helpers shared by the blueprints."""
from flask_babel import gettext as _
from wtforms import DecimalField, IntegerField, SelectMultipleField, widgets

from . import labels
from .rules.digits import ascii_digits


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes (needs, symptoms, comorbidities)."""
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class _TypedDigits:
    """A number box that reads Devanagari digits (a Hindi keyboard types ९२ for 92). Drawn as a text box with
    a numeric keypad: a browser's type="number" box empties itself of digits it does not know, silently."""
    widget = widgets.TextInput()
    inputmode = "numeric"

    def __init__(self, *args, render_kw=None, **kwargs):
        super().__init__(*args, render_kw={"inputmode": self.inputmode, **(render_kw or {})}, **kwargs)

    def process_formdata(self, valuelist):
        super().process_formdata([ascii_digits(v).strip() if isinstance(v, str) else v for v in valuelist])


class WholeNumberField(_TypedDigits, IntegerField):
    """IntegerField for people: ASCII or Devanagari digits."""


class DecimalNumberField(_TypedDigits, DecimalField):
    """DecimalField for people: ASCII or Devanagari digits."""
    inputmode = "decimal"


def apply_service_errors(form, exc):
    """Show a service's per-field messages on the form's fields; the rest as form errors."""
    unplaced = []
    for name, message in exc.errors.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors) + [str(message)]
        else:
            unplaced.append(str(message))
    form.form_errors = list(form.form_errors) + unplaced + ([] if exc.errors else [str(exc.message)])


def facility_choices(field, facilities):
    """A "move to" select: each facility with its kind and free beds (an officer moving a patient needs both)."""
    field.choices = labels.choices(
        [("", "—")] + [(f.id, _("%(name)s · %(kind)s · free: %(general)s general, %(oxygen)s oxygen, %(icu)s ICU",
                                name=f.name, kind=labels.FACILITY_KINDS[f.kind], general=f.free_general,
                                oxygen=f.free_oxygen, icu=f.free_icu)) for f in facilities])
