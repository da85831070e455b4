"""What a password must be (NIST SP 800-63B): long enough, not a common one, not the username; no
composition rules and no forced rotation. The common-password list is zxcvbn's, shipped with the package
(offline), so nothing is fetched at run time."""
from functools import lru_cache

from flask_babel import lazy_gettext as _l
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from ...models import Role

# Roles that can change other people's work or see the whole district: longer passwords.
PRIVILEGED_ROLES = frozenset({Role.ADMIN, Role.NODAL_OFFICER, Role.CONTROL_ROOM})
MIN_LENGTH = 8
MIN_LENGTH_PRIVILEGED = 12
MAX_LENGTH = 128  # long passphrases are welcome; the cap keeps hashing and the strength check cheap
COMMON_COUNT = 10_000  # the most common passwords in zxcvbn's list (it is ordered by frequency)
MIN_SCORE = 2  # zxcvbn's estimate: below 2 means fewer than a million guesses


@lru_cache(maxsize=1)
def _common():
    return frozenset(FREQUENCY_LISTS["passwords"][:COMMON_COUNT])


def min_length(role):
    return MIN_LENGTH_PRIVILEGED if role in PRIVILEGED_ROLES else MIN_LENGTH


def problem(password, username, role):
    """Why this password is refused for this user (a message), or None when it is acceptable."""
    password = password or ""
    needed = min_length(role)
    if len(password) < needed:
        return _l("At least %(n)s characters.", n=needed)
    if len(password) > MAX_LENGTH:
        return _l("At most %(n)s characters.", n=MAX_LENGTH)
    name = (username or "").strip().lower()
    if len(name) >= 3 and name in password.lower():
        return _l("The password must not contain the username.")
    if password.lower() in _common():
        return _l("This is one of the most common passwords; choose another.")
    if zxcvbn(password, user_inputs=[name] if name else [])["score"] < MIN_SCORE:
        return _l("This password is too easy to guess (a common word, a name, or repeated or sequential "
                  "characters); a few unrelated words make a good one.")
    return None
