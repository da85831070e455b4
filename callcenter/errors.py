"""Error pages for people, JSON for the API."""
from flask import jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

MESSAGES = {
    400: _l("The request could not be understood."),
    403: _l("You do not have access to this page."),
    404: _l("Page not found."),
    405: _l("That action is not allowed here."),
    409: _l("Someone else changed this a moment ago. Reload and try again."),
    429: _l("Too many requests; wait a moment."),
    500: _l("Something went wrong on our side. Nothing you entered was lost; please try again."),
}


def wants_json():
    return request.path.startswith("/api/")


def render_error(code, message=None, errors=None):
    message = str(message or MESSAGES.get(code, MESSAGES[500]))
    if wants_json():
        body = {"code": code, "message": message}
        if errors:
            body["errors"] = {k: str(v) for k, v in errors.items()}
        return jsonify(body), code
    return render_template("error.html", code=code, message=message), code


def register(app):
    from .services.errors import ServiceError

    @app.errorhandler(HTTPException)
    def http_error(exc):
        # webargs/flask-smorest put field messages in exc.data["messages"]
        data = getattr(exc, "data", None) or {}
        errors = data.get("messages", {}).get("json") if isinstance(data.get("messages"), dict) else None
        return render_error(exc.code, MESSAGES.get(exc.code, exc.description), errors)

    @app.errorhandler(ServiceError)
    def service_error(exc):
        return render_error(exc.status, exc.message, exc.errors)

    @app.errorhandler(Exception)
    def unexpected(exc):
        app.logger.exception("unhandled error")
        return render_error(500)
