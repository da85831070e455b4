"""People-facing names for stored codes, in the reader's language."""
from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice

SETTINGS = {"hospital": _l("COVID hospital"), "ccc": _l("COVID care centre"), "home": _l("Home isolation")}
SEXES = {"female": _l("Female"), "male": _l("Male"), "other": _l("Other")}
ROLES = {
    "volunteer": _l("Volunteer"), "control_room": _l("Control room"), "doctor": _l("Doctor"),
    "counsellor": _l("Counsellor"), "nodal_officer": _l("Nodal officer"), "admin": _l("Administrator"),
}
OUTCOMES = {
    "connected": _l("Connected"), "no_answer": _l("No answer"), "busy": _l("Busy"),
    "switched_off": _l("Switched off / not reachable"), "wrong_number": _l("Wrong number"),
    "call_back_later": _l("Call back later"),
}
NEEDS = {
    "medicine": _l("Medicine"), "doctor": _l("Doctor's advice"), "ambulance": _l("Ambulance"),
    "hospital_bed": _l("Hospital bed"), "oxygen": _l("Oxygen"), "counselling": _l("Counselling"),
    "food": _l("Food / ration"), "test": _l("Test"), "other": _l("Other"),
}
ESCALATION_KINDS = dict(NEEDS, warning_sign=_l("Warning sign"), field_visit=_l("Field visit"),
                        phone_check=_l("Check phone number"))
SYMPTOMS = {
    "fever": _l("Fever"), "cough": _l("Cough"), "breathlessness": _l("Difficulty in breathing"),
    "chest_pain": _l("Chest pain or pressure"), "confusion": _l("Confusion / hard to wake"),
    "loss_of_taste_smell": _l("Loss of taste or smell"), "fatigue": _l("Tiredness"),
    "body_ache": _l("Body ache"), "diarrhoea": _l("Diarrhoea"),
}
COMORBIDITIES = {
    "hypertension": _l("Hypertension"), "diabetes": _l("Diabetes"), "heart": _l("Heart disease"),
    "lung": _l("Lung disease"), "liver": _l("Liver disease"), "kidney": _l("Kidney disease"),
    "cerebrovascular": _l("Cerebro-vascular disease"),
}
TASK_STATUSES = {
    "pending": _l("Waiting"), "claimed": _l("On a call"), "done": _l("Done"),
    "unreachable": _l("Unreachable"), "missed": _l("Missed"), "cancelled": _l("Cancelled"),
}
ESCALATION_STATUSES = {
    "open": _l("Open"), "acknowledged": _l("Acknowledged"), "in_progress": _l("In progress"),
    "resolved": _l("Resolved"), "cancelled": _l("Cancelled"),
}
SEVERITIES = {"emergency": _l("Emergency"), "routine": _l("Routine")}
DESKS = {"control_room": _l("Control room"), "doctor": _l("Doctor on duty"), "counsellor": _l("Counsellor")}
PATIENT_STATUSES = {"active": _l("Active"), "recovered": _l("Recovered / discharged"), "died": _l("Died"),
                    "moved_out": _l("Moved out of district")}
LANGUAGES = {"hi": "हिन्दी", "en": "English"}
JOBS = {"daily_call_list": _l("Daily call list"), "release_reviews": _l("Discharge reviews")}
JOB_TRIGGERS = {"scheduled": _l("on schedule"), "catch_up": _l("catch-up after a restart"), "manual": _l("run now"),
                "cli": _l("from the shell")}
RUN_STATUSES = {"running": _l("Running"), "succeeded": _l("Succeeded"), "failed": _l("Failed")}
CHANNELS = {"sms": _l("SMS"), "ivr": _l("phone (IVR)"), "web": _l("link"), "call": _l("call")}
FACILITY_KINDS = {"hospital": _l("COVID hospital"), "ccc": _l("COVID care centre")}


def reason_text(reason):
    """One machine reason of an escalation, e.g. ["spo2", 91], as a phrase."""
    key, value = reason[0], reason[1]
    if key == "spo2":
        return _l("SpO2 %(value)s%%", value=value)
    if key == "symptom":
        return SYMPTOMS.get(value, value)
    if key == "need":
        return NEEDS.get(value, value)
    if key == "attempts":
        return _l("No answer after %(n)s attempts", n=value)
    return f"{key}: {value}"


def choices(mapping):
    """WTForms choices from a label mapping (or any iterable of (value, label) pairs)."""
    pairs = mapping.items() if isinstance(mapping, dict) else mapping
    return [SelectChoice(value, label) for value, label in pairs]
