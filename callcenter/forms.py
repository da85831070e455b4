"""Form helpers shared by the blueprints."""
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import SelectMultipleField, widgets
from wtforms.validators import ValidationError

from . import labels


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
