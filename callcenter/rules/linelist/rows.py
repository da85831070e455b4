"""One row of a line list read into the values registration takes, with the errors of its cells."""
from .cells import (
    NOT_HOME,
    CellError,
    Uncalculated,
    cell_text,
    is_blank,
    parse_age,
    parse_comorbidities,
    parse_home_isolation,
    parse_id,
    parse_language,
    parse_phones,
    parse_setting,
    parse_sex,
)
from .dates import parse_date
from .headers import REQUIRED


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
        if isinstance(value, Uncalculated):
            errors.append((field, "formula_no_value", {}))
            return None
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
