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
# The desk console's bands (rules/routing.band): an urgent need raised as routine shows "Urgent".
BANDS = {"emergency": _l("Emergency"), "urgent": _l("Urgent"), "routine": _l("Routine")}
# What came of a resolved escalation (services/escalations.OUTCOMES) and what was sent (services/desks/dispatch.py).
ESCALATION_OUTCOMES = {
    "admitted": _l("Admitted to a hospital or care centre"), "delivered": _l("Delivered"),
    "advice_given": _l("Advice or counselling given"), "managed_at_home": _l("Managed at home"),
    "referred": _l("Referred elsewhere"), "met_well": _l("Visited: the patient is well"),
    "not_needed": _l("No longer needed"), "refused": _l("The patient refused"),
    "not_reachable": _l("Could not reach the patient"), "died": _l("The patient died"), "other": _l("Other"),
}
DISPATCH_KINDS = {"ambulance": _l("Ambulance"), "delivery": _l("Delivery (medicine, oxygen, food)"),
                  "other": _l("Other help")}
DESKS = {"control_room": _l("Control room"), "doctor": _l("Doctor on duty"), "counsellor": _l("Counsellor")}
PATIENT_STATUSES = {"active": _l("Active"), "recovered": _l("Recovered / discharged"), "died": _l("Died"),
                    "moved_out": _l("Moved out of district")}
LANGUAGES = {"hi": "हिन्दी", "en": "English"}
JOBS = {"daily_call_list": _l("Daily call list"), "release_reviews": _l("Discharge reviews"),
        "checkins_enqueue": _l("Check-in messages"), "outbox_sender": _l("Outbox sender"),
        "import_queue": _l("Background imports"), "dashboard_snapshots": _l("Dashboard figures")}
JOB_TRIGGERS = {"scheduled": _l("on schedule"), "catch_up": _l("catch-up (missed, or taken over)"),
                "manual": _l("run now"), "cli": _l("from the shell")}
RUN_STATUSES = {"running": _l("Running"), "succeeded": _l("Succeeded"), "failed": _l("Failed"),
                "stopped": _l("Stopped: its process ended")}
RUN_ERRORS = {"stopped": _l("The process running it stopped before it finished; nothing it had not saved was kept. "
                            "The daily jobs are taken over by the scheduler; run others again.")}
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
    if key == "desk":
        return _l("Sent by the %(desk)s", desk=DESKS.get(value, value))
    if key == "field_visit":
        return _l("Field visit: %(result)s", result=FIELD_VISIT_RESULTS.get(value, value))
    if key == "admitted":
        return _l("Admitted to %(place)s since: still needed?", place=value)
    return f"{key}: {value}"


def choices(mapping):
    """WTForms choices from a label mapping (or any iterable of (value, label) pairs)."""
    pairs = mapping.items() if isinstance(mapping, dict) else mapping
    return [SelectChoice(value, label) for value, label in pairs]
CONTACT_ROLES = {"sarpanch": _l("Sarpanch"), "ward_member": _l("Ward member"), "secretary": _l("Panchayat secretary"),
                 "health_worker": _l("Health worker"), "other": _l("Other")}
EXPORT_COLUMNS = {  # headings of the dashboard's lists and exports
    "id": _l("No."), "task_date": _l("Day"), "slot": _l("Slot"), "patient_id": _l("Patient no."), "name": _l("Name"),
    "phone": _l("Phone"), "setting": _l("Setting"), "district": _l("District"), "block": _l("Block"),
    "village": _l("Village"), "facility": _l("Facility"), "status": _l("Status"), "attempts": _l("Attempts"),
    "last_outcome": _l("Last outcome"), "due_at": _l("Due"), "claimed_by": _l("On a call with"), "age": _l("Age"),
    "sex": _l("Sex"), "positive_date": _l("Positive on"), "created_at": _l("Recorded"), "ended_at": _l("Ended"),
    "kind": _l("Type"), "desk": _l("Desk"), "severity": _l("Severity"), "respond_by": _l("Respond by"),
    "acknowledged_at": _l("Acknowledged"), "closed_at": _l("Closed"), "at": _l("Received"), "channel": _l("Channel"),
    "feeling_ok": _l("Feeling OK"), "temperature_f": _l("Temperature (°F)"), "spo2": _l("SpO2 (%)"),
    "symptoms": _l("Symptoms"), "outcome": _l("Outcome"), "volunteer": _l("Volunteer"),
}

# The outbox (callcenter/services/outbox/)
JOBS.update(checkins_enqueue=_l("Daily check-ins"), outbox_sender=_l("Send SMS and IVR calls"))
OUTBOX_STATUSES = {
    "queued": _l("Waiting to send"), "sending": _l("Sending"), "sent": _l("Sent"), "delivered": _l("Delivered"),
    "failed": _l("Failed"), "unknown": _l("Outcome unknown"), "cancelled": _l("Not sent"),
}
MESSAGE_KINDS = {"sms": _l("SMS"), "call": _l("IVR call")}
MESSAGE_TEMPLATES = {"checkin_link": _l("Check-in link"), "checkin_reply": _l("Check-in by reply"),
                     "checkin_ivr": _l("Check-in call"), "help_ambulance": _l("Ambulance on its way"),
                     "help_delivery": _l("Help on its way")}
# The patient record's timeline (records/_timeline.html).
IMPORT_ROW_ACTIONS = {"added": _l("added"), "updated": _l("updated")}
# What an import changed, as "age 36 → 37" (services/records/records.py import_changes).
PATIENT_FIELDS = {
    "age": _l("age"), "sex": _l("sex"), "phone": _l("mobile"), "phone_invalid": _l("marked as a wrong number"),
    "attendant_phone": _l("attendant's mobile"), "address": _l("address"), "village_id": _l("village / ward"),
    "abha_number": _l("ABHA number"), "language": _l("language"), "lab_id": _l("lab / SRF ID"),
    "symptom_onset_date": _l("symptoms started on"), "comorbidities": _l("comorbidities"), "setting": _l("setting"),
    "facility_id": _l("hospital / care centre"), "isolation_start_date": _l("isolation started on"),
}
REVIEW_DECISIONS = {"discharged": _l("discharged"), "continued": _l("isolation continues"),
                    "closed": _l("closed: the follow-up ended")}
HOUSEHOLD_LEAVE_REASONS = {"removed": _l("taken out"), "transferred": _l("moved to another setting"),
                           "dissolved": _l("the household was dissolved")}
# Inbound check-ins (callcenter/checkins/): the inbox, and the job at the end of the check-in window.
INBOUND_STATUSES = {"checked_in": _l("Check-in recorded"), "keyword": _l("Keyword (STOP/START/HELP)"),
                    "not_understood": _l("Not understood"), "unknown_sender": _l("Unknown sender"),
                    "read": _l("Handled")}
JOBS["checkins_window_end"] = _l("End of the check-in window")
JOBS["daily_figures"] = _l("Dashboard: count the closed days")
JOBS["retention"] = _l("Retention: anonymise closed records, delete old messages")

# Line-list imports (callcenter/services/intake/, templates/intake/import_*.html)
IMPORT_STATUSES = {"dry_run": _l("Checked, nothing saved"), "completed": _l("Imported"), "refused": _l("Refused"),
                   "queued": _l("Waiting"), "running": _l("Running"), "failed": _l("Failed")}
IMPORT_OUTCOMES = {"added": _l("Added"), "updated": _l("Updated"), "unchanged": _l("Unchanged"),
                   "rejected": _l("Rejected"), "held": _l("Held for review")}
IMPORT_SOURCES = {"web": _l("browser"), "cli": _l("shell")}
IMPORT_FIELDS = {
    "name": _l("Name"), "phone": _l("Mobile number"), "attendant_phone": _l("Attendant's mobile"), "age": _l("Age"),
    "sex": _l("Sex"), "lab_id": _l("Lab / sample (SRF) ID"), "positive_date": _l("Date of sample / positive test"),
    "symptom_onset_date": _l("Symptoms started on"), "setting": _l("Setting (hospital, CCC, home isolation)"),
    "home_isolation": _l("Home isolation (yes / no)"), "facility": _l("Hospital / care centre"),
    "district": _l("District"), "block": _l("Block"), "village": _l("Village / ward"), "address": _l("Address"),
    "abha_number": _l("ABHA number"), "comorbidities": _l("Comorbidities"), "language": _l("Language"),
    "ignore": _l("Ignore this column"),
}

# Escalation deadlines (services/desks/deadlines.py, jobs/escalation_deadlines.py)
JOBS["escalation_deadlines"] = _l("Escalation deadlines and re-alerts")
MESSAGE_TEMPLATES["escalation_overdue"] = _l("Overdue escalations (duty officer)")

# Doctor's and counsellor's desks, field visits, free beds (services/desks/consultations.py, field_visits.py, beds.py)
FIELD_VISIT_RESULTS = {
    "met_well": _l("Met – well"), "met_unwell": _l("Met – unwell"), "not_at_home": _l("Not at home"),
    "wrong_address": _l("Wrong address"), "moved_out": _l("Moved out of district"), "died": _l("Died"),
}
FIELD_VISIT_SEND_TO = {"doctor": _l("Doctor on duty (call back)"), "emergency": _l("Control room – emergency")}
TASK_REASONS = {"doctor_follow_up": _l("Doctor's follow-up"), "counsellor_follow_up": _l("Counsellor's follow-up")}
# Why a call is the one to make now (rules/why_first.py), on the volunteer's call screen.
WHY_FIRST = {
    "open_emergency": _l("An emergency of this patient's is open: follow-up call"),
    "emergency_follow_up": _l("Follow-up of yesterday's emergency"),
    "unwell_or_unreached": _l("Unwell or not reached yesterday, or asked for a call today"),
    "doctor_follow_up": _l("Doctor's follow-up"),
    "counsellor_follow_up": _l("Counsellor's follow-up"),
    "high_risk": _l("High risk: %(factors)s"),
    "callback": _l("Asked to be called back at %(at)s"),
    "waiting": _l("Waiting since %(since)s"),
    "checked_in_ok": _l("Checked in today and well: the routine call"),
    "routine": _l("Routine daily call"),
}
BED_KINDS = {"general": _l("General"), "oxygen": _l("Oxygen"), "icu": _l("ICU")}


def outcome_text(code):
    """What came of a closed escalation, for people: a desk outcome or a field visit's result."""
    return ESCALATION_OUTCOMES.get(code) or FIELD_VISIT_RESULTS.get(code, code)
