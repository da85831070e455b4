"""Phone numbers, ABHA numbers and names, normalised the same way everywhere."""
import re

import phonenumbers
from phonenumbers import PhoneNumberType


class InvalidValue(ValueError):
    """A value that cannot be normalised; `code` says why."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


def normalize_indian_mobile(raw):
    """'98260 12345', '09826012345', '+91-98260-12345' → '+919826012345'.

    Raises InvalidValue('phone_invalid' | 'phone_not_mobile' | 'phone_not_indian').
    """
    text = (raw or "").strip()
    if not text:
        raise InvalidValue("phone_invalid")
    try:
        number = phonenumbers.parse(text, "IN")
    except phonenumbers.NumberParseException as exc:
        raise InvalidValue("phone_invalid") from exc
    if number.country_code != 91:
        raise InvalidValue("phone_not_indian")
    if not phonenumbers.is_valid_number(number):
        raise InvalidValue("phone_invalid")
    if phonenumbers.number_type(number) not in MOBILE_TYPES:
        raise InvalidValue("phone_not_mobile")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(e164):
    """'+919826012345' → '+91 98260 12345' for people to read."""
    if not e164:
        return ""
    try:
        return phonenumbers.format_number(phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return e164


ABHA_RE = re.compile(r"^\d{2}-?\d{4}-?\d{4}-?\d{4}$")


def normalize_abha(raw):
    """An ABHA number as its 14 digits ('91-1234-5678-9012' → '91123456789012'), or None if blank."""
    text = re.sub(r"\s+", "", raw or "")
    if not text:
        return None
    if not ABHA_RE.match(text):
        raise InvalidValue("abha_invalid")
    return text.replace("-", "")


def name_key(name):
    """The form of a name used to spot duplicates: case and spacing ignored."""
    return " ".join((name or "").split()).casefold()
