"""Awareness broadcasts (issue 19): the broadcast table and each outbox message's broadcast

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 02:10:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'broadcast',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('district_id', sa.Integer(), nullable=True),
        sa.Column('title', sa.String(length=120), nullable=False),
        sa.Column('template', sa.String(length=40), nullable=False),
        sa.Column('variables', sa.JSON(), nullable=False),
        sa.Column('audience', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('people', sa.Integer(), nullable=False),
        sa.Column('phones', sa.Integer(), nullable=False),
        sa.Column('send_at', sa.DateTime(), nullable=False),
        sa.Column('drafted_by_id', sa.Integer(), nullable=False),
        sa.Column('approved_by_id', sa.Integer(), nullable=True),
        sa.Column('cancelled_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('approved_at', sa.DateTime(), nullable=True),
        sa.Column('cancelled_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['approved_by_id'], ['user.id'], name=op.f('fk_broadcast_approved_by_id_user')),
        sa.ForeignKeyConstraint(['cancelled_by_id'], ['user.id'], name=op.f('fk_broadcast_cancelled_by_id_user')),
        sa.ForeignKeyConstraint(['district_id'], ['district.id'], name=op.f('fk_broadcast_district_id_district')),
        sa.ForeignKeyConstraint(['drafted_by_id'], ['user.id'], name=op.f('fk_broadcast_drafted_by_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_broadcast')),
    )
    with op.batch_alter_table('broadcast', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_broadcast_district_id'), ['district_id'], unique=False)
    with op.batch_alter_table('outbound_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('broadcast_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbound_message_broadcast_id'), ['broadcast_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_outbound_message_broadcast_id_broadcast'), 'broadcast',
                                    ['broadcast_id'], ['id'])


def downgrade():
    with op.batch_alter_table('outbound_message', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_outbound_message_broadcast_id_broadcast'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_outbound_message_broadcast_id'))
        batch_op.drop_column('broadcast_id')
    with op.batch_alter_table('broadcast', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_broadcast_district_id'))
    op.drop_table('broadcast')
