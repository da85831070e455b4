"""Plausible ranges for readings a patient or volunteer enters.

Anything outside is a typing mistake (or a broken device), not a reading, and is refused.
"""
TEMPERATURE_F_MIN = 93.0
TEMPERATURE_F_MAX = 108.0
SPO2_MIN = 50
SPO2_MAX = 100
AGE_MIN = 0
AGE_MAX = 120
