"""Administrator-editable settings: the values saved under *Settings* over the declared defaults."""
import time

from flask import current_app, g
from flask_babel import lazy_gettext as _l
from sqlalchemy import event
from sqlalchemy.orm import Session

from ... import labels
from ...clock import utcnow
from ...extensions import db
from ...models import AppSetting
from ...rules.adjustable import SETTINGS as ADJUSTABLE
from ...rules.adjustable import Adjustable
from ...rules.deadlines import DEFAULT_DEADLINE_MINUTES, MAX_DEADLINE_MINUTES, DeadlineRule
from ...rules.isolation import ReleaseRule
from ...rules.policy import DEFAULT_CALLS_PER_DAY, MAX_CALLS_PER_DAY, CallPolicy
from ...rules.routing import Thresholds
from . import audit
from .errors import Forbidden, Invalid
from .tx import transaction

POLICY_KEY = "calls_per_day.{}.{}"  # setting, risk class: the daily-list policy grid
# Response deadlines (rules/deadlines.py): minutes to acknowledge, per escalation kind.
DEADLINE_KEY = "deadline_minutes.{}"
# Every setting: the administrator's own (rules/adjustable.py), then the grid and the deadlines, declared
# beside their rules. The settings page shows all but the grid.
SETTINGS = (
    *ADJUSTABLE,
    *(Adjustable(POLICY_KEY.format(*cell), calls, 0, MAX_CALLS_PER_DAY, None)  # not on the page
      for cell, calls in DEFAULT_CALLS_PER_DAY.items()),
    *(Adjustable(DEADLINE_KEY.format(kind), minutes, 0, MAX_DEADLINE_MINUTES,
                 _l("Minutes to acknowledge: %(kind)s (0 = no deadline)", kind=labels.ESCALATION_KINDS.get(kind, kind)))
      for kind, minutes in DEFAULT_DEADLINE_MINUTES.items()),
)
ON_PAGE = tuple(s for s in SETTINGS if not s.key.startswith(POLICY_KEY.split("{")[0]))
BOUNDS = {s.key: (s.low, s.high) for s in SETTINGS}
BELOW_LOW = {s.key: s.below_low for s in SETTINGS}


def defaults():
    """Each setting's default: the deployment's (config.SETTING_DEFAULTS, from the environment), else declared."""
    return {**{s.key: s.default for s in SETTINGS}, **current_app.config["SETTING_DEFAULTS"]}


CACHE = "sampark.settings"  # app.extensions: (read at, monotonic seconds; {key: saved value}) of this process


def all_settings():
    """Every setting's current value, cached for the request (and the saved values for the process, for
    SETTINGS_CACHE_SECONDS)."""
    if "sampark_settings" not in g:
        values = dict(defaults())
        for key, value in _saved().items():
            if key in values:
                values[key] = type(values[key])(value)
        g.sampark_settings = values
    return g.sampark_settings


def _saved():
    seconds = current_app.config["SETTINGS_CACHE_SECONDS"]
    cached = current_app.extensions.get(CACHE)
    if cached is not None and time.monotonic() - cached[0] < seconds:
        return cached[1]
    read_at = time.monotonic()
    saved = dict(db.session.execute(db.select(AppSetting.key, AppSetting.value)).all())
    current_app.extensions[CACHE] = (read_at, saved)
    return saved


CHANGED = "sampark.settings_changed"  # session.info: forget the cache again once the change is committed


@event.listens_for(Session, "after_commit")
def _forget_committed(session):
    if session.info.pop(CHANGED, False):
        forget()  # (another thread of this process may have read the old values meanwhile)


def forget():
    """Read the settings again on the next use (after a change, or when the tables are emptied)."""
    current_app.extensions.pop(CACHE, None)
    g.pop("sampark_settings", None)


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
    forget()  # compare with what is saved now, not with what this process read a few seconds ago
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
        if value < low and BELOW_LOW.get(key) is not None:
            errors[key] = BELOW_LOW[key]
        elif not (low <= value <= high):
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
    forget()
    db.session.info[CHANGED] = True
