"""A line list's header row: which field each column holds (built-in English and Hindi names, or a mapping
someone chose), where the header row is, and what a mapping still lacks."""
import re
from collections import defaultdict
from dataclasses import dataclass

from .cells import cell_text, fold, folded

IGNORE = "ignore"
FIELDS = ("name", "phone", "attendant_phone", "age", "sex", "lab_id", "positive_date", "symptom_onset_date",
          "setting", "home_isolation", "facility", "district", "block", "village", "address", "abha_number",
          "comorbidities", "language")
REQUIRED = ("name", "phone", "age", "sex", "positive_date")
ERRORS_COLUMN = "errors"          # the column the error report adds; ignored when it comes back

header_key = fold

# Header names seen on district line lists (English and Hindi), by patient field.
HEADER_ALIASES = {
    "name": folded("Name", "Patient Name", "Name of Patient", "Patient's Name", "Full Name", "Patient",
                   "Name of the Patient", "नाम", "मरीज का नाम", "मरीज़ का नाम", "रोगी का नाम", "मरीज नाम",
                   "पूरा नाम", "व्यक्ति का नाम"),
    "phone": folded("Mobile", "Mobile No", "Mobile Number", "Mob No", "Mob", "Phone", "Phone No", "Phone Number",
                    "Contact", "Contact No", "Contact Number", "Patient Mobile", "Patient Mobile No",
                    "Patient Contact", "Patient Contact No", "Mobile No of Patient", "मोबाइल", "मोबाइल नंबर",
                    "मोबाइल नं", "मोबाइल न", "मोबाइल क्रमांक", "फोन", "फोन नंबर", "फ़ोन नंबर", "संपर्क",
                    "संपर्क नंबर", "संपर्क सूत्र"),
    "attendant_phone": folded("Attendant Mobile", "Attendant Phone", "Attendant Contact", "Attendant Mobile No",
                              "Alternate Mobile", "Alternate Mobile No", "Alternate Number", "Alternate Phone",
                              "Alternative Mobile", "Relative Mobile", "Family Contact", "परिजन का मोबाइल",
                              "परिजन मोबाइल", "वैकल्पिक मोबाइल", "वैकल्पिक नंबर", "अटेंडेंट मोबाइल"),
    "age": folded("Age", "Age (Years)", "Age in Years", "Age Yrs", "Age (Yrs)", "आयु", "उम्र", "आयु (वर्ष)",
                  "उम्र (वर्ष)", "आयु वर्ष"),
    "sex": folded("Sex", "Gender", "Sex (M/F)", "Gender (M/F)", "लिंग", "लिंग (पु/म)"),
    "lab_id": folded("SRF ID", "SRF", "SRF No", "SRF Number", "Sample ID", "Sample No", "Lab ID", "Lab No",
                     "ICMR ID", "ICMR No", "ICMR SRF ID", "Test ID", "Specimen ID", "Patient ID (ICMR)",
                     "एसआरएफ आईडी", "सैंपल आईडी", "नमूना आईडी", "लैब आईडी"),
    "positive_date": folded("Date of Sample", "Sample Date", "Date of Sampling", "Sample Collection Date",
                            "Date of Sample Collection", "Result Date", "Date of Result", "Positive Date",
                            "Date of Positive", "Date Positive", "Positive On", "Test Date", "Date of Test",
                            "Testing Date", "Report Date", "Date of Report", "Reporting Date", "जांच की तारीख",
                            "जाँच की तारीख", "जांच तिथि", "जाँच तिथि", "सैंपल की तारीख", "सैंपल तिथि",
                            "पॉजिटिव तिथि", "पॉजिटिव की तारीख", "रिपोर्ट की तारीख", "रिपोर्ट तिथि"),
    "symptom_onset_date": folded("Date of Onset", "Onset Date", "Symptom Onset", "Date of Symptom Onset",
                                 "Symptom Onset Date", "Symptoms Since", "लक्षण शुरू होने की तारीख",
                                 "लक्षण की तारीख", "लक्षण तिथि"),
    "setting": folded("Setting", "Status", "Patient Status", "Isolation Status", "Isolation Type",
                      "Type of Isolation", "Place of Isolation", "Admission Status", "Admitted In", "स्थिति",
                      "मरीज की स्थिति", "आइसोलेशन का प्रकार", "कहां भर्ती", "भर्ती स्थिति"),
    "home_isolation": folded("Home Isolation", "HI", "Home Isolated", "Home Isolation (Y/N)", "होम आइसोलेशन",
                             "गृह एकांतवास", "होम आइसोलेशन (हाँ/नहीं)"),
    "facility": folded("Facility", "Facility Name", "Hospital", "Hospital Name", "Name of Hospital", "CCC",
                       "CCC Name", "Covid Care Centre", "Covid Care Center", "Admitted At", "Name of Facility",
                       "Health Facility", "Hospital/CCC", "अस्पताल", "अस्पताल का नाम", "चिकित्सालय",
                       "कोविड केयर सेंटर", "सीसीसी", "संस्था", "संस्था का नाम"),
    "district": folded("District", "District Name", "जिला", "ज़िला", "जिले का नाम"),
    "block": folded("Block", "Block Name", "Development Block", "विकासखंड", "विकासखण्ड", "विकास खंड", "ब्लॉक",
                    "ब्लाक"),
    "village": folded("Village", "Village Name", "Ward", "Ward No", "Ward Name", "Village/Ward", "Gram",
                      "Village / Ward", "ग्राम", "गांव", "गाँव", "वार्ड", "ग्राम/वार्ड", "ग्राम का नाम",
                      "गांव का नाम"),
    "address": folded("Address", "Full Address", "Patient Address", "Residential Address", "पता", "पूरा पता",
                      "निवास", "निवास का पता"),
    "abha_number": folded("ABHA", "ABHA No", "ABHA Number", "ABHA ID", "Health ID", "आभा", "आभा नंबर"),
    "comorbidities": folded("Comorbidity", "Comorbidities", "Co-morbidity", "Co-morbidities", "Comorbid",
                            "Comorbid Condition", "Other Disease", "Other Illness", "सह-रुग्णता", "सहरुग्णता",
                            "अन्य बीमारी", "अन्य रोग", "पुरानी बीमारी"),
    "language": folded("Language", "Preferred Language", "भाषा"),
    IGNORE: folded("S No", "S.No.", "Sr No", "Sr. No.", "Sl No", "Serial No", "SNo", "Sr", "क्र", "क्र.",
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
