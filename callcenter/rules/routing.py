"""Which desk acts on what a patient reported, and how urgently.

One function, `route`, decides for calls and check-ins alike.
"""
import enum
from dataclasses import dataclass

from .adjustable import DEFAULTS


class NeedKind(enum.StrEnum):
    MEDICINE = "medicine"
    DOCTOR = "doctor"
    AMBULANCE = "ambulance"
    HOSPITAL_BED = "hospital_bed"
    OXYGEN = "oxygen"
    COUNSELLING = "counselling"
    FOOD = "food"
    TEST = "test"
    OTHER = "other"


class Symptom(enum.StrEnum):
    FEVER = "fever"
    COUGH = "cough"
    BREATHLESSNESS = "breathlessness"
    CHEST_PAIN = "chest_pain"
    CONFUSION = "confusion"
    LOSS_OF_TASTE_SMELL = "loss_of_taste_smell"
    FATIGUE = "fatigue"
    BODY_ACHE = "body_ache"
    DIARRHOEA = "diarrhoea"


class Desk(enum.StrEnum):
    CONTROL_ROOM = "control_room"
    DOCTOR = "doctor"
    COUNSELLOR = "counsellor"


class Severity(enum.StrEnum):
    EMERGENCY = "emergency"
    ROUTINE = "routine"


# Ministry of Health home-isolation guidance: seek immediate care for these.
WARNING_SYMPTOMS = frozenset({Symptom.BREATHLESSNESS, Symptom.CHEST_PAIN, Symptom.CONFUSION})
EMERGENCY_NEEDS = frozenset({NeedKind.AMBULANCE, NeedKind.HOSPITAL_BED, NeedKind.OXYGEN})
# What a patient needed at home and no longer does once admitted to a hospital or care centre (which gives
# medicines, food and tests, and where nobody visits their home): admission closes these, with the reason.
# Every other open escalation (doctor, counselling, ambulance, bed, oxygen, warning signs …) stays open,
# flagged for its desk to check whether it is still needed.
HOME_ONLY_KINDS = frozenset({NeedKind.MEDICINE, NeedKind.FOOD, NeedKind.TEST, "field_visit"})
NEED_DESK = {
    NeedKind.AMBULANCE: Desk.CONTROL_ROOM,
    NeedKind.HOSPITAL_BED: Desk.CONTROL_ROOM,
    NeedKind.OXYGEN: Desk.CONTROL_ROOM,
    NeedKind.DOCTOR: Desk.DOCTOR,
    NeedKind.COUNSELLING: Desk.COUNSELLOR,
    NeedKind.MEDICINE: Desk.CONTROL_ROOM,
    NeedKind.FOOD: Desk.CONTROL_ROOM,
    NeedKind.TEST: Desk.CONTROL_ROOM,
    NeedKind.OTHER: Desk.CONTROL_ROOM,
}
WARNING_SIGN = "warning_sign"  # the escalation kind raised for a warning sign without an explicit need

# The desk console's two sections: emergencies and urgent needs (an ambulance, a bed, oxygen, warning signs:
# urgent by nature even when raised as routine) apart from routine needs (food, medicine, a test, a field
# visit, a phone check …), so a ration request never sits among the emergencies.
URGENT_KINDS = frozenset({str(k) for k in EMERGENCY_NEEDS} | {WARNING_SIGN})
BANDS = ("emergency", "urgent", "routine")


def band(kind, severity):
    """An escalation's band on the desk console: "emergency", "urgent" or "routine"."""
    if severity == Severity.EMERGENCY:
        return "emergency"
    return "urgent" if kind in URGENT_KINDS else "routine"


def group(kind, severity):
    """The console section it sits in: "urgent" (emergencies and urgent needs) or "routine"."""
    return "routine" if band(kind, severity) == "routine" else "urgent"


@dataclass(frozen=True)
class Thresholds:
    spo2_emergency_below: int = DEFAULTS["spo2_emergency_below"]
    fever_f: float = DEFAULTS["fever_f"]
    high_risk_age: int = DEFAULTS["high_risk_age"]


@dataclass(frozen=True)
class Routing:
    kind: str       # a NeedKind value, or WARNING_SIGN
    desk: Desk
    severity: Severity
    reasons: tuple  # machine-readable: ("spo2", 91), ("symptom", "chest_pain"), ("need", "ambulance")


def spo2_too_low(spo2, thresholds=Thresholds()):
    """The SpO2 rule, once, for a reading (not None) and for a SQL column alike (the daily list's SQL)."""
    return spo2 < thresholds.spo2_emergency_below


def warning_signs(symptoms=(), spo2=None, thresholds=Thresholds()):
    """The reasons (if any) that make this report a medical emergency."""
    reasons = []
    if spo2 is not None and spo2_too_low(spo2, thresholds):
        reasons.append(("spo2", spo2))
    for s in sorted(set(symptoms) & WARNING_SYMPTOMS):
        reasons.append(("symptom", str(s)))
    return reasons


def route(needs=(), symptoms=(), spo2=None, thresholds=Thresholds()):
    """Turn a report into the escalations it calls for, emergencies first.

    A warning sign makes every control-room need an emergency and, if the patient asked for
    none of ambulance/bed/oxygen, raises a `warning_sign` emergency of its own.
    """
    needs = [NeedKind(n) for n in dict.fromkeys(needs)]  # de-duplicated, order kept
    danger = warning_signs(symptoms, spo2, thresholds)
    routings = []
    for need in needs:
        emergency = need in EMERGENCY_NEEDS
        reasons = [("need", str(need))]
        if emergency:
            reasons += danger
        routings.append(Routing(str(need), NEED_DESK[need],
                                Severity.EMERGENCY if emergency else Severity.ROUTINE, tuple(reasons)))
    if danger and not any(n in EMERGENCY_NEEDS for n in needs):
        routings.append(Routing(WARNING_SIGN, Desk.CONTROL_ROOM, Severity.EMERGENCY, tuple(danger)))
    routings.sort(key=lambda r: r.severity != Severity.EMERGENCY)
    return routings

