"""reception days: leaders' reception slots and citizens' bookings

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 03:30:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('receptionslot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('ends_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('place', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('video', sa.Boolean(), nullable=False),
    sa.Column('link', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('booked', sa.Integer(), nullable=False),
    sa.Column('topics', sa.JSON(), nullable=False),
    sa.Column('host_id', sa.BigInteger(), nullable=True),
    sa.Column('host_name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_by', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('cancelled_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('cancel_reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('listed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('receptionslot', schema=None) as batch_op:
        batch_op.create_index('ix_receptionslot_starts', ['starts_at', 'cancelled_at'],
                              unique=False)
    op.create_table('receptionbooking',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slot_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('citizen_chat_id', sa.BigInteger(), nullable=False),
    sa.Column('matter', sa.Text(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('promoted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('cancelled_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('cancelled_by', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('reminded_day_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('reminded_soon_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('outcome_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.ForeignKeyConstraint(['slot_id'], ['receptionslot.id'], ),
    sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('receptionbooking', schema=None) as batch_op:
        batch_op.create_index('ix_receptionbooking_case_id', ['case_id'], unique=False)
        batch_op.create_index('ix_receptionbooking_citizen_chat_id', ['citizen_chat_id'],
                              unique=False)
        batch_op.create_index('ix_receptionbooking_slot_status', ['slot_id', 'status', 'id'],
                              unique=False)


def downgrade() -> None:
    op.drop_table('receptionbooking')
    op.drop_table('receptionslot')
