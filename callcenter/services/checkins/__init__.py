"""Patients' check-ins: SMS and IVR in, the personal link, the daily schedule, templates."""
