"""Outbox priority: urgent messages (help on the way, duty officer alerts) are handed over first, the day's
check-ins last (services/outbox/sender.py claims by priority, then due time)

Messages already in the outbox get their template's priority, so a queue built before the upgrade is ordered
the same way.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 01:55:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

URGENT, BULK = 0, 2  # models.OutboxPriority (ROUTINE, 1, is the column's default)
URGENT_TEMPLATES = ("help_ambulance", "help_delivery", "escalation_overdue")
BULK_TEMPLATES = ("checkin_link", "checkin_reply", "checkin_ivr")

messages = sa.table("outbound_message", sa.column("template", sa.String), sa.column("priority", sa.SmallInteger))


def upgrade():
    with op.batch_alter_table('outbound_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('priority', sa.SmallInteger(), server_default='1', nullable=False))
    op.execute(messages.update().where(messages.c.template.in_(URGENT_TEMPLATES)).values(priority=URGENT))
    op.execute(messages.update().where(messages.c.template.in_(BULK_TEMPLATES)).values(priority=BULK))
    op.create_index('ix_outbound_message_queue', 'outbound_message', ['status', 'priority', 'next_attempt_at'],
                    unique=False)


def downgrade():
    op.drop_index('ix_outbound_message_queue', table_name='outbound_message')
    with op.batch_alter_table('outbound_message', schema=None) as batch_op:
        batch_op.drop_column('priority')
