"""Form helpers shared by the blueprints."""
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import DecimalField, IntegerField, SelectMultipleField, widgets
from wtforms.validators import ValidationError

from . import labels
from .rules.digits import ascii_digits


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes (needs, symptoms, comorbidities)."""
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def _too_long():
    """The message for a text over its limit, with %(n)s and %(limit)s still in it (page-actions.js fills them
    in as the user types; MaxLength when the form comes back)."""
    return _l("Too long: %(n)s characters, %(limit)s at most. Nothing was cut: shorten it here (for example, "
              "initials for middle names).")


class MaxLength:
    """Length(max=…) without the input's maxlength attribute. Given maxlength, a browser cuts a longer name
    (typed or pasted) at the limit, mid-word and without a word; this lets it through to a message that
    says how long it is and that nothing was cut."""

    def __init__(self, limit):
        self.limit = limit

    def __call__(self, form, field):
        length = len(field.data or "")
        if length > self.limit:
            raise ValidationError(str(_too_long()) % {"n": length, "limit": self.limit})


def max_chars(limit):
    """render_kw for a field checked by MaxLength(limit): the page says "too long" while the user types."""
    return {"data-max-chars": limit, "data-too-long": _too_long()}


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
