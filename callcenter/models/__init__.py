"""All models, importable from one place (and so all known to Alembic)."""
from .audit import AppSetting, AuditLog, AuditSubject
from .broadcasts import Broadcast, BroadcastStatus
from .calls import (
    OPEN_TASK_STATUSES,
    OPEN_VOLUNTEER_TASK,
    TASK_TRANSITIONS,
    BridgedCall,
    CallAttempt,
    CallTask,
    CheckIn,
    Need,
    Outcome,
    TaskStatus,
)
from .escalations import (
    ESCALATION_TRANSITIONS,
    OPEN_ESCALATION_STATUSES,
    Consultation,
    Desk,
    Dispatch,
    DispatchKind,
    Escalation,
    EscalationNote,
    EscalationStatus,
    Severity,
)
from .intake import (
    ContactRole,
    HeaderMapping,
    Household,
    ImportBatch,
    ImportRow,
    ImportStatus,
    RowAction,
    VillageContact,
)
from .jobs import DischargeReview, JobRun, ReviewStatus, RunStatus, SchedulerBeat
from .messaging import (
    CheckinChannel,
    CheckinLink,
    InboundMessage,
    InboundStatus,
    IvrCall,
    MessageKind,
    OutboundMessage,
    OutboxPriority,
    OutboxStatus,
)
from .monitoring import DailyFigures, DailyFiguresDay, DailyVolunteerFigures, DashboardSnapshot, QueuePause
from .patients import Comorbidity, Patient, PatientStatus, Setting, Sex, Transfer
from .places import Block, District, Facility, FacilityKind, Village, VillageKind
from .users import ApiToken, Role, User

__all__ = [
    "BridgedCall",
    "AppSetting", "AuditLog", "AuditSubject", "CallAttempt", "CallTask", "CheckIn", "Need", "Outcome", "TaskStatus",
    "TASK_TRANSITIONS", "OPEN_TASK_STATUSES", "OPEN_VOLUNTEER_TASK", "ESCALATION_TRANSITIONS",
    "OPEN_ESCALATION_STATUSES", "Desk",
    "Escalation", "EscalationNote", "EscalationStatus", "Severity", "Comorbidity", "Patient", "PatientStatus",
    "Setting", "Sex", "Transfer", "Block", "District", "Facility", "FacilityKind", "Village", "VillageKind",
    "ApiToken", "Role", "User", "DischargeReview", "JobRun", "ReviewStatus", "RunStatus", "SchedulerBeat",
    "ContactRole", "HeaderMapping", "Household", "ImportBatch", "ImportRow", "ImportStatus", "RowAction",
    "VillageContact", "CheckinChannel", "CheckinLink", "InboundMessage", "InboundStatus", "IvrCall", "MessageKind",
    "OutboundMessage", "OutboxPriority", "OutboxStatus", "QueuePause", "DailyFigures", "DailyFiguresDay",
    "DailyVolunteerFigures", "Broadcast", "BroadcastStatus",
    "DashboardSnapshot", "Consultation", "Dispatch", "DispatchKind",
]
