"""One cell of a line list: its text, blank or not, and the parsers of phones, IDs, ages, sex, settings,
comorbidities and languages. A cell that cannot be read raises CellError with a code (see __init__.py)."""
import functools
import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal, InvalidOperation


class CellError(ValueError):
    """A cell that cannot be read; `code` names why, `params` fill the message."""

    def __init__(self, code, **params):
        super().__init__(code)
        self.code, self.params = code, params


class Uncalculated(str):
    """A formula cell saved without its value (its text, "=A1+1"): the program that wrote the workbook never
    calculated it. Read as blank, it would hide what the formula stands for: rows.py says so instead."""


@functools.lru_cache(maxsize=16384)  # cells repeat (sexes, settings, villages): fold each once
def fold(text):
    """Case, punctuation and spacing folded away: 'Mobile No.' → 'mobile no', 'मरीज़ का नाम' stays Hindi."""
    text = unicodedata.normalize("NFC", str(text)).casefold()
    text = "".join(" " if unicodedata.category(ch)[0] in "PSZ" else ch for ch in text)
    return " ".join(text.split())


def folded(*aliases):
    """A set of names as fold() writes them, for looking a folded cell up."""
    return {fold(a) for a in aliases}


BLANKS = folded("", "-", "--", "na", "n/a", "nil", "null", "none", "not available", "उपलब्ध नहीं")


def cell_text(value):
    """A cell as the text a person sees (for the error report and the raw record of a row)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y") if value.time() == datetime.min.time() else value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


_LONGEST_BLANK = max(len(b) for b in BLANKS) + 4


def is_blank(value):
    # ('????' is not blank: it is what Excel leaves of Hindi letters, and the name rule says so.)
    if value is None:
        return True
    if not isinstance(value, str):
        return False
    text = value.strip()
    return not text or (len(text) <= _LONGEST_BLANK and fold(text) in BLANKS and "?" not in text)


_SCIENTIFIC = re.compile(r"^\d(?:\.(\d+))?[eE]\+?(\d+)$")
_WHOLE_FLOAT = re.compile(r"\d+\.0+")


def _whole_number_text(value, shortened_code):
    """Digits from a number cell or from Excel's '9.82601E+09' in a CSV (refused if digits were lost)."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    text = str(value).strip()
    match = _SCIENTIFIC.match(text)
    if match:
        decimals, exponent = len(match.group(1) or ""), int(match.group(2))
        if decimals < exponent:  # Excel dropped digits: they cannot be recovered
            raise CellError(shortened_code)
        try:
            return str(int(Decimal(text)))
        except (InvalidOperation, ValueError):
            raise CellError(shortened_code) from None
    if _WHOLE_FLOAT.fullmatch(text):  # '9826012345.0' from a number column
        return text.split(".")[0]
    return text


_PHONE_SPLIT = re.compile(r"\s*(?:[/,;|&]|\bor\b|\bया\b)\s*")


def parse_phones(value):
    """One or more phone numbers in a cell ('98260 12345 / 98261 23456') as texts; normalised later."""
    text = _whole_number_text(value, "phone_excel_shortened")
    return [p for p in _PHONE_SPLIT.split(text) if p.strip()]


def parse_id(value):
    """A lab/sample ID: digits kept whole (Excel numbers, scientific notation refused), spaces removed."""
    return "".join(_whole_number_text(value, "lab_id_excel_shortened").split())


_AGE_YEARS = re.compile(r"^(\d{1,3})(?!\d)\s*(?:y|yr|yrs|year|years|वर्ष|साल)?"
                        r"(?:\s*\d{1,2}\s*(?:m|mo|mon|month|months|माह|महीने|महीना))?$")
_AGE_MONTHS = re.compile(r"^(\d{1,2})\s*(?:m|mo|mon|month|months|माह|महीने|महीना)$")
_AGE_DAYS = re.compile(r"^\d{1,2}\s*(?:d|day|days|दिन)$")


def parse_age(value):
    """Age in whole years: 45, '45', '45.5', '45 yrs', '45 वर्ष', '45Y 3M'; '6 months' and '10 days' are 0."""
    if isinstance(value, bool):
        raise CellError("age_unreadable")
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip()
    try:
        return int(float(text))
    except (ValueError, OverflowError):
        pass
    text = fold(text)
    months = _AGE_MONTHS.match(text)
    if (months and int(months.group(1)) < 12) or _AGE_DAYS.match(text):
        return 0
    match = _AGE_YEARS.match(text)  # ('45 M' is refused: 45 months, or 45 and male?)
    if not match:
        raise CellError("age_unreadable")
    return int(match.group(1))


SEX_WORDS = {
    "male": folded("M", "Male", "Man", "Boy", "पुरुष", "पु", "पु.", "नर", "लड़का"),
    "female": folded("F", "Female", "Woman", "Girl", "महिला", "म", "स्त्री", "औरत", "लड़की"),
    "other": folded("O", "Other", "Others", "T", "TG", "Transgender", "Third Gender", "अन्य", "ट्रांसजेंडर",
                    "किन्नर", "तृतीय लिंग"),
}
_SEX = {key: code for code, keys in SEX_WORDS.items() for key in keys}


def parse_sex(value):
    code = _SEX.get(fold(value))
    if code is None:
        raise CellError("sex_unknown")
    return code


SETTING_WORDS = {
    "hospital": folded("Hospital", "Hosp", "COVID Hospital", "DCH", "DCHC", "Dedicated COVID Hospital",
                       "Admitted", "Hospitalised", "Hospitalized", "Hospital Admitted", "IPD", "ICU", "अस्पताल",
                       "हॉस्पिटल", "हास्पिटल", "चिकित्सालय", "भर्ती", "अस्पताल में भर्ती"),
    "ccc": folded("CCC", "COVID Care Centre", "COVID Care Center", "Care Centre", "Care Center", "DCCC",
                  "COVID Centre", "COVID Center", "Isolation Centre", "Isolation Center", "कोविड केयर सेंटर",
                  "केयर सेंटर", "सीसीसी", "आइसोलेशन सेंटर", "कोविड सेंटर"),
    "home": folded("Home", "Home Isolation", "Home Isolated", "HI", "H.I.", "Home Iso", "Home Quarantine",
                   "घर", "होम आइसोलेशन", "होम आईसोलेशन", "गृह एकांतवास", "गृह पृथक्करण", "घर पर"),
}
_SETTING = {key: code for code, keys in SETTING_WORDS.items() for key in keys}
YES = folded("Yes", "Y", "True", "1", "हाँ", "हां", "हा", "Haan")
NO = folded("No", "N", "False", "0", "नहीं", "नही", "ना")
NOT_HOME = "not_home"


def parse_setting(value):
    code = _SETTING.get(fold(value))
    if code is None:
        raise CellError("setting_unknown")
    return code


def parse_home_isolation(value):
    """A 'Home isolation' column: yes → 'home'; no → NOT_HOME (the facility says where); or a setting word."""
    key = fold(value)
    if key in YES:
        return "home"
    if key in NO:
        return NOT_HOME
    return parse_setting(value)


COMORBIDITY_WORDS = {
    "hypertension": folded("Hypertension", "HTN", "BP", "High BP", "Blood Pressure", "Hypertensive",
                           "उच्च रक्तचाप", "रक्तचाप", "बीपी", "ब्लड प्रेशर"),
    "diabetes": folded("Diabetes", "Diabetic", "DM", "T2DM", "Sugar", "Diabetes Mellitus", "मधुमेह", "शुगर",
                       "डायबिटीज", "डायबिटीज़"),
    "heart": folded("Heart", "Heart Disease", "Cardiac", "CAD", "IHD", "हृदय", "हृदय रोग", "दिल", "दिल की बीमारी"),
    "lung": folded("Lung", "Lung Disease", "COPD", "Asthma", "Chronic Lung Disease", "फेफड़े", "फेफड़ों की बीमारी",
                   "अस्थमा", "दमा"),
    "liver": folded("Liver", "Liver Disease", "CLD", "लिवर", "यकृत", "लीवर"),
    "kidney": folded("Kidney", "Kidney Disease", "CKD", "Renal", "गुर्दा", "गुर्दे", "किडनी"),
    "cerebrovascular": folded("Cerebrovascular", "Cerebro-vascular", "Stroke", "CVA", "Paralysis", "लकवा",
                              "पक्षाघात"),
}
_COMORBIDITY = {key: code for code, keys in COMORBIDITY_WORDS.items() for key in keys}
NO_COMORBIDITY = folded("No", "None", "Nil", "NA", "No Comorbidity", "Nothing", "नहीं", "कोई नहीं", "निल")
_LIST_SPLIT = re.compile(r"\s*(?:[,;/+&|]|\band\b|\bतथा\b|\bऔर\b)\s*")


def parse_comorbidities(value):
    """'DM, HTN' → ['diabetes', 'hypertension']; 'None' → []."""
    found = []
    for part in _LIST_SPLIT.split(str(value)):
        key = fold(part)
        if not key or key in NO_COMORBIDITY:
            continue
        code = _COMORBIDITY.get(key)
        if code is None:
            raise CellError("comorbidity_unknown", word=part.strip())
        if code not in found:
            found.append(code)
    return found


LANGUAGE_WORDS = {"hi": folded("hi", "Hindi", "हिंदी", "हिन्दी"),
                  "en": folded("en", "English", "अंग्रेजी", "अंग्रेज़ी", "इंग्लिश")}
_LANGUAGE = {key: code for code, keys in LANGUAGE_WORDS.items() for key in keys}


def parse_language(value):
    code = _LANGUAGE.get(fold(value))
    if code is None:
        raise CellError("language_unknown")
    return code
