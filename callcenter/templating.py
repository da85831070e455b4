"""Filters and globals every template can use."""
from flask_babel import format_date, format_datetime, get_locale

from . import labels
from .clock import to_local
from .rules.identity import format_phone, mask_phone


def local_datetime(dt, fmt="d MMM, HH:mm"):
    return format_datetime(to_local(dt), fmt) if dt else ""


def register(app):
    app.add_template_filter(local_datetime, "local")
    app.add_template_filter(format_phone, "phone")
    app.add_template_filter(mask_phone, "masked_phone")
    app.add_template_filter(lambda d: format_date(d, "d MMM yyyy") if d else "", "day")
    app.add_template_global(labels, "labels")
    app.add_template_global(get_locale, "get_locale")
