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


# Numbers line lists put where the patient's is unknown: they would join unrelated people as one household.
PLACEHOLDER_RUNS = frozenset({"0123456789", "1234567890", "9876543210", "0987654321"})


def is_placeholder(national, extra=()):
    """A 10-digit national number that is nobody's phone: one digit repeated, a run of digits, or one of the
    deployment's own list (`extra`, e.g. a district office's number that its line lists used for everyone)."""
    return len(set(national)) == 1 or national in PLACEHOLDER_RUNS or national in extra


def normalize_indian_mobile(raw, placeholders=(), refuse_placeholders=True):
    """'98260 12345', '09826012345', '+91-98260-12345' → '+919826012345'.

    Raises InvalidValue('phone_invalid' | 'phone_placeholder' | 'phone_not_mobile' | 'phone_not_indian').
    `placeholders`: more 10-digit numbers to refuse as placeholders. A search or an SMS's sender is read as
    written (refuse_placeholders=False): records made before this rule may still carry such a number.
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
    if refuse_placeholders and is_placeholder(f"{number.national_number:010d}", placeholders):
        raise InvalidValue("phone_placeholder")
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


MASK = "\u2022"  # •


def mask_phone(e164):
    """'+919826012345' → '+91 98••• ••345': enough to tell numbers apart on a list, not to call (DPDP: least
    exposure). Any other spelling keeps only its last three digits."""
    if not e164:
        return ""
    digits = re.sub(r"\D", "", e164)
    if e164.startswith("+91") and len(digits) == 12:
        national = digits[2:]
        return f"+91 {national[:2]}{MASK * 3} {MASK * 2}{national[7:]}"
    return MASK * max(len(digits) - 3, 3) + digits[-3:]


PHONE_IN_TEXT = re.compile(r"\+?\d[\d ]{8,14}\d")  # a number written into free text: +91…, 98260 12345, 9826012345


def mask_phones_in(text):
    """Free text (an SMS body, an audit row's details) with each number of ten digits or more masked as
    mask_phone masks an Indian mobile: what reaches a log or an auditor's page keeps none in full."""
    def one(match):
        digits = re.sub(r"\D", "", match.group())
        return mask_phone("+91" + digits[-10:]) if len(digits) >= 10 else match.group()
    return PHONE_IN_TEXT.sub(one, text)


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
