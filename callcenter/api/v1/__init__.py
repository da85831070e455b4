"""JSON API v1 over the same services the pages use, with its OpenAPI document at /api/v1/openapi.json."""
from flask_smorest import Api

from ...extensions import csrf


class SamparkApi(Api):
    def _register_error_handlers(self):
        """Errors are rendered by callcenter/errors.py for the whole app (JSON under /api/)."""


api = SamparkApi()


def init_api(app):
    api.init_app(app)
    from . import resources  # noqa: F401  (registers the blueprints)
    for bp in resources.BLUEPRINTS:
        csrf.exempt(bp)  # bearer tokens, not cookies: CSRF does not apply
        api.register_blueprint(bp, url_prefix=f"/api/v1{bp.url_prefix or ''}")
