"""The fake Exotel and the app served over HTTP, for every test here."""
from ..exotel_fixtures import exotel, served_app  # noqa: F401  (fixtures)
