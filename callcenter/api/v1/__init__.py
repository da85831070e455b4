"""JSON API v1 over the same services the pages use, with its OpenAPI document at /api/v1/openapi.json."""
from flask_smorest import Api

from ...extensions import csrf
from .schemas.common import ErrorSchema
from .security import register_scheme


class SamparkApi(Api):
    ERROR_SCHEMA = ErrorSchema  # the shape callcenter/errors.py renders, so the document tells the truth

    def _register_error_handlers(self):
        """Errors are rendered by callcenter/errors.py for the whole app (JSON under /api/)."""


api = SamparkApi()


def init_api(app):
    api.init_app(app)
    register_scheme(api)
    from . import resources  # noqa: F401  (registers the blueprints)
    for bp in resources.BLUEPRINTS:
        csrf.exempt(bp)  # bearer tokens, not cookies: CSRF does not apply
        api.register_blueprint(bp, url_prefix=f"/api/v1{bp.url_prefix or ''}")
