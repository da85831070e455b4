"""The CSV formula guard (OWASP's CSV-injection rule), one test per character that starts a formula."""
import csv
import io
from decimal import Decimal

import pytest

from callcenter.rules import spreadsheet

PAYLOADS = {
    "=": "=HYPERLINK(\"http://x\",\"open\")",
    "+": "+2+3+cmd|' /C calc'!A0",
    "-": "-2+3+cmd|' /C calc'!A0",
    "@": "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t": "\t=1+1",
    "\r": "\r=1+1",
}


@pytest.mark.parametrize("char", list(PAYLOADS), ids=["equals", "plus", "minus", "at", "tab", "cr"])
def test_a_cell_starting_with_a_formula_character_is_quoted(char):
    payload = PAYLOADS[char]
    assert spreadsheet.guard(payload) == "'" + payload
    out = io.StringIO()
    spreadsheet.writer(out).writerow(["name", payload])
    assert next(csv.reader(io.StringIO(out.getvalue()))) == ["name", "'" + payload]
    assert spreadsheet.unguard(spreadsheet.guard(payload)) == payload


def test_text_that_looks_like_a_number_is_quoted_too():
    # OWASP's rule, kept whole: "-5" is harmless, but "-2+3+cmd…" also starts with a minus and a digit.
    assert spreadsheet.guard("-5") == "'-5"
    assert spreadsheet.guard("+91 98260 12345") == "'+91 98260 12345"


def test_numbers_kept_as_numbers_are_written_as_they_are():
    out = io.StringIO()
    spreadsheet.writer(out).writerow([-5, -0.5, Decimal("-1.5"), 0, None, True])
    assert out.getvalue() == "-5,-0.5,-1.5,0,,True\r\n"


def test_plain_text_is_left_alone():
    for value in ("Ramesh Kumar", "रमेश", "", "a=b", "9826012345", " =not first", "'quoted"):
        assert spreadsheet.guard(value) == value
        assert spreadsheet.unguard(value) == value
