"""Digits as people type them: a Hindi keyboard writes ०-९, which int() and float() do not read."""

DEVANAGARI_DIGITS = str.maketrans("०१२३४५६७८९", "0123456789")


def ascii_digits(text):
    """'९२' → '92', '९८.६' → '98.6'; anything else unchanged."""
    return text.translate(DEVANAGARI_DIGITS) if isinstance(text, str) else text
