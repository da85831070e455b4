"""Rules that live twice, once in Python for one person and once in SQL over the whole table, give the same
answer for the same people (the release rule), or are one definition used by both (high risk)."""
import itertools
from datetime import datetime, time, timedelta

from callcenter.clock import local_date, local_to_utc
from callcenter.extensions import db
from callcenter.models import DischargeReview
from callcenter.rules.isolation import ReleaseRule, due_for_release_review
from callcenter.rules.priority import high_risk, is_high_risk
from callcenter.rules.routing import Thresholds
from callcenter.services.desks import discharge

from ..factories import make_checkin, make_patient

RULE = ReleaseRule()  # the defaults the settings start from: 10 days, 3 fever-free days


def test_the_release_rule_in_sql_flags_exactly_whom_the_python_rule_names(district):
    day = local_date()
    expected = {}
    # Day zero a day before, on, and after the minimum; from symptom onset or, without symptoms, the sample;
    # no fever, a fever just before the fever-free window, on its first day, and today.
    fevers = [None, RULE.fever_free_days, RULE.fever_free_days - 1, 0]
    for n, (days_since, onset, fever_days_ago) in enumerate(itertools.product(
            (RULE.min_days - 1, RULE.min_days, RULE.min_days + 1), (True, False), fevers)):
        start = day - timedelta(days=days_since)
        patient = make_patient(district, name=f"Parity {n}", positive_date=start if not onset else start - timedelta(1),
                               symptom_onset_date=start if onset else None)
        last_fever = None
        if fever_days_ago is not None:
            last_fever = day - timedelta(days=fever_days_ago)
            make_checkin(patient, local_to_utc(datetime.combine(last_fever, time(9, 0))), temperature_f=101.5)
        expected[patient.id] = due_for_release_review(day, patient.symptom_onset_date, patient.positive_date,
                                                      last_fever, RULE)
    discharge.flag_release_reviews(day, now=local_to_utc(datetime.combine(day, time(12, 0))))
    flagged = set(db.session.scalars(db.select(DischargeReview.patient_id)))
    assert flagged == {pid for pid, due in expected.items() if due}
    assert 0 < len(flagged) < len(expected)  # both answers occur


def test_high_risk_is_one_definition_for_python_values_and_sql_columns():
    thresholds = Thresholds(high_risk_age=60)
    for age, comorbid in itertools.product((59, 60, 61), (False, True)):
        assert high_risk(age, comorbid, thresholds) == (age >= 60 or comorbid)
        assert is_high_risk(age, ["diabetes"] if comorbid else [], thresholds) == (age >= 60 or comorbid)
    from callcenter.models import Patient
    clause = high_risk(Patient.age, Patient.comorbidities != "", thresholds)
    assert str(clause.compile(compile_kwargs={"literal_binds": True})) == \
        "patient.age >= 60 OR patient.comorbidities != ''"
