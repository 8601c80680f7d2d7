"""live reception: a handler talking with a citizen in real time about a case

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 03:10:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('livesession',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('citizen_chat_id', sa.BigInteger(), nullable=False),
    sa.Column('department', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('queued', sa.Boolean(), nullable=False),
    sa.Column('handler_id', sa.BigInteger(), nullable=True),
    sa.Column('handler_chat_id', sa.BigInteger(), nullable=True),
    sa.Column('handler_role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('requested_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_activity_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('ended_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('end_reason', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('announced_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('livesession', schema=None) as batch_op:
        batch_op.create_index('ix_livesession_case_id', ['case_id'], unique=False)
        batch_op.create_index('ix_livesession_citizen_status', ['citizen_chat_id', 'status'],
                              unique=False)
        batch_op.create_index('ix_livesession_status_requested', ['status', 'requested_at'],
                              unique=False)


def downgrade() -> None:
    op.drop_table('livesession')
