"""Writing the audit log. Called inside the caller's transaction, never committing on its own."""
from ...clock import utcnow
from ...extensions import db
from ...models import AuditLog


def record(user, action, entity, entity_id=None, district_id=None, now=None, **details):
    db.session.add(AuditLog(
        at=now or utcnow(), user_id=getattr(user, "id", None), action=action, entity=entity,
        entity_id=entity_id, district_id=district_id, details=details))
