"""Line lists as districts write them: headers, cells, place names and who is the same person.

Pure rules, no Flask and no database. Parsers take a cell as the spreadsheet gives it (text from a
CSV; text, a number or a datetime from Excel) and return a typed value or raise CellError with a
code (the message lives in services/intake/imports.py, in the reader's language). The registration rules
(phone, ABHA, age range, dates not in the future …) are applied afterwards by
services.patients.check_fields, the same function the registration form uses.
"""
import functools
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from rapidfuzz import fuzz, process

from .identity import name_key

IGNORE = "ignore"
FIELDS = ("name", "phone", "attendant_phone", "age", "sex", "lab_id", "positive_date", "symptom_onset_date",
          "setting", "home_isolation", "facility", "district", "block", "village", "address", "abha_number",
          "comorbidities", "language")
REQUIRED = ("name", "phone", "age", "sex", "positive_date")
EARLIEST_DATE = date(2020, 1, 1)  # a COVID line list: anything earlier is a typo
EXCEL_EPOCH = date(1899, 12, 30)  # Excel's day 0 (its 1900 date system)
ERRORS_COLUMN = "errors"          # the column the error report adds; ignored when it comes back


class CellError(ValueError):
    """A cell that cannot be read; `code` names why, `params` fill the message."""

    def __init__(self, code, **params):
        super().__init__(code)
        self.code, self.params = code, params


@functools.lru_cache(maxsize=16384)  # cells repeat (sexes, settings, villages): fold each once
def fold(text):
    """Case, punctuation and spacing folded away: 'Mobile No.' → 'mobile no', 'मरीज़ का नाम' stays Hindi."""
    text = unicodedata.normalize("NFC", str(text)).casefold()
    text = "".join(" " if unicodedata.category(ch)[0] in "PSZ" else ch for ch in text)
    return " ".join(text.split())


header_key = fold


def _keys(*aliases):
    return {fold(a) for a in aliases}


# Header names seen on district line lists (English and Hindi), by patient field.
HEADER_ALIASES = {
    "name": _keys("Name", "Patient Name", "Name of Patient", "Patient's Name", "Full Name", "Patient",
                  "Name of the Patient", "नाम", "मरीज का नाम", "मरीज़ का नाम", "रोगी का नाम", "मरीज नाम",
                  "पूरा नाम", "व्यक्ति का नाम"),
    "phone": _keys("Mobile", "Mobile No", "Mobile Number", "Mob No", "Mob", "Phone", "Phone No", "Phone Number",
                   "Contact", "Contact No", "Contact Number", "Patient Mobile", "Patient Mobile No",
                   "Patient Contact", "Patient Contact No", "Mobile No of Patient", "मोबाइल", "मोबाइल नंबर",
                   "मोबाइल नं", "मोबाइल न", "मोबाइल क्रमांक", "फोन", "फोन नंबर", "फ़ोन नंबर", "संपर्क",
                   "संपर्क नंबर", "संपर्क सूत्र"),
    "attendant_phone": _keys("Attendant Mobile", "Attendant Phone", "Attendant Contact", "Attendant Mobile No",
                             "Alternate Mobile", "Alternate Mobile No", "Alternate Number", "Alternate Phone",
                             "Alternative Mobile", "Relative Mobile", "Family Contact", "परिजन का मोबाइल",
                             "परिजन मोबाइल", "वैकल्पिक मोबाइल", "वैकल्पिक नंबर", "अटेंडेंट मोबाइल"),
    "age": _keys("Age", "Age (Years)", "Age in Years", "Age Yrs", "Age (Yrs)", "आयु", "उम्र", "आयु (वर्ष)",
                 "उम्र (वर्ष)", "आयु वर्ष"),
    "sex": _keys("Sex", "Gender", "Sex (M/F)", "Gender (M/F)", "लिंग", "लिंग (पु/म)"),
    "lab_id": _keys("SRF ID", "SRF", "SRF No", "SRF Number", "Sample ID", "Sample No", "Lab ID", "Lab No",
                    "ICMR ID", "ICMR No", "ICMR SRF ID", "Test ID", "Specimen ID", "Patient ID (ICMR)",
                    "एसआरएफ आईडी", "सैंपल आईडी", "नमूना आईडी", "लैब आईडी"),
    "positive_date": _keys("Date of Sample", "Sample Date", "Date of Sampling", "Sample Collection Date",
                           "Date of Sample Collection", "Result Date", "Date of Result", "Positive Date",
                           "Date of Positive", "Date Positive", "Positive On", "Test Date", "Date of Test",
                           "Testing Date", "Report Date", "Date of Report", "Reporting Date", "जांच की तारीख",
                           "जाँच की तारीख", "जांच तिथि", "जाँच तिथि", "सैंपल की तारीख", "सैंपल तिथि",
                           "पॉजिटिव तिथि", "पॉजिटिव की तारीख", "रिपोर्ट की तारीख", "रिपोर्ट तिथि"),
    "symptom_onset_date": _keys("Date of Onset", "Onset Date", "Symptom Onset", "Date of Symptom Onset",
                                "Symptom Onset Date", "Symptoms Since", "लक्षण शुरू होने की तारीख",
                                "लक्षण की तारीख", "लक्षण तिथि"),
    "setting": _keys("Setting", "Status", "Patient Status", "Isolation Status", "Isolation Type",
                     "Type of Isolation", "Place of Isolation", "Admission Status", "Admitted In", "स्थिति",
                     "मरीज की स्थिति", "आइसोलेशन का प्रकार", "कहां भर्ती", "भर्ती स्थिति"),
    "home_isolation": _keys("Home Isolation", "HI", "Home Isolated", "Home Isolation (Y/N)", "होम आइसोलेशन",
                            "गृह एकांतवास", "होम आइसोलेशन (हाँ/नहीं)"),
    "facility": _keys("Facility", "Facility Name", "Hospital", "Hospital Name", "Name of Hospital", "CCC",
                      "CCC Name", "Covid Care Centre", "Covid Care Center", "Admitted At", "Name of Facility",
                      "Health Facility", "Hospital/CCC", "अस्पताल", "अस्पताल का नाम", "चिकित्सालय",
                      "कोविड केयर सेंटर", "सीसीसी", "संस्था", "संस्था का नाम"),
    "district": _keys("District", "District Name", "जिला", "ज़िला", "जिले का नाम"),
    "block": _keys("Block", "Block Name", "Development Block", "विकासखंड", "विकासखण्ड", "विकास खंड", "ब्लॉक",
                   "ब्लाक"),
    "village": _keys("Village", "Village Name", "Ward", "Ward No", "Ward Name", "Village/Ward", "Gram",
                     "Village / Ward", "ग्राम", "गांव", "गाँव", "वार्ड", "ग्राम/वार्ड", "ग्राम का नाम",
                     "गांव का नाम"),
    "address": _keys("Address", "Full Address", "Patient Address", "Residential Address", "पता", "पूरा पता",
                     "निवास", "निवास का पता"),
    "abha_number": _keys("ABHA", "ABHA No", "ABHA Number", "ABHA ID", "Health ID", "आभा", "आभा नंबर"),
    "comorbidities": _keys("Comorbidity", "Comorbidities", "Co-morbidity", "Co-morbidities", "Comorbid",
                           "Comorbid Condition", "Other Disease", "Other Illness", "सह-रुग्णता", "सहरुग्णता",
                           "अन्य बीमारी", "अन्य रोग", "पुरानी बीमारी"),
    "language": _keys("Language", "Preferred Language", "भाषा"),
    IGNORE: _keys("S No", "S.No.", "Sr No", "Sr. No.", "Sl No", "Serial No", "SNo", "Sr", "क्र", "क्र.",
                  "क्रमांक", "क्र. सं.", "क्रम संख्या", ERRORS_COLUMN, "Remarks", "Remark", "टिप्पणी"),
}
_FIELD_BY_HEADER = {key: field for field, keys in HEADER_ALIASES.items() for key in keys}


@dataclass
class HeaderMap:
    """What each column of a file holds: `fields[i]` is a field, IGNORE, or None (not known)."""
    headers: list
    fields: list

    @property
    def unknown(self):
        return [h for h, f in zip(self.headers, self.fields, strict=True) if f is None]

    @property
    def duplicates(self):
        """Fields more than one column claims (two 'Mobile' columns): a person must choose."""
        seen = defaultdict(list)
        for header, field in zip(self.headers, self.fields, strict=True):
            if field not in (None, IGNORE):
                seen[field].append(header)
        return {field: headers for field, headers in seen.items() if len(headers) > 1}

    def missing(self, required=REQUIRED):
        return [f for f in required if f not in self.fields]

    def needs_mapping(self, required=REQUIRED):
        return bool(self.unknown or self.duplicates or self.missing(required))

    def as_dict(self):
        return {h: (f or IGNORE) for h, f in zip(self.headers, self.fields, strict=True)}


def guess_field(header, remembered=None):
    """The field a header names: a mapping someone chose before wins over the built-in names."""
    key = fold(header)
    if remembered and key in remembered:
        return remembered[key]
    return _FIELD_BY_HEADER.get(key)


BLANK_HEADER = re.compile(r"^\(\d+\)$")  # what unique_headers names a column without a header


def map_headers(headers, remembered=None, chosen=None):
    """Map each header to a field. `chosen` (header → field, from the mapping screen or an earlier
    batch of the same file) comes first, then `remembered` (header_key → field), then the built-in names.
    A column without a header is ignored unless someone says otherwise."""
    chosen = chosen or {}
    fields = []
    for header in headers:
        field = chosen.get(header)
        if field not in (*FIELDS, IGNORE):
            field = IGNORE if BLANK_HEADER.match(header) else guess_field(header, remembered)
        fields.append(field)
    return HeaderMap(list(headers), fields)


def unique_headers(cells):
    """Header texts, made unique ('Mobile', 'Mobile (2)'); blank headers get a name by position."""
    headers, seen = [], defaultdict(int)
    for index, cell in enumerate(cells, start=1):
        text = " ".join(cell_text(cell).split()) or f"({index})"
        seen[text] += 1
        headers.append(text if seen[text] == 1 else f"{text} ({seen[text]})")
    return headers


def find_header_row(rows, remembered=None):
    """Index of the header row among the first rows of a sheet: line lists often carry a title above it.
    The first row naming at least two known fields; else the first row with any text; None if all blank."""
    first_text = None
    for index, row in enumerate(rows):
        texts = [cell_text(c) for c in row]
        if not any(texts):
            continue
        if first_text is None:
            first_text = index
        if sum(1 for t in texts if t and guess_field(t, remembered) not in (None, IGNORE)) >= 2:
            return index
    return first_text


# --- cells -----------------------------------------------------------------------------------------

BLANKS = _keys("", "-", "--", "na", "n/a", "nil", "null", "none", "not available", "उपलब्ध नहीं")


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
    "male": _keys("M", "Male", "Man", "Boy", "पुरुष", "पु", "पु.", "नर", "लड़का"),
    "female": _keys("F", "Female", "Woman", "Girl", "महिला", "म", "स्त्री", "औरत", "लड़की"),
    "other": _keys("O", "Other", "Others", "T", "TG", "Transgender", "Third Gender", "अन्य", "ट्रांसजेंडर",
                   "किन्नर", "तृतीय लिंग"),
}
_SEX = {key: code for code, keys in SEX_WORDS.items() for key in keys}


def parse_sex(value):
    code = _SEX.get(fold(value))
    if code is None:
        raise CellError("sex_unknown")
    return code


SETTING_WORDS = {
    "hospital": _keys("Hospital", "Hosp", "COVID Hospital", "DCH", "DCHC", "Dedicated COVID Hospital",
                      "Admitted", "Hospitalised", "Hospitalized", "Hospital Admitted", "IPD", "ICU", "अस्पताल",
                      "हॉस्पिटल", "हास्पिटल", "चिकित्सालय", "भर्ती", "अस्पताल में भर्ती"),
    "ccc": _keys("CCC", "COVID Care Centre", "COVID Care Center", "Care Centre", "Care Center", "DCCC",
                 "COVID Centre", "COVID Center", "Isolation Centre", "Isolation Center", "कोविड केयर सेंटर",
                 "केयर सेंटर", "सीसीसी", "आइसोलेशन सेंटर", "कोविड सेंटर"),
    "home": _keys("Home", "Home Isolation", "Home Isolated", "HI", "H.I.", "Home Iso", "Home Quarantine",
                  "घर", "होम आइसोलेशन", "होम आईसोलेशन", "गृह एकांतवास", "गृह पृथक्करण", "घर पर"),
}
_SETTING = {key: code for code, keys in SETTING_WORDS.items() for key in keys}
YES = _keys("Yes", "Y", "True", "1", "हाँ", "हां", "हा", "Haan")
NO = _keys("No", "N", "False", "0", "नहीं", "नही", "ना")
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
    "hypertension": _keys("Hypertension", "HTN", "BP", "High BP", "Blood Pressure", "Hypertensive",
                          "उच्च रक्तचाप", "रक्तचाप", "बीपी", "ब्लड प्रेशर"),
    "diabetes": _keys("Diabetes", "Diabetic", "DM", "T2DM", "Sugar", "Diabetes Mellitus", "मधुमेह", "शुगर",
                      "डायबिटीज", "डायबिटीज़"),
    "heart": _keys("Heart", "Heart Disease", "Cardiac", "CAD", "IHD", "हृदय", "हृदय रोग", "दिल", "दिल की बीमारी"),
    "lung": _keys("Lung", "Lung Disease", "COPD", "Asthma", "Chronic Lung Disease", "फेफड़े", "फेफड़ों की बीमारी",
                  "अस्थमा", "दमा"),
    "liver": _keys("Liver", "Liver Disease", "CLD", "लिवर", "यकृत", "लीवर"),
    "kidney": _keys("Kidney", "Kidney Disease", "CKD", "Renal", "गुर्दा", "गुर्दे", "किडनी"),
    "cerebrovascular": _keys("Cerebrovascular", "Cerebro-vascular", "Stroke", "CVA", "Paralysis", "लकवा",
                             "पक्षाघात"),
}
_COMORBIDITY = {key: code for code, keys in COMORBIDITY_WORDS.items() for key in keys}
NO_COMORBIDITY = _keys("No", "None", "Nil", "NA", "No Comorbidity", "Nothing", "नहीं", "कोई नहीं", "निल")
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


LANGUAGE_WORDS = {"hi": _keys("hi", "Hindi", "हिंदी", "हिन्दी"),
                  "en": _keys("en", "English", "अंग्रेजी", "अंग्रेज़ी", "इंग्लिश")}
_LANGUAGE = {key: code for code, keys in LANGUAGE_WORDS.items() for key in keys}


def parse_language(value):
    code = _LANGUAGE.get(fold(value))
    if code is None:
        raise CellError("language_unknown")
    return code


# --- dates -----------------------------------------------------------------------------------------

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


# --- a row -------------------------------------------------------------------------------------------

def parse_row(cells):
    """Read one row's cells ({field: value}) into the values registration takes.

    Returns (data, errors): errors is [(field, code, params)]; a field with an error is left out of
    `data`, so the registration rules applied afterwards do not report it twice. Blank cells give None
    (an update never overwrites data with blanks)."""
    data, errors = {}, []

    def read(field, parser):
        if field not in cells and field not in REQUIRED:  # the file has no such column
            return None
        value = cells.get(field)
        if is_blank(value):
            if field in REQUIRED:
                errors.append((field, "required_blank", {}))
            return None
        try:
            return parser(value)
        except CellError as exc:
            errors.append((field, exc.code, exc.params))
            return None

    def keep(field, value, failed_before):
        if len(errors) == failed_before:
            data[field] = value

    for field, parser in (("name", _name), ("age", parse_age), ("sex", parse_sex), ("lab_id", parse_id),
                          ("positive_date", parse_date), ("symptom_onset_date", parse_date),
                          ("setting", parse_setting), ("home_isolation", parse_home_isolation),
                          ("comorbidities", parse_comorbidities), ("language", parse_language),
                          ("abha_number", _text), ("address", _text), ("facility", _text), ("village", _text),
                          ("block", _text), ("district", _text)):
        before = len(errors)
        keep(field, read(field, parser), before)

    before = len(errors)
    phones = read("phone", parse_phones) or []
    if len(errors) == before:
        data["phone"] = phones[0] if phones else None
    before = len(errors)
    attendant = read("attendant_phone", parse_phones) or []
    if len(errors) == before:
        # A second number in the patient's phone cell is the attendant's, unless a column says otherwise.
        data["attendant_phone"] = attendant[0] if attendant else (phones[1] if len(phones) > 1 else None)
    home_isolation = data.pop("home_isolation", None)
    if data.get("setting") is None and home_isolation is not None:
        if home_isolation == NOT_HOME:
            data["not_home"] = True  # the facility must say where
        else:
            data["setting"] = home_isolation
    return data, errors


def _text(value):
    return " ".join(cell_text(value).split())


def _name(value):
    text = _text(value)
    if not any(ch.isalpha() for ch in text):
        # '????' is what Excel leaves of Hindi letters saved as a non-Unicode CSV.
        raise CellError("name_no_letters")
    return text


# --- places ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Place:
    """A known facility, village, block or district as the matcher sees it."""
    id: int
    name: str
    group: int | None = None  # a village's block; a facility's or block's district
    kind: str | None = None   # a facility's kind
    label: str = ""           # how a suggestion names it: 'Kendri (Abhanpur)'

    @property
    def shown(self):
        return self.label or self.name


ACCEPT_RATIO = 0.85   # a misspelling this close to one known name is that name
SUGGEST_RATIO = 0.6   # … this close is worth suggesting


def _digits(key):
    return tuple(int(d) for d in re.findall(r"\d+", key))


def similarity(a, b):
    """0…1: how alike two folded names are (rapidfuzz's normalised InDel ratio, which difflib's ratio
    approximates; measured over 3,000 names: same answers, a small fraction of the time)."""
    return fuzz.ratio(a, b) / 100


class PlaceIndex:
    """Known names, matched case-, punctuation- and spelling-tolerantly.

    Exact (folded) names first; then one known name that starts with the cell's words or whose words
    the cell starts with ('AIIMS' → 'AIIMS Raipur'); then one close spelling (similarity ≥ 0.85).
    Numbers must agree exactly, so 'Ward 1' is never taken for 'Ward 12'. Anything else is an error
    that names the closest known names."""

    def __init__(self, places):
        self.by_key = defaultdict(list)
        for place in places:
            self.by_key[fold(place.name)].append(place)
        self._cache = {}

    def match(self, text, group=None):
        key = fold(text)
        cache_key = (key, group)
        if cache_key not in self._cache:
            try:
                self._cache[cache_key] = self._match(key, group)
            except CellError as exc:
                # The code, not the exception: a re-raised exception keeps every caller's frame alive.
                self._cache[cache_key] = (exc.code, exc.params)
        found = self._cache[cache_key]
        if isinstance(found, tuple):
            raise CellError(found[0], **found[1])
        return found

    def _keys(self, group):
        if group is None:
            return list(self.by_key)
        return [k for k, places in self.by_key.items() if any(p.group == group for p in places)]

    def _places(self, key, group):
        return [p for p in self.by_key.get(key, ()) if group is None or p.group == group]

    def _suggestions(self, key, group, n=3):
        """Known names like the cell's, or beginning like it ('Ward 13' → 'Ward 12 …'), or with its first word."""
        first_word = key.split()[:1]

        def score(k):
            return max(similarity(key, k), similarity(key, k[:len(key)]),
                       SUGGEST_RATIO if k.split()[:1] == first_word else 0)
        scored = sorted(((score(k), k) for k in self._keys(group)), reverse=True)
        return [k for s, k in scored[:n] if s >= SUGGEST_RATIO]

    def _match(self, key, group):
        exact = self._places(key, group)
        if not exact:
            keys = self._keys(group)
            digits = _digits(key)
            prefixed = [k for k in keys if (k.startswith(key + " ") or key.startswith(k + " "))
                        and _digits(k) == digits]
            if len(prefixed) == 1:
                exact = self._places(prefixed[0], group)
            else:
                close = [k for k, _score, _i in process.extract(key, keys, scorer=fuzz.ratio, limit=None,
                                                                 score_cutoff=ACCEPT_RATIO * 100)
                         if _digits(k) == digits]
                if len(close) == 1:
                    exact = self._places(close[0], group)
        if len(exact) == 1:
            return exact[0]
        if len(exact) > 1:
            raise CellError("place_ambiguous", choices=", ".join(sorted(p.shown for p in exact)))
        shown = [p.shown for k in self._suggestions(key, group) for p in self._places(k, group)]
        raise CellError("place_unknown_suggest" if shown else "place_unknown", suggestions=", ".join(shown[:3]))


# --- the same person ---------------------------------------------------------------------------------

HONORIFICS = _keys("smt", "shri", "shree", "sri", "mr", "mrs", "ms", "miss", "km", "kumari", "dr", "late",
                   "श्री", "श्रीमती", "कु", "कुमारी", "सुश्री", "डॉ")


def _name_tokens(name):
    return [t for t in fold(name).split() if t not in HONORIFICS]


def _spelling(token):
    """A Latin-letter name in one spelling, for the variants of Indian names: Geeta/Gita, Sahu/Sahoo,
    Pooja/Puja, Dhruv/Dhruw, Laxmi/Lakshmi agree; Ramesh/Rakesh and Manoj/Manju do not."""
    if not token.isascii():
        return token
    t = token.replace("ph", "f").replace("w", "v").replace("z", "j").replace("q", "k").replace("ck", "k")
    t = t.replace("x", "ksh").replace("ee", "i").replace("oo", "u")
    t = re.sub(r"(?<=[^aeiou])h", "", t)  # dh, bh, sh … → d, b, s
    return re.sub(r"(.)\1+", r"\1", t)


def similar_names(a, b):
    """Two names are the same person's (given the same phone number) when they are equal after case,
    spacing and honorifics ('Smt.') are ignored, are spelling variants word for word (Geeta Sahu /
    Gita Sahoo), or one is the other with words left out but the same first name (Sunita / Sunita Sahu).

    Not a plain similarity ratio: family members share phones, and 'Ramesh Sahu' and 'Rakesh Sahu'
    are 91 % alike but two people."""
    ta, tb = _name_tokens(a), _name_tokens(b)
    if not ta or not tb:
        return name_key(a) == name_key(b)
    if ta == tb:
        return True
    sa, sb = [_spelling(t) for t in ta], [_spelling(t) for t in tb]
    if sa == sb:
        return True
    short, long_ = (sa, sb) if len(sa) <= len(sb) else (sb, sa)
    return len(short) < len(long_) and short[0] == long_[0] and set(short) <= set(long_)


def lab_key(lab_id):
    return "".join((lab_id or "").split()).upper()


def same_person(row, record):
    """How a line-list row and a patient on record are related: 'lab' (same lab/sample ID and the same
    phone or a similar name), 'phone_name' (same phone and a similar name, for a patient still followed
    up or one whose positive date is this row's), 'lab_conflict' (the lab ID is someone else's), or None.

    `row` and `record` are mappings with name, phone, lab_id, positive_date; `record` also has active."""
    if row.get("lab_id") and record.get("lab_id") and lab_key(row["lab_id"]) == lab_key(record["lab_id"]):
        if row["phone"] == record["phone"] or similar_names(row["name"], record["name"]):
            return "lab"
        return "lab_conflict"
    if row["phone"] == record["phone"] and similar_names(row["name"], record["name"]):
        if record["active"] or record.get("positive_date") == row.get("positive_date"):
            return "phone_name"
    return None


# --- updating a record -------------------------------------------------------------------------------

OVERWRITE_FIELDS = ("age", "sex", "attendant_phone", "address", "village_id", "abha_number", "language")
FILL_FIELDS = ("lab_id", "symptom_onset_date")


def _blank(value):
    return value is None or value == "" or value == []


def plan_update(current, incoming, phone_may_change=False):
    """The changes a row makes to a patient on record: {field: (old, new)}.

    Blanks never overwrite data. Age, sex, attendant phone, address, village, ABHA and language take
    the row's value; a lab ID and symptom onset only fill a blank; comorbidities are added, never
    removed; the phone changes only when the lab ID identified the person. Name and positive date
    are never changed. A setting or facility the row states (explicit_setting) changes the place of
    a patient still followed up: the caller records that as a Transfer."""
    changes = {}
    for field in OVERWRITE_FIELDS:
        new = incoming.get(field)
        if not _blank(new) and new != current.get(field):
            changes[field] = (current.get(field), new)
    for field in FILL_FIELDS:
        new = incoming.get(field)
        if not _blank(new) and _blank(current.get(field)):
            changes[field] = (current.get(field), new)
    old_list = list(current.get("comorbidities") or [])
    added = [c for c in incoming.get("comorbidities") or [] if c not in old_list]
    if added:
        changes["comorbidities"] = (old_list, old_list + added)
    if phone_may_change and incoming.get("phone") and incoming["phone"] != current.get("phone"):
        changes["phone"] = (current.get("phone"), incoming["phone"])
    if incoming.get("explicit_setting") and current.get("active"):
        new_place = (incoming["setting"], incoming.get("facility_id"))
        if new_place != (current.get("setting"), current.get("facility_id")):
            changes["setting"] = (current.get("setting"), incoming["setting"])
            changes["facility_id"] = (current.get("facility_id"), incoming.get("facility_id"))
    return changes


def overwrites(changes):
    """The changes that replace a value (not fill a blank or add to a list)."""
    return {f: c for f, c in changes.items() if f != "comorbidities" and not _blank(c[0])}
