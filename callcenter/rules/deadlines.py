"""How long each kind of escalation may wait to be acknowledged (pure: settings.deadline_rule() fills it in).

Every escalation kind has a response deadline in minutes (0 = none); an emergency of any kind waits at most
`emergency_minutes`. The defaults below are administrator settings ("deadline_minutes.<kind>",
"emergency_ack_minutes"); why these numbers:

| kind          | minutes | why                                                                            |
| ------------- | ------- | ------------------------------------------------------------------------------ |
| ambulance     | 10      | a patient asked for an ambulance: the control room confirms at once             |
| warning_sign  | 10      | SpO2 below the threshold, breathlessness, chest pain, confusion (MoHFW)         |
| oxygen        | 15      | an oxygen supply or an oxygen bed has to be found first                         |
| hospital_bed  | 15      | a bed has to be found first                                                     |
| doctor        | 60      | a doctor on duty calls back within the hour (teleconsultation practice)         |
| medicine      | 120     | a delivery is arranged the same morning or afternoon                            |
| test          | 240     |                                                                                 |
| food          | 240     | ration deliveries go out in rounds                                              |
| counselling   | 240     | a counsellor calls back the same day                                            |
| other         | 240     | also the deadline of any kind not listed here                                   |
| field_visit   | 1440    | an unreachable patient is visited within a day                                  |
| phone_check   | 1440    | a wrong or invalid number is checked within a day                               |

An emergency never waits longer than `emergency_minutes` (default 15): a medicine request raised as an
emergency gets 15 minutes, an ambulance keeps its 10.
"""
from dataclasses import dataclass, field
from datetime import timedelta

from .adjustable import DEFAULTS
from .routing import WARNING_SIGN, NeedKind, Severity

FIELD_VISIT = "field_visit"
PHONE_CHECK = "phone_check"
DEFAULT_DEADLINE_MINUTES = {
    str(NeedKind.AMBULANCE): 10,
    WARNING_SIGN: 10,
    str(NeedKind.OXYGEN): 15,
    str(NeedKind.HOSPITAL_BED): 15,
    str(NeedKind.DOCTOR): 60,
    str(NeedKind.MEDICINE): 120,
    str(NeedKind.TEST): 240,
    str(NeedKind.FOOD): 240,
    str(NeedKind.COUNSELLING): 240,
    str(NeedKind.OTHER): 240,
    FIELD_VISIT: 24 * 60,
    PHONE_CHECK: 24 * 60,
}
DEFAULT_EMERGENCY_MINUTES = DEFAULTS["emergency_ack_minutes"]
FALLBACK_KIND = str(NeedKind.OTHER)  # a kind without a deadline of its own takes this one's
MAX_DEADLINE_MINUTES = 7 * 24 * 60


@dataclass(frozen=True)
class DeadlineRule:
    minutes: dict = field(default_factory=lambda: dict(DEFAULT_DEADLINE_MINUTES))  # kind → minutes (0: none)
    emergency_minutes: int = DEFAULT_EMERGENCY_MINUTES

    def window(self, kind, severity):
        """How long an escalation of this kind and severity may wait to be acknowledged, or None."""
        minutes = self.minutes.get(str(kind), self.minutes.get(FALLBACK_KIND, 0))
        if severity == Severity.EMERGENCY:
            minutes = min(minutes, self.emergency_minutes) if minutes else self.emergency_minutes
        return timedelta(minutes=minutes) if minutes else None

    def respond_by(self, kind, severity, raised_at):
        """The acknowledgement deadline of an escalation raised at `raised_at` (None: no deadline)."""
        window = self.window(kind, severity)
        return raised_at + window if window is not None else None

    def tightened(self, current, kind, severity, now):
        """The deadline of an open escalation (deadline `current`) reported again at `now` with this
        severity: the earlier of the two; a repeat never gives more time."""
        new = self.respond_by(kind, severity, now)
        if current is None or new is None:
            return current if new is None else new
        return min(current, new)
