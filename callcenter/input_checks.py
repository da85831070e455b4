"""Hostile input stopped at the door, before it reaches a view or the database.

PostgreSQL refuses a NUL byte in text and an integer past bigint; both used to surface as a 500. So:
- every query argument and form field (names, values, uploaded file names) with a NUL or another C0 control
  character is refused with a 400 that names the field (form text may hold tab, CR and LF: notes have lines);
  an address (path) with one is a 404;
- the URL map's `int` converter matches only 0 … ID_MAX, so a bigger id is a 404 and never a query;
- `db_int` and `page_number` read integers from the query string within the same range.

ID_MAX is 2**31-1, not 2**63-1: every id column is an `Integer` (PostgreSQL's 4-byte `integer`), and SQLAlchemy
casts a bound id to it, so even 2**31 fails there ("integer out of range"). tests/test_hostile_input.py checks
that no id column is wider; make one a BigInteger and ID_MAX must grow with it.
"""
import re

from flask import request
from flask_babel import lazy_gettext as _l
from werkzeug.routing import IntegerConverter, ValidationError

from .errors import render_error

ID_MAX = 2**31 - 1      # PostgreSQL's integer: the type of every id column
BIGINT_MAX = 2**63 - 1  # PostgreSQL's bigint (and SQLite's integer): the most an OFFSET can be
MAX_PAGE = 100_000      # far past any list's last page, and page × page size stays a small number
# C0 controls (and DEL). Query strings: none but tab. Form text: tab, CR and LF too (multi-line notes).
_QUERY_BAD = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_FORM_BAD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class DatabaseIntConverter(IntegerConverter):
    """`<int:…>` for ids: ASCII digits, 0 … ID_MAX; anything else does not match the route (404)."""

    regex = r"[0-9]+"

    def __init__(self, map, fixed_digits=0, min=0, max=ID_MAX, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)

    def to_python(self, value):
        if len(value.lstrip("-")) > len(str(ID_MAX)):  # never turn thousands of digits into an int
            raise ValidationError()
        return super().to_python(value)


def db_int(value):
    """A query argument as an id: `request.args.get("district", type=db_int)`; None (the default) if not one."""
    value = (value or "").strip()
    if not value.isascii() or not value.isdigit() or len(value) > len(str(ID_MAX)):
        raise ValueError("not an id")
    number = int(value)
    if number > ID_MAX:
        raise ValueError("not an id")
    return number


def optional_db_int(value):
    """db_int, or None for anything that is not an id."""
    try:
        return db_int(value)
    except ValueError:
        return None


def page_number(args=None, name="page"):
    """The page asked for in the query string: 1 if missing or not a number, at most MAX_PAGE."""
    raw = ((args if args is not None else request.args).get(name) or "").strip()
    if not (raw.isascii() and raw.isdigit()):
        return 1
    return max(1, min(int(raw) if len(raw) <= 12 else MAX_PAGE, MAX_PAGE))


def _bad_field(multidict, pattern):
    for key, values in multidict.lists():
        if pattern.search(key):
            return "?"  # the name itself is garbage: do not echo it
        if any(isinstance(v, str) and pattern.search(v) for v in values):
            return key
    return None


def refuse_control_characters():
    """before_request: a 400 naming the field that carries a NUL or other control character."""
    if _QUERY_BAD.search(request.path):  # e.g. /c/<token> with a NUL: no such page
        return render_error(404)
    field = _bad_field(request.args, _QUERY_BAD)
    if field is None and request.method in ("POST", "PUT", "PATCH", "DELETE") and request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        field = _bad_field(request.form, _FORM_BAD)
        if field is None:
            for key, upload in request.files.items(multi=True):
                if _QUERY_BAD.search(key) or _QUERY_BAD.search(upload.filename or ""):
                    field = key if not _QUERY_BAD.search(key) else "?"
                    break
    if field is None:
        return None
    return render_error(400, _l("“%(field)s” contains a control character (such as a NUL byte) that cannot be "
                                "accepted. Remove it and try again.", field=field[:40]))


def register(app):
    """Before any blueprint adds its routes: the converter is chosen when a rule is added."""
    app.url_map.converters["int"] = DatabaseIntConverter
    app.before_request(refuse_control_characters)
