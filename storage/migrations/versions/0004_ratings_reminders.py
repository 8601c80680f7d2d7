"""ratings; the reminder time of a case deadline

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 10:00:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('casedeadline', schema=None) as batch_op:
        batch_op.add_column(sa.Column('remind_at', sqlmodel.sql.sqltypes.UTCDateTime(),
                                      nullable=True))
        batch_op.create_index(batch_op.f('ix_casedeadline_remind_at'), ['remind_at'],
                              unique=False)

    op.create_table('rating',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('overall', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('attitude', sa.Integer(), nullable=True),
    sa.Column('method', sa.Integer(), nullable=True),
    sa.Column('speed', sa.Integer(), nullable=True),
    sa.Column('result', sa.Integer(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id'),
    )
    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rating_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rating_created_at'))
    op.drop_table('rating')

    with op.batch_alter_table('casedeadline', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_casedeadline_remind_at'))
        batch_op.drop_column('remind_at')
