"""Error pages for people, JSON for the API."""
from flask import current_app, g, has_request_context, jsonify, render_template, request
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

MESSAGES = {
    400: _l("The request could not be understood."),
    401: _l("Sign in first."),
    403: _l("You do not have access to this page."),
    404: _l("Page not found."),
    405: _l("That action is not allowed here."),
    409: _l("Someone else changed this a moment ago. Reload and try again."),
    422: _l("Please correct the marked fields."),
    429: _l("Too many requests; wait a moment."),
    500: _l("Something went wrong on our side. Nothing you entered was lost; please try again."),
}
# A failure after this request committed (the database lost a moment later, a page that could not be drawn):
# what was entered is kept, and entering it again would record it twice.
SAVED_THEN_FAILED = _l("What you entered was saved. The next step failed (the system may be briefly down): do not "
                       "enter it again; reload in a minute to see it.")


def too_large_message():
    """413: what was sent is over MAX_CONTENT_LENGTH; people are told the line-list limit they can act on."""
    limit = current_app.config.get("IMPORT_MAX_BYTES") or current_app.config.get("MAX_CONTENT_LENGTH") or 0
    return _l("The file is too large: files up to %(mb)s MB can be uploaded. Split the line list into smaller "
              "files and upload them one by one.", mb=f"{limit / (1024 * 1024):.1f}".removesuffix(".0"))


def wants_json():
    return request.path.startswith("/api/")


def readable(value):
    """A field's message(s) as one string: webargs gives lists, and dicts for nested fields."""
    if isinstance(value, dict):
        return "; ".join(f"{k}: {readable(v)}" if k != "_schema" else readable(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "; ".join(readable(v) for v in value)
    return str(value)


def render_error(code, message=None, errors=None, headers=None):
    message = str(message or MESSAGES.get(code, MESSAGES[500]))
    if wants_json():
        body = {"code": code, "message": message}
        if errors:
            body["errors"] = {str(k): readable(v) for k, v in errors.items()}
        return jsonify(body), code, headers or {}
    return render_template("error.html", code=code, message=message), code, headers or {}


def field_messages(data):
    """webargs/flask-smorest put parse errors in data["messages"] by location ({"json": {...}, "query": {...}});
    one flat field → message dict, or a body-level message (e.g. malformed JSON) under "_body"."""
    errors = {}
    for location, messages in (data.get("messages") or {}).items():
        if isinstance(messages, dict):
            errors.update({"_body" if k == "_schema" else k: v for k, v in messages.items()})
        else:
            errors["_body" if location == "json" else location] = messages
    return errors


@event.listens_for(Session, "after_commit")
def _note_commit(session):
    if has_request_context() and request.method != "GET":  # a GET's commits are view logs, not entries
        g.committed_entry = True


def _plain_error(code, message, saved):
    """The error answer drawn without the database or the page layout (both may be what failed)."""
    try:
        text = str(message)
    except Exception:  # the language choice reads the signed-in user: the English text, then
        with force_locale("en"):
            text = str(message)
    if wants_json():
        return jsonify({"code": code, "message": text, "saved": saved}), code
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>{code}</title></head>'
            f"<body><h1>{code}</h1><p>{escape(text)}</p><p><a href=\"/\">Sampark</a></p></body></html>", code)


def register(app):
    from .extensions import db
    from .services.core.errors import ServiceError

    @app.errorhandler(HTTPException)
    def http_error(exc):
        data = getattr(exc, "data", None) or {}
        # Keep protocol headers the exception carries (Allow on 405, WWW-Authenticate on 401).
        headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
        headers.update(data.get("headers") or {})
        message = data.get("message") or MESSAGES.get(exc.code, exc.description)
        if exc.code == 413:
            message = too_large_message()
        return render_error(exc.code, message, field_messages(data), headers)

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return render_error(400, _l("This form has expired. Go back, reload the page and try again."))

    @app.errorhandler(ServiceError)
    def service_error(exc):
        return render_error(exc.status, exc.message, exc.errors)

    @app.errorhandler(Exception)
    def unexpected(exc):
        app.logger.exception("unhandled error")
        saved = bool(g.get("committed_entry"))
        message = SAVED_THEN_FAILED if saved else MESSAGES[500]
        try:
            db.session.rollback()
            if wants_json():
                return jsonify({"code": 500, "message": str(message), "saved": saved}), 500
            return render_error(500, message)
        except Exception:  # the page itself needs the database (the signed-in user, the menu)
            app.logger.warning("error page drawn plain: the database did not answer")
            return _plain_error(500, message, saved)
