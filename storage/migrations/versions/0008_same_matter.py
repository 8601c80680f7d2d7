"""same matter: a case's signature and group, the subjects it names, early warnings raised

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 03:00:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signature', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('main_case_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_case_main_case_id', ['main_case_id'], unique=False)
        batch_op.create_foreign_key('fk_case_main_case_id', 'case', ['main_case_id'], ['id'])
    op.create_table('casesubject',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('field', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('value', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('core', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('trade', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('casesubject', schema=None) as batch_op:
        batch_op.create_index('ix_casesubject_case_id', ['case_id'], unique=False)
        batch_op.create_index('ix_casesubject_core_created', ['core', 'created_at'],
                              unique=False)
    op.create_table('subjectwarning',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('core', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('trade', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('raised_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('rule', 'core', 'trade'),
    )


def downgrade() -> None:
    op.drop_table('subjectwarning')
    with op.batch_alter_table('casesubject', schema=None) as batch_op:
        batch_op.drop_index('ix_casesubject_core_created')
        batch_op.drop_index('ix_casesubject_case_id')
    op.drop_table('casesubject')
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_constraint('fk_case_main_case_id', type_='foreignkey')
        batch_op.drop_index('ix_case_main_case_id')
        batch_op.drop_column('main_case_id')
        batch_op.drop_column('signature')
