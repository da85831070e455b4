"""Why a call is first: the queue's order in words, weightiest first, never nothing."""
from datetime import datetime, timedelta

from callcenter.rules import priority
from callcenter.rules.why_first import CallFacts, reasons

NOW = datetime(2026, 12, 5, 9, 0)


def codes(**facts):
    base = dict(priority=priority.ROUTINE, reason="daily", attempts=0, due_at=NOW, open_emergency=False)
    return [code for code, _values in reasons(CallFacts(**{**base, **facts}), NOW)]


def test_each_reason():
    assert codes() == ["routine"]
    assert codes(open_emergency=True, priority=priority.EMERGENCY_FOLLOW_UP) == ["open_emergency"]
    assert codes(priority=priority.EMERGENCY_FOLLOW_UP) == ["emergency_follow_up"]  # (closed since the morning)
    assert codes(priority=priority.UNWELL_OR_UNREACHED) == ["unwell_or_unreached"]
    assert codes(reason="doctor_follow_up") == ["doctor_follow_up"]
    assert codes(priority=priority.HIGH_RISK, risk_factors=("over 60",)) == ["high_risk"]
    assert codes(callback_at=NOW) == ["callback"]
    assert codes(attempts=1) == ["tried"]
    assert codes(priority=priority.CHECKED_IN_OK) == ["checked_in_ok"]


def test_waiting_is_said_after_half_an_hour():
    assert codes(due_at=NOW - timedelta(minutes=30)) == ["routine"]
    assert codes(due_at=NOW - timedelta(minutes=31)) == ["waiting"]


def test_weightiest_first_and_values():
    facts = CallFacts(priority=priority.UNWELL_OR_UNREACHED, reason="counsellor_follow_up", attempts=2,
                      due_at=NOW - timedelta(hours=2), open_emergency=True, risk_factors=("over 60", "Diabetes"),
                      callback_at=NOW + timedelta(minutes=5))
    assert reasons(facts, NOW) == [
        ("open_emergency", {}), ("unwell_or_unreached", {}), ("counsellor_follow_up", {}),
        ("high_risk", {"factors": ("over 60", "Diabetes")}), ("callback", {"at": NOW + timedelta(minutes=5)}),
        ("tried", {"n": 2}), ("waiting", {"since": NOW - timedelta(hours=2)})]
