"""The API's Blueprint: flask-smorest's, with a request parser that answers 400 for every unreadable body."""
import json

import flask_smorest
from webargs.flaskparser import FlaskParser


class ApiParser(FlaskParser):
    """webargs turns a JSON syntax error into 400; json.loads fails in two more ways that were 500s: a body
    nested deeper than Python's stack (RecursionError) and a number longer than int() reads (ValueError)."""

    def _raw_load_json(self, req):
        try:
            return super()._raw_load_json(req)
        except json.JSONDecodeError:
            raise
        except (RecursionError, ValueError) as exc:
            unreadable = json.JSONDecodeError(type(exc).__name__, "(body)", 0)
            return self._handle_invalid_json_error(unreadable, req)


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = ApiParser()
