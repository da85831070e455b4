"""The heading of a list behind a dashboard figure, in the reader's language: which figure, which need or
escalation type, which age of open escalation (never the codes in the URL: "overdue", "1to4h")."""
from flask_babel import gettext as _
from flask_babel import pgettext

from .. import labels
from ..templating import local_datetime


def _tasks(which):
    return {"due": pgettext("count", "All calls due"), "done": _("Calls done"),
            "pending": _("Calls still to make"), "overdue": _("Overdue calls"),
            "unreachable": _("Calls marked unreachable"), "missed": _("Missed calls")}.get(which) \
        or pgettext("count", "All calls due")


def _patients(which, sub):
    if which == "need":
        if sub in labels.NEEDS:
            return _("Patients who asked for: %(need)s", need=labels.NEEDS[sub])
        return _("Patients who asked for help")
    return {"new": _("New patients"), "discharged": _("Discharged patients"),
            "unreachable": _("Unreachable patients")}.get(which) or _("Active patients")


def age_label(age):
    return {"lt1h": _("open under 1 h"), "1to4h": _("open 1–4 h"), "4to24h": _("open 4–24 h"),
            "gt24h": _("open over 24 h")}.get(age)


def list_title(kind, which=None, sub=None, age=None, as_of=None):
    """The list's heading: the figure, then its need/type and age bucket (and the time the bucket is of)."""
    if kind == "tasks":
        return _tasks(which)
    if kind == "patients":
        return _patients(which, sub)
    if kind == "checkins":
        return _("Check-ins received")
    if kind == "calls":
        title = _("Connected calls") if which == "connected" else _("Call attempts")
        return f"{title} · {sub}" if sub else title  # sub: one volunteer's user name
    title = {"raised": _("Escalations raised"), "breach": _("Deadline breaches")}.get(which) \
        or _("Open escalations")
    parts = [title]
    if sub:
        parts.append(str(labels.ESCALATION_KINDS.get(sub, sub)))
    if which in (None, "open") and age_label(age):
        bucket = age_label(age)
        if as_of is not None:
            bucket = _("%(bucket)s at %(time)s", bucket=bucket, time=local_datetime(as_of, "HH:mm"))
        parts.append(bucket)
    return " · ".join(parts)
