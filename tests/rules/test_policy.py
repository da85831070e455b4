"""Call frequency, queue priority and the release rule, on their own."""
from datetime import date

import pytest

from callcenter.rules import priority
from callcenter.rules.isolation import ReleaseRule, due_for_release_review
from callcenter.rules.policy import CallPolicy, PatientDay, calls_today, risk_class, task_priority


@pytest.mark.parametrize("setting, high_risk, warning, expected", [
    ("home", False, False, 1),
    ("home", True, False, 2),       # over 60 or comorbid at home: twice a day
    ("home", False, True, 2),       # a warning sign yesterday: twice a day
    ("ccc", True, False, 1),
    ("hospital", True, True, 1),
])
def test_default_calls_per_day(setting, high_risk, warning, expected):
    assert calls_today(PatientDay(setting, high_risk, warning_yesterday=warning)) == expected


def test_policy_is_data_an_administrator_can_change():
    policy = CallPolicy({**CallPolicy().calls_per_day, ("ccc", "high"): 2})
    assert calls_today(PatientDay("ccc", True), policy) == 2


def test_risk_class_warning_wins():
    assert risk_class(True, True) == "warning" and risk_class(True, False) == "high"
    assert risk_class(False, False) == "normal"


@pytest.mark.parametrize("flags, expected", [
    ({"open_emergency": True, "unwell_or_unreached_yesterday": True, "high_risk": True},
     priority.EMERGENCY_FOLLOW_UP),
    ({"unwell_or_unreached_yesterday": True, "high_risk": True}, priority.UNWELL_OR_UNREACHED),
    ({"high_risk": True}, priority.HIGH_RISK),
    ({}, priority.ROUTINE),
])
def test_priority_order(flags, expected):
    day = PatientDay("home", flags.pop("high_risk", False), **flags)
    assert task_priority(day) == expected


D = date(2021, 5, 20)


@pytest.mark.parametrize("onset, positive, last_fever, expected", [
    (date(2021, 5, 10), date(2021, 5, 11), None, True),              # day 10 from onset: due
    (date(2021, 5, 11), date(2021, 5, 11), None, False),             # day 9: not yet
    (None, date(2021, 5, 10), None, True),                           # no symptoms: from the sample date
    (None, date(2021, 5, 11), None, False),
    (date(2021, 5, 1), None, date(2021, 5, 18), False),              # fever 2 days ago
    (date(2021, 5, 1), None, date(2021, 5, 17), True),               # last fever 3 days ago: 3 fever-free days
    (date(2021, 5, 1), None, date(2021, 5, 20), False),              # fever today
])
def test_release_rule_boundaries(onset, positive, last_fever, expected):
    assert due_for_release_review(D, onset, positive, last_fever) is expected


def test_release_rule_2022_revision():
    rule = ReleaseRule(min_days=7)
    assert due_for_release_review(D, None, date(2021, 5, 13), None, rule)
    assert not due_for_release_review(D, None, date(2021, 5, 14), None, rule)
