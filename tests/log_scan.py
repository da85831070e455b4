"""No log line of the test run carries a full Indian mobile number or a check-in link's token (DPDP; loaded for
the whole suite by pytest.ini). Every record any logger emits while a test runs, at DEBUG and up, is read
(message, arguments and traceback formatted as a handler would); a test whose records carry one fails.

The pattern: +91 followed by 10 digits (spaces or dashes allowed: +91 98260 12345), or a bare 10-digit number
starting 6–9 not inside a longer word or number; a token: what follows /c/ in a check-in link, or the secret
in a provider's callback address (/exotel/<secret>/)."""
import logging
import re

import pytest

PHONE = re.compile(r"\+91[\s-]?\d(?:[\s-]?\d){9}(?!\d)|(?<![0-9A-Za-z.])[6-9]\d{9}(?![0-9A-Za-z.])")
TOKEN = re.compile(r"/c/[A-Za-z0-9_-]{16}(?![A-Za-z0-9_-])")
# The secret in a provider callback's address. urllib3's own lines are left out: there it is the fake Exotel
# (tests/exotel_fake.py) calling the app, as Exotel would; the app sends its callback addresses in request
# bodies, which urllib3 does not log.
CALLBACK_SECRET = re.compile(r"/exotel/(?!…)[^\s/?\"']+/")


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
        checks = [(PHONE, "a phone number"), (TOKEN, "a check-in token")]
        if not record.name.startswith("urllib3."):
            checks.append((CALLBACK_SECRET, "a callback secret"))
        for pattern, what in checks:
            match = pattern.search(text)
            if match:
                self.found.append(f"{what} in a {record.levelname} line of {record.name}: {match.group(0)!r}")


SCANNER = _Scanner()


def pytest_configure(config):
    # SQLAlchemy reads its loggers' level as "echo": kept at WARNING here (echo on, for every statement of the
    # suite, would be slow); tests/test_personal_data_logs.py runs with it on and reads what it writes.
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)


@pytest.fixture(autouse=True)
def _no_phone_or_token_in_the_logs():
    """The scanner on the root logger, which lets DEBUG through, for the test's whole run (added per test:
    whatever the test's imports or pytest's own capture did to the root's handlers before)."""
    root = logging.getLogger()
    level = root.level
    SCANNER.found.clear()
    root.addHandler(SCANNER)
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(SCANNER)
        root.setLevel(level)
    found, SCANNER.found[:] = list(SCANNER.found), []
    if found:
        pytest.fail("logged personal data:\n" + "\n".join(sorted(set(found))[:10]), pytrace=False)
