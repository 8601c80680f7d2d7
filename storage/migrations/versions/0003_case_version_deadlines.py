"""case version (optimistic lock), pause and leader; event role and fields; case deadlines

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 17:00:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('paused_since', sqlmodel.sql.sqltypes.UTCDateTime(),
                                      nullable=True))
        batch_op.add_column(sa.Column('leader_id', sa.BigInteger(), nullable=True))

    with op.batch_alter_table('caseevent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16),
                                      nullable=True))
        batch_op.add_column(sa.Column('fields', sa.JSON(), nullable=True))

    op.create_table('casedeadline',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('due_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('paused_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('paused_days', sa.Integer(), nullable=False),
    sa.Column('extension_days', sa.Integer(), nullable=False),
    sa.Column('stopped_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('reminded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('escalated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('casedeadline', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_casedeadline_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_casedeadline_due_at'), ['due_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('casedeadline', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_casedeadline_due_at'))
        batch_op.drop_index(batch_op.f('ix_casedeadline_case_id'))
    op.drop_table('casedeadline')

    with op.batch_alter_table('caseevent', schema=None) as batch_op:
        batch_op.drop_column('fields')
        batch_op.drop_column('role')

    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_column('leader_id')
        batch_op.drop_column('paused_since')
        batch_op.drop_column('version')
