"""audit log: hash chain (seq, hash), audit_subject, and on PostgreSQL a trigger that refuses UPDATE and DELETE

The rows already there are chained in id order (and their patient_ids indexed in audit_subject), so
`flask audit verify` passes on an upgraded database. docs/AUDIT.md has the archiving role.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 21:40:00.000000

"""
import sqlalchemy as sa
from alembic import op

from callcenter.models.audit import GUARD_FUNCTION, GUARD_TRIGGER, SUBJECT_GUARD_FUNCTION, SUBJECT_GUARD_TRIGGER
from callcenter.rules.audit_chain import FIELDS, GENESIS, row_hash

# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

BATCH = 10_000
audit_log = sa.table(
    'audit_log', sa.column('id', sa.Integer), sa.column('at', sa.DateTime), sa.column('user_id', sa.Integer),
    sa.column('action', sa.String), sa.column('entity', sa.String), sa.column('entity_id', sa.Integer),
    sa.column('district_id', sa.Integer), sa.column('details', sa.JSON), sa.column('seq', sa.BigInteger),
    sa.column('hash', sa.String))
audit_subject = sa.table('audit_subject', sa.column('audit_id', sa.Integer), sa.column('patient_id', sa.Integer))


def upgrade():
    op.create_table('audit_subject',
    sa.Column('audit_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.ForeignKeyConstraint(['audit_id'], ['audit_log.id'], name=op.f('fk_audit_subject_audit_id_audit_log'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('audit_id', 'patient_id', name=op.f('pk_audit_subject'))
    )
    with op.batch_alter_table('audit_subject', schema=None) as batch_op:
        batch_op.create_index('ix_audit_subject_patient', ['patient_id', 'audit_id'], unique=False)

    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
    _chain_existing_rows(op.get_bind())
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_unchained', ['id'], unique=False, postgresql_where=sa.text('seq IS NULL'),
                              sqlite_where=sa.text('seq IS NULL'))
        batch_op.create_index('uq_audit_log_seq', ['seq'], unique=True)
    if op.get_bind().dialect.name == 'postgresql':
        for sql in (GUARD_FUNCTION, GUARD_TRIGGER, SUBJECT_GUARD_FUNCTION, SUBJECT_GUARD_TRIGGER):
            op.execute(sql)


def _chain_existing_rows(conn):
    """Every row so far, in id order: seq 1, 2, … and its hash; its patient_ids into audit_subject."""
    seq, previous, after = 0, GENESIS, 0
    while True:
        rows = conn.execute(sa.select(*(audit_log.c[f] for f in FIELDS)).where(audit_log.c.id > after)
                            .order_by(audit_log.c.id).limit(BATCH)).mappings().all()
        if not rows:
            return
        sealed, subjects = [], []
        for row in rows:
            seq += 1
            previous = row_hash(previous, seq, row)
            sealed.append({'row_id': row['id'], 'seq': seq, 'hash': previous})
            ids = set((row['details'] or {}).get('patient_ids') or ())
            subjects += [{'audit_id': row['id'], 'patient_id': i} for i in sorted(ids) if isinstance(i, int)]
        conn.execute(audit_log.update().where(audit_log.c.id == sa.bindparam('row_id'))
                     .values(seq=sa.bindparam('seq'), hash=sa.bindparam('hash')), sealed)
        if subjects:
            conn.execute(audit_subject.insert(), subjects)
        after = rows[-1]['id']


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log')
        op.execute('DROP FUNCTION IF EXISTS audit_log_guard()')
        op.execute('DROP TRIGGER IF EXISTS audit_subject_append_only ON audit_subject')
        op.execute('DROP FUNCTION IF EXISTS audit_subject_guard()')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('uq_audit_log_seq')
        batch_op.drop_index('ix_audit_log_unchained')
        batch_op.drop_column('hash')
        batch_op.drop_column('seq')

    with op.batch_alter_table('audit_subject', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_subject_patient')

    op.drop_table('audit_subject')
