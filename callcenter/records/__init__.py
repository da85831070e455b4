from ..services.records import shown
from . import phones  # noqa: F401  (adds the "show number" route to the blueprint)
from .views import bp

bp.after_app_request(shown.flush)  # every request that showed patients: one audit row naming them
