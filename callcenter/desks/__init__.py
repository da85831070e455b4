"""The desks blueprint (views.bp): escalation desks and reviews (views.py), the doctor's and counsellor's
referrals (referrals.py), field visits (field_visits.py) and free beds (beds.py), each adding routes to bp."""
from . import beds, field_visits, referrals, views  # noqa: F401
