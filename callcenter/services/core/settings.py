"""Administrator-editable settings over the defaults in config.SETTING_DEFAULTS."""
from flask import current_app, g
from flask_babel import lazy_gettext as _l

from ... import labels
from ...clock import utcnow
from ...extensions import db
from ...models import AppSetting
from ...rules.deadlines import DEFAULT_DEADLINE_MINUTES, MAX_DEADLINE_MINUTES, DeadlineRule
from ...rules.isolation import ReleaseRule
from ...rules.policy import DEFAULT_CALLS_PER_DAY, MAX_CALLS_PER_DAY, CallPolicy
from ...rules.routing import Thresholds
from . import audit
from .errors import Forbidden, Invalid
from .tx import transaction

LABELS = {
    "spo2_emergency_below": _l("Emergency when SpO2 is below (%)"),
    "fever_f": _l("Fever from (°F)"),
    "claim_timeout_minutes": _l("A claimed call returns to the queue after (minutes)"),
    "retry_interval_minutes": _l("Retry a failed call after (minutes)"),
    "max_attempts_per_day": _l("Failed attempts before a patient is unreachable for the day"),
    "emergency_ack_minutes": _l("Minutes to acknowledge an emergency"),
    "high_risk_age": _l("High risk from age"),
    "release_min_days": _l("Discharge review after (days from symptom onset or sample)"),
    "release_fever_free_days": _l("… with no fever for the last (days)"),
    "checkin_ok_deprioritises": _l("A patient who checks in fine is called last (1 = yes, 0 = no)"),
}
POLICY_KEY = "calls_per_day.{}.{}"  # setting, risk class: the daily-list policy grid
# Response deadlines (rules/deadlines.py): minutes to acknowledge, per escalation kind; the re-alert interval.
DEADLINE_KEY = "deadline_minutes.{}"
LABELS["realert_minutes"] = _l("Re-alert the duty officer every (minutes) while an overdue escalation waits")
LABELS.update({DEADLINE_KEY.format(kind): _l("Minutes to acknowledge: %(kind)s (0 = no deadline)",
                                             kind=labels.ESCALATION_KINDS.get(kind, kind))
               for kind in DEFAULT_DEADLINE_MINUTES})
BOUNDS = {
    "spo2_emergency_below": (80, 100),
    "fever_f": (98.0, 104.0),
    "claim_timeout_minutes": (1, 240),
    "retry_interval_minutes": (1, 600),
    "max_attempts_per_day": (1, 10),
    "emergency_ack_minutes": (1, 240),
    "high_risk_age": (30, 100),
    "release_min_days": (5, 30),
    "release_fever_free_days": (1, 7),
    "checkin_ok_deprioritises": (0, 1),
    **{POLICY_KEY.format(*cell): (0, MAX_CALLS_PER_DAY) for cell in DEFAULT_CALLS_PER_DAY},
    "realert_minutes": (1, 240),
    **{DEADLINE_KEY.format(kind): (0, MAX_DEADLINE_MINUTES) for kind in DEFAULT_DEADLINE_MINUTES},
}


def defaults():
    values = dict(current_app.config["SETTING_DEFAULTS"])
    for cell, calls in DEFAULT_CALLS_PER_DAY.items():
        values.setdefault(POLICY_KEY.format(*cell), calls)
    for kind, minutes in DEFAULT_DEADLINE_MINUTES.items():
        values.setdefault(DEADLINE_KEY.format(kind), minutes)
    return values


def all_settings():
    """Every setting's current value, cached for the request."""
    if "sampark_settings" not in g:
        values = dict(defaults())
        for row in db.session.scalars(db.select(AppSetting)):
            if row.key in values:
                values[row.key] = type(values[row.key])(row.value)
        g.sampark_settings = values
    return g.sampark_settings


def get(key):
    return all_settings()[key]


def thresholds():
    s = all_settings()
    return Thresholds(spo2_emergency_below=s["spo2_emergency_below"], fever_f=s["fever_f"],
                      high_risk_age=s["high_risk_age"])


def call_policy():
    s = all_settings()
    return CallPolicy({cell: s[POLICY_KEY.format(*cell)] for cell in DEFAULT_CALLS_PER_DAY})


def release_rule():
    s = all_settings()
    return ReleaseRule(min_days=s["release_min_days"], fever_free_days=s["release_fever_free_days"])


def deadline_rule():
    s = all_settings()
    return DeadlineRule({kind: s[DEADLINE_KEY.format(kind)] for kind in DEFAULT_DEADLINE_MINUTES},
                        emergency_minutes=s["emergency_ack_minutes"])


@transaction
def update(values, user, now=None):
    """Save changed settings; each change is audited with its old and new value. The settings hold for the
    whole state, so only a state-level user may change them."""
    if getattr(user, "district_id", None) is not None:
        raise Forbidden(_l("Only a state-level administrator changes the settings."))
    current = all_settings()
    errors = {}
    for key, value in values.items():
        if key not in current:
            errors[key] = _l("Unknown setting.")
            continue
        if value is None:
            errors[key] = _l("Enter a value.")
            continue
        low, high = BOUNDS[key]
        if not (low <= value <= high):
            errors[key] = _l("Must be between %(low)s and %(high)s.", low=low, high=high)
    if errors:
        raise Invalid(_l("Some settings are out of range."), errors)
    now = now or utcnow()
    for key, value in values.items():
        if value == current[key]:
            continue
        row = db.session.get(AppSetting, key) or AppSetting(key=key)
        row.value, row.updated_at, row.updated_by_id = str(value), now, user.id
        db.session.add(row)
        audit.record(user, "setting.update", "setting", key=key, old=current[key], new=value, now=now)
    g.pop("sampark_settings", None)
