"""Dates as Indian line lists write them, day first, or as Excel stores them."""
import re
from datetime import date, datetime, timedelta

from .cells import CellError, fold

EARLIEST_DATE = date(2020, 1, 1)  # a COVID line list: anything earlier is a typo
EXCEL_EPOCH = date(1899, 12, 30)  # Excel's day 0 (its 1900 date system)

MONTHS = {}
for _number, _names in enumerate([
        ("jan", "january", "जनवरी"), ("feb", "february", "फरवरी", "फ़रवरी"), ("mar", "march", "मार्च"),
        ("apr", "april", "अप्रैल", "अप्रेल"), ("may", "मई"), ("jun", "june", "जून"), ("jul", "july", "जुलाई"),
        ("aug", "august", "अगस्त"), ("sep", "sept", "september", "सितंबर", "सितम्बर"),
        ("oct", "october", "अक्टूबर", "अक्तूबर"), ("nov", "november", "नवंबर", "नवम्बर"),
        ("dec", "december", "दिसंबर", "दिसम्बर")], start=1):
    MONTHS.update({fold(name): _number for name in _names})

_TIME_SUFFIX = re.compile(r"(?:[\sT]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:am|pm)?|\s+00:00)$", re.IGNORECASE)
_DAY_FIRST = re.compile(r"^(\d{1,2})\s*[./\-]\s*(\d{1,2})\s*[./\-]\s*(\d{4}|\d{2})$")
_YEAR_FIRST = re.compile(r"^(\d{4})[./\-](\d{1,2})[./\-](\d{1,2})$")
_DAY_MONTH_NAME = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?[\s./\-,]*([^\d\s./\-,]+)[\s./\-,]*(\d{4}|\d{2})$")
_MONTH_NAME_DAY = re.compile(r"^([^\d\s./\-,]+)[\s./\-]*(\d{1,2})(?:st|nd|rd|th)?[\s,./\-]+(\d{4}|\d{2})$")
_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")


def parse_date(value):
    """A date as Indian line lists write it, day first: 12/05/2021, 12-05-2021, 12.05.21, 2021-05-12,
    '12 May 2021', '12-May-21', 'May 12, 2021', '12 मई 2021', an Excel date cell or Excel day number."""
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        day = _excel_serial(value)
    else:
        day = _parse_date_text(str(value).strip())
    if day < EARLIEST_DATE:
        raise CellError("date_too_old", earliest=EARLIEST_DATE.strftime("%d/%m/%Y"))
    return day


def _excel_serial(number):
    if not 1 <= number < 2958466:
        raise CellError("date_unreadable")
    return EXCEL_EPOCH + timedelta(days=int(number))


def _parse_date_text(text):
    text = _TIME_SUFFIX.sub("", text).strip()
    if _SERIAL.match(text):
        return _excel_serial(float(text))
    year_first = _YEAR_FIRST.match(text)
    if year_first:
        y, m, d = (int(g) for g in year_first.groups())
    else:
        match = _DAY_FIRST.match(text)
        if match:
            d, m, y = (int(g) for g in match.groups())
        else:
            named = _DAY_MONTH_NAME.match(text)
            if named:
                d, month, y = named.groups()
            else:
                named = _MONTH_NAME_DAY.match(text)
                if not named:
                    raise CellError("date_unreadable")
                month, d, y = named.groups()
            m = MONTHS.get(fold(month))
            if m is None:
                raise CellError("date_unreadable")
            d, y = int(d), int(y)
    if y < 100:
        y += 2000
    try:
        return date(y, m, d)
    except ValueError:
        raise CellError("date_invalid") from None


def sample_age(sample_day, today, isolation_days, max_days):
    """What a row's date of sample says of a patient listed today: ("date_sample_too_old", params) when more
    than max_days before today (refused: a mistyped year, most likely: nobody tested then is followed up now),
    ("date_sample_past_isolation", params) when older than the isolation period (a warning: listed late, or a
    wrong date), else None."""
    days = (today - sample_day).days
    if days > max_days:
        return "date_sample_too_old", {"days": days, "limit": max_days}
    if days > isolation_days:
        return "date_sample_past_isolation", {"days": days, "limit": isolation_days}
    return None
