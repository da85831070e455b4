"""The values an administrator can adjust, each declared once: its default, its bounds, its label and help.

Guidelines changed several times during the pandemic, so every threshold is a setting. From this list come
the rules' own defaults (Thresholds, ReleaseRule, the emergency deadline), config.SETTING_DEFAULTS (where an
environment variable of the key's name in capitals replaces the default), the settings service's bounds and
the settings page's fields. The daily-list grid and the per-kind deadlines are declared beside their rules
(rules/policy.py, rules/deadlines.py) and joined to these in services/core/settings.py.
"""
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Adjustable:
    key: str
    default: int | float
    low: int | float
    high: int | float
    label: object
    kind: type = int   # int, float, or bool (kept as 1 / 0)
    help: object = None
    below_low: object = None  # the message refusing a value below `low`, where the law sets the floor

    def from_environment(self, environ):
        raw = environ.get(self.key.upper())
        if raw is None:
            return self.default
        value = float(raw) if self.kind is float else int(raw)
        if self.below_low is not None and value < self.low:
            raise ValueError(f"{self.key.upper()}={raw}: {self.below_low}")  # refused at start, not lowered
        return value


SETTINGS = (
    Adjustable("spo2_emergency_below", 94, 80, 100, _l("Emergency when SpO2 is below (%)")),
    Adjustable("fever_f", 100.0, 98.0, 104.0, _l("Fever from (°F)"), kind=float),
    Adjustable("claim_timeout_minutes", 15, 1, 240, _l("A claimed call returns to the queue after (minutes)")),
    Adjustable("retry_interval_minutes", 30, 1, 600, _l("Retry a failed call after (minutes)")),
    Adjustable("max_attempts_per_day", 3, 1, 10, _l("Failed attempts before a patient is unreachable for the day")),
    # The longest any emergency waits to be acknowledged; each kind's own deadline may be shorter.
    Adjustable("emergency_ack_minutes", 15, 1, 240, _l("Minutes to acknowledge an emergency")),
    Adjustable("high_risk_age", 60, 30, 100, _l("High risk from age")),
    # The release rule: who is flagged each morning for a discharge review (rules/isolation.py).
    Adjustable("release_min_days", 10, 5, 30, _l("Discharge review after (days from symptom onset or sample)")),
    Adjustable("release_fever_free_days", 3, 1, 7, _l("… with no fever for the last (days)")),
    Adjustable("checkin_ok_deprioritises", 1, 0, 1, _l("Call patients who checked in fine after everyone else"),
               kind=bool, help=_l(
                   "When a patient's SMS, link or IVR check-in says they feel fine, with no symptom or need, and any "
                   "SpO2 or temperature they gave is within the limits above, their call today moves to the bottom "
                   "of the queue, so volunteers reach the others first. They are still called. Patients who share a "
                   "phone with their household are not moved.")),
    # While an overdue escalation is still unacknowledged, the district's duty officer is re-alerted this often.
    Adjustable("realert_minutes", 10, 1, 240,
               _l("Re-alert the duty officer every (minutes) while an overdue escalation waits")),
    # Retention (jobs/retention.py): what is past it is anonymised or deleted each night, and cannot come back.
    Adjustable("retention_days", 180, 30, 3650, _l("Anonymise a patient this many days after follow-up ended"),
               help=_l("Each night, patients whose follow-up ended longer ago than this lose their name, phone "
                       "numbers, address, ABHA number, lab ID and every note written about them; their figures "
                       "stay in the dashboard. SMS, replies and imported rows older than this are deleted.")),
)
# DPDP Rules: access logs are kept at least a year. Nothing deletes audit rows younger than this (on
# PostgreSQL the audit_log trigger reads it too: models/audit.py).
AUDIT_RETENTION = Adjustable(
    "audit_retention_days", 365, 365, 3650, _l("Keep audit records for (days)"),
    help=_l("Who saw or changed a patient's record is kept at least this long; never less than 365 days."),
    below_low=_l("Audit records are kept at least 365 days (India's data-protection rules): a lower value is "
                 "refused."))
SETTINGS = (*SETTINGS, AUDIT_RETENTION)
BY_KEY = {setting.key: setting for setting in SETTINGS}
DEFAULTS = {setting.key: setting.default for setting in SETTINGS}
