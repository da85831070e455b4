"""No log line of the test run carries a full Indian mobile number or a check-in link's token (DPDP; loaded for
the whole suite by pytest.ini). Every record any logger emits while a test runs, at DEBUG and up, is read
(message, arguments and traceback formatted as a handler would); a test whose records carry one fails.

The pattern: +91 followed by 10 digits (spaces or dashes allowed: +91 98260 12345), or a bare 10-digit number
starting 6–9 that is not part of a longer run of digits; a token: what follows /c/ in a check-in link."""
import logging
import re

import pytest

PHONE = re.compile(r"\+91[\s-]?\d(?:[\s-]?\d){9}(?!\d)|(?<![\d.])[6-9]\d{9}(?![\d.])")
TOKEN = re.compile(r"/c/[A-Za-z0-9_-]{16}(?![A-Za-z0-9_-])")


class _Scanner(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.found = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record):
        try:
            text = self.format(record)
        except Exception:  # a record that cannot be formatted is the logging call's bug, shown elsewhere
            return
        for pattern, what in ((PHONE, "a phone number"), (TOKEN, "a check-in token")):
            match = pattern.search(text)
            if match:
                self.found.append(f"{what} in a {record.levelname} line of {record.name}: {match.group(0)!r}")


SCANNER = _Scanner()


def pytest_configure(config):
    root = logging.getLogger()
    root.addHandler(SCANNER)
    if root.level > logging.DEBUG or root.level == logging.NOTSET:
        root.setLevel(logging.DEBUG)  # every logger's DEBUG lines are made, and read
    # SQLAlchemy reads its loggers' level as "echo": left at WARNING here (echo on, for every statement of the
    # suite, would be slow); tests/test_personal_data_logs.py runs with it on and reads what it writes.
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)


@pytest.fixture(autouse=True)
def _no_phone_or_token_in_the_logs():
    SCANNER.found.clear()
    yield
    found, SCANNER.found[:] = list(SCANNER.found), []
    if found:
        pytest.fail("logged personal data:\n" + "\n".join(sorted(set(found))[:10]), pytrace=False)
