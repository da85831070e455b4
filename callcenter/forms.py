"""Form helpers shared by the blueprints."""
from wtforms import SelectMultipleField, widgets


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
