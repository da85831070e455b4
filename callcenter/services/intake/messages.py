"""What an import says: why a row was rejected, why a whole file was refused (each by a stable code,
the text in the reader's language), and the errors that carry those codes."""
from flask_babel import lazy_gettext as _l

from ..core.errors import ServiceError
from ..records.patients import FIELD_MESSAGES

# Why a row was rejected, by rule code (the registration rules' own messages first).
REASONS = {
    **FIELD_MESSAGES,
    "required_blank": _l("This is blank; every patient needs it."),
    "name_no_letters": _l("The name has no letters. If it shows as ????, the file lost its Hindi letters when it "
                          "was saved: save it as \"CSV UTF-8\" or upload the .xlsx."),
    "age_unreadable": _l("Not an age in years."),
    "sex_unknown": _l("Write M, F or Other (पुरुष, महिला, अन्य)."),
    "setting_unknown": _l("Write hospital, CCC or home isolation."),
    "comorbidity_unknown": _l("Unknown comorbidity %(word)s: write, e.g., diabetes, hypertension, heart, lung, "
                              "kidney, liver or stroke."),
    "language_unknown": _l("Write Hindi or English."),
    "date_unreadable": _l("Not a date: write it day first, e.g. 12/05/2021."),
    "date_invalid": _l("No such date: check the day and the month."),
    "date_too_old": _l("Before %(earliest)s: check the year."),
    "phone_excel_shortened": _l("Excel shortened this number: format the column as text and type it again."),
    "lab_id_excel_shortened": _l("Excel shortened this ID: format the column as text and type it again."),
    "place_unknown": _l("Not a name we know in this district."),
    "place_unknown_suggest": _l("Not a name we know in this district. Did you mean: %(suggestions)s?"),
    "place_ambiguous": _l("More than one place has this name: %(choices)s. Add the block, or write it in full."),
    "facility_missing": _l("Name the hospital or care centre the patient is in."),
    "facility_wrong_kind": _l("This facility is not of the kind the setting says (hospital or care centre)."),
    "facility_wrong_district": _l("This facility is in another district."),
    "district_required": _l("Name the district: this import is not for one district."),
    "district_other": _l("This row is for another district than the one this import is for."),
    # Not "in another district": the refusal must not tell where else a person is a patient.
    "other_district": _l("This person is already on record and cannot be changed by this import; ask the state "
                         "office."),
    "lab_conflict": _l("This lab ID belongs to %(name)s, whose phone and name differ: check the ID."),
    "conflicts_with_row": _l("Differs from %(value)s, which this person already has: row %(row)s of this file "
                             "is the same person. Correct one of the two rows."),
    "phone_name_taken": _l("Another patient being followed up has this phone number and name."),
    # Who is who on a shared phone (checking.py): rows held for review, and notes on rows written.
    "held_same_name": _l("Held for review: the same phone and name as %(name)s (%(recorded)s), but this row says "
                         "%(given)s. Is the age or sex wrong, or is this another person of the same name? Nothing "
                         "was saved: correct the file (for another person, write their full name) or the patient's "
                         "record, and import it again."),
    "held_near_name": _l("Held for review: nearly the name of %(name)s (%(recorded)s), who has this phone, with the "
                         "same age and sex. The same person misspelt, or someone else? Nothing was saved: if it is "
                         "them, write the name as on record; if not, add this person with Register patient."),
    "held_lab": _l("Held for review: this lab ID is %(name)s's (%(recorded)s), but this row says %(given)s. Nothing "
                   "was saved: check the lab ID, age and sex, correct the file and import it again."),
    "another_person": _l("Not %(name)s (%(recorded)s), who has this phone: this row says %(given)s, so this is "
                         "another person, added as a new patient."),
    "household_joined": _l("Added to the household of %(name)s, who has the same phone: the family is called "
                           "together."),
    "same_as_row": _l("The same person as row %(row)s of this file."),
    "formula_no_value": _l("A formula without a saved value: the program that wrote the file never calculated it. "
                           "Open the file in Excel and save it, then upload it again."),
    "date_sample_too_old": _l("%(days)s days ago: more than %(limit)s days, too long ago for someone followed up "
                              "now. Check the date, the year especially."),
    "date_sample_past_isolation": _l("%(days)s days ago, longer than isolation lasts (%(limit)s days): check the "
                                     "date. The row is imported as it is; the patient will be listed for a "
                                     "discharge review."),
}
# Why a whole file was refused.
REFUSALS = {
    "type": _l("Upload a line list as a CSV file or an Excel workbook (.xlsx)."),
    "xls": _l("This is an old Excel file (.xls). Open it in Excel and save it as .xlsx or as \"CSV UTF-8\"."),
    "empty": _l("The file is empty."),
    "too_big": _l("The file is larger than %(mb)s MB. Split it into smaller files."),
    "too_big_unread": _l("The upload was larger than %(mb)s MB, so it was stopped before it was read (its name is "
                         "not known). Split the line list into smaller files and upload them one by one."),
    "too_many_rows": _l("The file has more than %(rows)s rows. Split it into smaller files."),
    "too_many_columns": _l("The file has more than %(columns)s columns: it does not look like a line list."),
    "binary": _l("This is not a CSV (text) file."),
    "encoding": _l("The file's text is not UTF-8 or UTF-16, so its letters cannot be read. In Excel choose "
                   "\"Save as\" → \"CSV UTF-8\" (plain \"CSV\" loses Hindi letters), or upload the .xlsx."),
    "csv_broken": _l("The CSV file is damaged near line %(line)s."),
    "xlsx_broken": _l("This is not an Excel workbook that can be read. Open it in Excel and save it again as .xlsx."),
    "no_header": _l("No header row: the first rows of the file are blank."),
    "no_rows": _l("The file has a header row but no patients under it."),
}


def message(template, params=None):
    """A stored code's message in the reader's language, its %(…)s filled."""
    text = str(template)
    return text % params if params else text


def reason_text(error):
    """One row error ({"column", "value", "reason", "params"}) as a sentence."""
    template = REASONS.get(error.get("reason"))
    return message(template, error.get("params")) if template is not None else str(error.get("reason"))


class Refused(ServiceError):
    """The file is not a line list we can read; the refusal is recorded as a batch."""
    status = 422

    def __init__(self, text, batch=None):
        super().__init__(text)
        self.batch = batch


class NeedsMapping(ServiceError):
    """Some columns are not known (or a needed one is missing): a person must say what they hold."""
    status = 409

    def __init__(self, inspection):
        super().__init__(_l("Say what these columns hold; the choice is remembered for the next file."))
        self.inspection = inspection


class Unreadable(Exception):
    """The file cannot be read as a line list: a REFUSALS code and its parameters."""

    def __init__(self, code, **params):
        super().__init__(code)
        self.code, self.params = code, params
