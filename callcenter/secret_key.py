"""The session-signing key: anyone who knows it can sign an administrator's session cookie.

Production is the default. There the app refuses to start without a strong SECRET_KEY (a known or short
one counts as none). Tests (TESTING) and an explicit development mode (SAMPARK_ENV=development) may run
without one: development then uses a random key kept in instance/secret_key, made on first use.
"""
import os
import secrets
from pathlib import Path

DEVELOPMENT = "development"
MIN_LENGTH = 32
MIN_DISTINCT = 10  # "aaaa…" or "abababab…" is long but guessable
HOW_TO_MAKE = 'python3 -c "import secrets; print(secrets.token_hex(32))"'
# Keys that were ever a default, a placeholder or an example in this project, and the usual suspects.
KNOWN_WEAK = frozenset({
    "dev-only-change-me", "test-secret", "bench-secret", "secret", "secret-key", "secret_key", "secretkey",
    "changeme", "change-me", "change_me", "dev", "development", "sampark", "sampark-demo", "password",
    "...", "xxx", "your-secret-key", "replace-me",
})


class InsecureSecretKey(RuntimeError):
    """Raised by create_app: the key is missing or weak where the app would serve real users."""


def weakness(key):
    """Why `key` is not fit to sign sessions in production, or None when it is."""
    if not key:
        return "SECRET_KEY is not set"
    if isinstance(key, bytes):
        key = key.decode("utf-8", "replace")
    if key.strip().lower() in KNOWN_WEAK:
        return "SECRET_KEY is a known default or example value"
    if len(key) < MIN_LENGTH:
        return f"SECRET_KEY is too short ({len(key)} characters; at least {MIN_LENGTH})"
    if len(set(key)) < MIN_DISTINCT:
        return "SECRET_KEY repeats too few different characters"
    return None


def instance_key(path):
    """The random key kept in `path` (made once, readable by its owner only), for development and bin/start."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole to a private file, then linked into place: two workers starting at once agree on one key.
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    key = path.read_text().strip()
    if weakness(key):  # someone emptied or edited the file
        raise InsecureSecretKey(f"{path} does not hold a usable key; delete it to make a new one.")
    return key


def check(app):
    """Called by create_app: refuse to start with a missing or weak key outside tests and development."""
    if app.testing:
        return
    if app.config.get("SAMPARK_ENV") == DEVELOPMENT:
        if not app.config.get("SECRET_KEY"):
            app.config["SECRET_KEY"] = instance_key(app.config["SECRET_KEY_FILE"])
        return
    problem = weakness(app.config.get("SECRET_KEY"))
    if problem:
        raise InsecureSecretKey(
            f"{problem}. Sampark will not start: anyone who knows the key can sign themselves in as an "
            f"administrator. Make a key with\n    {HOW_TO_MAKE}\nand set it in the environment as SECRET_KEY "
            f"(the same value for every web worker and the scheduler). For a developer's machine only, "
            f"SAMPARK_ENV=development uses a random key kept in instance/secret_key instead.")
