from ..services.records import shown
from .views import bp

bp.after_app_request(shown.flush)  # every request that showed patients: one audit row naming them
