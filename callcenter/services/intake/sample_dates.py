"""A row's date of sample against the day of the import (rules.linelist.dates.sample_age): one more than
IMPORT_SAMPLE_MAX_DAYS old is refused (the row is rejected, with the row's other errors); a new patient whose
sample is older than the isolation period (the release rule's days, a setting) is added with a warning on its
row. A person already on record is not warned again: their date of sample is not changed by a line list."""
from flask import current_app

from ...models import RowAction
from ...rules.linelist.cells import CellError
from ...rules.linelist.dates import parse_date, sample_age
from ..core import settings


class SampleDates:
    def __init__(self, column, today):
        self.column, self.today = column, today
        self.max_days = current_app.config["IMPORT_SAMPLE_MAX_DAYS"]
        self.isolation_days = settings.release_rule().min_days

    def _verdict(self, entry):
        if entry.data is not None:
            day = entry.data["positive_date"]
        else:  # rejected already: the date is said wrong too, so the corrected file is right the first time
            try:
                day = parse_date(entry.raw.get(self.column) or "")
            except CellError:
                return None
        return sample_age(day, self.today, self.isolation_days, self.max_days) if day else None

    def _error(self, entry, code, params):
        return {"column": self.column, "value": entry.raw.get(self.column, ""), "reason": code, "params": params}

    def check(self, entry):
        """Before whom the row is about is found: a date too old rejects the row."""
        verdict = self._verdict(entry)
        if verdict and verdict[0] == "date_sample_too_old":
            entry.errors.append(self._error(entry, *verdict))
            entry.data = None

    def note(self, checked):
        """Once whom each row is about is known: a new patient past the isolation period gets a warning."""
        for entry in checked:
            if entry.action == RowAction.ADDED:
                verdict = self._verdict(entry)
                if verdict and verdict[0] == "date_sample_past_isolation":
                    entry.errors.append(self._error(entry, *verdict))
