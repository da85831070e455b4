"""Form helpers shared by the blueprints."""
from flask_babel import gettext as _
from wtforms import SelectMultipleField, widgets

from . import labels


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes (needs, symptoms, comorbidities)."""
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


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
