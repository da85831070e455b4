"""The routing rules on their own: no app, no database."""
import pytest

from callcenter.rules.priority import is_high_risk
from callcenter.rules.routing import Desk, Routing, Severity, Thresholds, route, warning_signs

E, R = Severity.EMERGENCY, Severity.ROUTINE
CR, DOC, COU = Desk.CONTROL_ROOM, Desk.DOCTOR, Desk.COUNSELLOR


def simple(routings):
    return [(r.kind, r.desk, r.severity) for r in routings]


@pytest.mark.parametrize("needs, symptoms, spo2, expected", [
    # each emergency need goes to the control room as an emergency
    (["ambulance"], [], None, [("ambulance", CR, E)]),
    (["hospital_bed"], [], None, [("hospital_bed", CR, E)]),
    (["oxygen"], [], None, [("oxygen", CR, E)]),
    # clinical and psychological needs go to their desks, routine
    (["doctor"], [], None, [("doctor", DOC, R)]),
    (["counselling"], [], None, [("counselling", COU, R)]),
    # supplies go to the control room, routine
    (["medicine"], [], None, [("medicine", CR, R)]),
    (["food"], [], None, [("food", CR, R)]),
    (["test"], [], None, [("test", CR, R)]),
    (["other"], [], None, [("other", CR, R)]),
    # warning signs without an emergency need raise a warning-sign emergency
    ([], [], 93, [("warning_sign", CR, E)]),
    ([], ["breathlessness"], None, [("warning_sign", CR, E)]),
    ([], ["chest_pain"], None, [("warning_sign", CR, E)]),
    ([], ["confusion"], None, [("warning_sign", CR, E)]),
    # a warning sign with a doctor need: both, emergency first
    (["doctor"], [], 90, [("warning_sign", CR, E), ("doctor", DOC, R)]),
    # an ambulance need already covers the warning sign: no second emergency
    (["ambulance"], ["chest_pain"], 88, [("ambulance", CR, E)]),
    # well: nothing
    ([], ["cough", "fever"], 97, []),
    ([], [], None, []),
    # duplicates are folded
    (["medicine", "medicine"], [], None, [("medicine", CR, R)]),
])
def test_route(needs, symptoms, spo2, expected):
    assert simple(route(needs, symptoms, spo2)) == expected


def test_spo2_threshold_boundary_and_setting():
    assert warning_signs(spo2=94) == []                      # 94 is not below 94
    assert warning_signs(spo2=93) == [("spo2", 93)]
    revised = Thresholds(spo2_emergency_below=93)            # the 2022 revision
    assert warning_signs(spo2=93, thresholds=revised) == []
    assert warning_signs(spo2=92, thresholds=revised) == [("spo2", 92)]


def test_reasons_explain_the_emergency():
    [routing] = route(["ambulance"], ["chest_pain"], 88)
    assert routing == Routing("ambulance", CR, E, (("need", "ambulance"), ("spo2", 88), ("symptom", "chest_pain")))


def test_unknown_need_is_an_error():
    with pytest.raises(ValueError):
        route(["helicopter"])


@pytest.mark.parametrize("age, comorbidities, expected", [
    (59, [], False), (60, [], True), (30, ["diabetes"], True), (0, [], False)])
def test_high_risk(age, comorbidities, expected):
    assert is_high_risk(age, comorbidities) is expected


def test_high_risk_age_is_a_setting():
    assert is_high_risk(55, [], Thresholds(high_risk_age=50))


def test_bands_put_urgent_needs_with_emergencies_and_rations_apart():
    """The desk console's sections (issue 17): emergencies and urgent needs apart from routine ones."""
    from callcenter.rules.routing import band, group
    assert band("medicine", "emergency") == "emergency" and group("medicine", "emergency") == "urgent"
    assert band("oxygen", "routine") == "urgent" and group("oxygen", "routine") == "urgent"
    assert band("warning_sign", "routine") == "urgent"
    for kind in ("food", "medicine", "test", "other", "field_visit", "phone_check", "doctor", "counselling"):
        assert band(kind, "routine") == "routine" and group(kind, "routine") == "routine", kind
