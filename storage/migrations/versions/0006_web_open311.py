"""web workspace and open API: sign-in links; a case's traffic-light clock, source and place;
citizens without a chat

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 00:00:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# The waiting statuses of config/deadlines.yaml when this migration was written: the backfill
# of ``waiting_since`` (later changes of the config need no migration: the column is written
# by the case service from then on).
WAITING = ('registered', 'routed', 'accepted', 'in_handling', 'extended', 'review_requested',
           'under_review', 'second_review')


def upgrade() -> None:
    op.create_table('websignin',
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('used_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('token_hash'),
    )
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('waiting_since', sqlmodel.sql.sqltypes.UTCDateTime(),
                                      nullable=True))
        batch_op.add_column(sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=64),
                                      server_default='chat', nullable=False))
        batch_op.add_column(sa.Column('lat', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('lon', sa.Float(), nullable=True))
        batch_op.create_index('ix_case_waiting_since', ['waiting_since', 'id'], unique=False)
        batch_op.create_index('ix_case_department_waiting_since',
                              ['department', 'waiting_since', 'id'], unique=False)
    with op.batch_alter_table('casedeadline', schema=None) as batch_op:
        batch_op.create_index('ix_casedeadline_passed',
                              ['due_at', 'kind', 'stopped_at', 'paused_at'], unique=False)
        batch_op.create_index('ix_casedeadline_stopped_at', ['stopped_at'], unique=False,
                              sqlite_where=sa.text('stopped_at IS NOT NULL'),
                              postgresql_where=sa.text('stopped_at IS NOT NULL'))
    with op.batch_alter_table('citizen', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sqlmodel.sql.sqltypes.AutoString(),
                                      nullable=True))
        batch_op.alter_column('chat_id', existing_type=sa.BigInteger(), nullable=True)

    waiting = ", ".join(f"'{s}'" for s in WAITING)
    op.execute(f"""
        UPDATE "case" SET waiting_since = (
            SELECT max(e.at) FROM caseevent e
            WHERE e.case_id = "case".id AND e.to_status IN ({waiting})
              AND (e.from_status IS NULL OR e.from_status NOT IN ({waiting})))
        """)
    op.execute(f'UPDATE "case" SET waiting_since = created_at WHERE waiting_since IS NULL '
               f'AND status IN ({waiting})')
    op.execute(f'UPDATE "case" SET waiting_since = NULL WHERE status NOT IN ({waiting})')


def downgrade() -> None:
    with op.batch_alter_table('casedeadline', schema=None) as batch_op:
        batch_op.drop_index('ix_casedeadline_stopped_at')
        batch_op.drop_index('ix_casedeadline_passed')
    with op.batch_alter_table('citizen', schema=None) as batch_op:
        batch_op.alter_column('chat_id', existing_type=sa.BigInteger(), nullable=False)
        batch_op.drop_column('email')
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index('ix_case_department_waiting_since')
        batch_op.drop_index('ix_case_waiting_since')
        batch_op.drop_column('lon')
        batch_op.drop_column('lat')
        batch_op.drop_column('source')
        batch_op.drop_column('waiting_since')
    op.drop_table('websignin')
