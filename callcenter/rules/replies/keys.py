"""IVR key presses: each question's answer, or InvalidKeys (ask again). Pure."""
from .. import vitals
from .lexicon import MENU


class InvalidKeys(ValueError):
    """The keys pressed are not an answer to this question (ask again)."""


def ivr_feeling(digits):
    """1 fine → True, 2 not well → False."""
    answers = {"1": True, "2": False}
    if digits not in answers:
        raise InvalidKeys(digits)
    return answers[digits]


def ivr_spo2(digits):
    """Two digits, e.g. 96; 0 or 00 = no oximeter (None)."""
    if digits in ("0", "00"):
        return None
    if not (digits.isdigit() and len(digits) == 2 and vitals.SPO2_MIN <= int(digits) <= vitals.SPO2_MAX):
        raise InvalidKeys(digits)
    return int(digits)


def ivr_temperature(digits):
    """°F keyed then #: 1012 = 101.2, 986 = 98.6, 101 = 101.0; * may stand for the point; 0 = no thermometer."""
    digits = (digits or "").rstrip("#")
    if digits == "0":
        return None
    if digits.count("*") == 1 and digits.replace("*", "").isdigit():
        candidates = [float(digits.replace("*", "."))]
    elif digits.isdigit() and len(digits) <= 4:
        candidates = [float(digits), int(digits) / 10]  # whole degrees first, then tenths
    else:
        raise InvalidKeys(digits)
    for value in candidates:
        if vitals.TEMPERATURE_F_MIN <= value <= vitals.TEMPERATURE_F_MAX:
            return round(value, 1)
    raise InvalidKeys(digits)


def ivr_need(digits):
    """0 (or 1, "fine") = nothing; 2–5 the menu's needs."""
    if digits in ("0", "1"):
        return None
    if digits.isdigit() and int(digits) in MENU and MENU[int(digits)] is not None:
        return str(MENU[int(digits)])
    raise InvalidKeys(digits)
