"""Entry point: `flask --app app …` and gunicorn "app:create_app()" both start here."""
from callcenter import create_app

__all__ = ["create_app"]
