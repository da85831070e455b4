"""What every schema shares: the base schema, the field checks, times in UTC, the error body."""
import re
from datetime import timezone

import marshmallow as ma
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import fields
from marshmallow.validate import OneOf, Range, Regexp

from ....clock import local_to_utc
from ....services.records.patients import IDENTITY_MESSAGES

# marshmallow's own messages, in the reader's language.

FIELD_MESSAGES = {"required": _l("This field is required."), "null": _l("This field cannot be empty.")}
INVALID = {
    fields.Integer: _l("Enter a whole number."),
    fields.Float: _l("Enter a number."),
    fields.String: _l("Enter text."),
    fields.Date: _l("Enter a date as YYYY-MM-DD."),
    fields.DateTime: _l("Enter a date and time in ISO 8601 (YYYY-MM-DDTHH:MM, India time unless an offset is given)."),
    fields.List: _l("Send a list."),
}


DB_INT_MAX = 2**31 - 1  # PostgreSQL's integer, the type of the id columns: a larger id is no record's
# C0 controls but tab, CR and LF (notes have lines), and DEL: PostgreSQL refuses NUL in text. Lone UTF-16
# surrogates (JSON can escape one, "\ud800") cannot be encoded for any database.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
# A mobile as people write it (98260 12345, 098260-12345, +91 (98260) 12345); the service checks the number.
PHONE_SPELLING = r"^\+?[0-9 ().-]{10,30}$"
OPTIONAL_PHONE_SPELLING = r"^(\+?[0-9 ().-]{10,30})?$"
E164_INDIA = r"^\+91[0-9]{10}$"  # how every phone number is stored and sent back
MASKED_INDIA = r"^\+91 [0-9]{2}••• ••[0-9]{3}$"  # rules.identity.mask_phone


def values(enum):
    return [str(v) for v in enum]


def no_control_characters(value):
    if CONTROL_CHARACTERS.search(value):
        raise ma.ValidationError(_("Remove the control characters (such as NUL) from this text."))


class Schema(ma.Schema):
    error_messages = {"unknown": _l("Unknown field."), "type": _l("Send a JSON object.")}

    def on_bind_field(self, field_name, field_obj):
        messages = dict(FIELD_MESSAGES)
        invalid = next((INVALID[c] for c in type(field_obj).__mro__ if c in INVALID), None)
        if invalid is not None:
            messages["invalid"] = invalid
        field_obj.error_messages = {**field_obj.error_messages, **messages}
        if isinstance(field_obj, fields.String) and no_control_characters not in field_obj.validators:
            field_obj.validators.append(no_control_characters)


def in_range(low, high):
    return Range(min=low, max=high, error=_l("Must be between {min} and {max}."))


def record_id(**kw):
    """An id sent by the client: a whole number the id columns can hold (a larger one is refused, not looked up)."""
    return fields.Integer(strict=True, validate=in_range(0, DB_INT_MAX), **kw)


def mobile(pattern=PHONE_SPELLING, **kw):
    """A mobile number sent by the client: its spelling is checked here, the number by the service."""
    return fields.String(validate=Regexp(pattern, error=IDENTITY_MESSAGES["phone_invalid"]), **kw)


def stored_phone(**kw):
    return fields.String(metadata={"pattern": E164_INDIA, "description": "E.164, e.g. +919826012345"}, **kw)


class UtcDateTime(fields.DateTime):
    """The database keeps naive UTC; the wire carries an offset. An input without one is India time."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return super()._serialize(value, attr, obj, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        dt = super()._deserialize(value, attr, data, **kwargs)
        try:
            if dt.tzinfo is None:
                return local_to_utc(dt)
            return dt.astimezone(timezone.utc).replace(tzinfo=None)
        except OverflowError:  # the year 1 or 9999 moved past the calendar's end by the offset
            raise self.make_error("invalid") from None


def one_of(choices):
    return OneOf(choices, error=_l("Must be one of: {choices}."))


def documented(enum, **kw):
    """A string whose allowed values are documented; the service checks them and says what is wrong."""
    return fields.String(metadata={"enum": values(enum)}, **kw)


class ErrorSchema(Schema):
    code = fields.Integer(metadata={"description": "HTTP status code"})
    message = fields.String(metadata={"description": "What went wrong, in the user's language"})
    errors = fields.Dict(keys=fields.String(), values=fields.String(),
                         metadata={"description": "Field name → message"})
