"""CSV cells a spreadsheet cannot run: OWASP's CSV-injection rule, used by every CSV the app writes.

A text cell that starts with =, +, -, @, a tab or a carriage return is read by Excel, LibreOffice or Google
Sheets as a formula (`-2+3+cmd|' /C calc'!A0`, `=HYPERLINK(…)`), so it is written with a single quote in
front. Every text cell follows the rule, text that looks like a number included ("-5", "+91 98260 12345"):
telling a harmless number from a payload is what let `-2+3+cmd…` through before. Numbers kept as numbers
(int, float, Decimal: a count, an SpO2, a temperature) cannot carry a formula and are written as they are,
so a numeric column stays numeric in the spreadsheet.
"""
import csv

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def guard(value):
    """The cell as a spreadsheet may show it: text starting with a trigger gets a leading single quote."""
    if isinstance(value, str) and value.startswith(TRIGGERS):
        return "'" + value
    return value


def unguard(value):
    """A cell read back from a CSV this app wrote (an error report corrected and imported again): the quote
    guard() put in front is taken off, so the value reads as it was."""
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(TRIGGERS):
        return value[1:]
    return value


class Writer:
    """csv.writer with every cell passed through guard(): the only way the app writes CSV."""

    def __init__(self, stream, **fmt):
        self._writer = csv.writer(stream, **fmt)

    def writerow(self, row):
        return self._writer.writerow([guard(v) for v in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


def writer(stream, **fmt):
    return Writer(stream, **fmt)
