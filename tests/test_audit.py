"""The audit log is append-only."""
import pytest

from callcenter.extensions import db
from callcenter.models import AuditLog
from callcenter.models.audit import AuditLogIsAppendOnly
from callcenter.services.core import audit


def test_audit_rows_cannot_be_changed_or_deleted():
    audit.record(None, "test.action", "patient", 1, None, reason="x")
    db.session.commit()
    row = db.session.scalars(db.select(AuditLog)).one()
    row.action = "tampered"
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.scalars(db.select(AuditLog)).one())
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalars(db.select(AuditLog)).one().action == "test.action"
