"""the leaders' numbers counted from indexes: a limit's round marked when a later round of the
same limit starts (``casedeadline.superseded_at``, kept by a trigger), indexes for the latest
rounds and for the cases received per category

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 03:00:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

LATEST = sa.text('superseded_at IS NULL')

# When a round of a limit starts (a case sent back is handled again), the former rounds of the
# same limit of that case are superseded from the new round's start. The database keeps the
# column itself, so every writer (the case service, a script, a test's rows) keeps it right.
# NB: SQLite drops a table's triggers when Alembic's batch mode rebuilds the table; a later
# migration that rebuilds ``casedeadline`` must create this trigger again
# (tests/storage/test_latest_rounds.py fails if it is missing).
SUPERSEDE = """
    UPDATE casedeadline SET superseded_at = NEW.started_at
    WHERE case_id = NEW.case_id AND kind = NEW.kind AND id < NEW.id
      AND superseded_at IS NULL;
"""
SQLITE_TRIGGER = f"""
CREATE TRIGGER casedeadline_supersede AFTER INSERT ON casedeadline
BEGIN {SUPERSEDE} END
"""
PG_FUNCTION = f"""
CREATE FUNCTION casedeadline_supersede() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN {SUPERSEDE} RETURN NULL; END
$$
"""
PG_TRIGGER = """
CREATE TRIGGER casedeadline_supersede AFTER INSERT ON casedeadline
FOR EACH ROW EXECUTE FUNCTION casedeadline_supersede()
"""


def upgrade() -> None:
    with op.batch_alter_table('casedeadline', schema=None) as batch_op:
        batch_op.add_column(sa.Column('superseded_at', sqlmodel.sql.sqltypes.UTCDateTime(),
                                      nullable=True))
    # backfill: each round but the latest of its limit, from the start of the round after it
    op.execute("""
        UPDATE casedeadline SET superseded_at = (
            SELECT later.started_at FROM casedeadline AS later
            WHERE later.case_id = casedeadline.case_id AND later.kind = casedeadline.kind
              AND later.id > casedeadline.id
            ORDER BY later.id LIMIT 1)
        WHERE EXISTS (
            SELECT 1 FROM casedeadline AS later
            WHERE later.case_id = casedeadline.case_id AND later.kind = casedeadline.kind
              AND later.id > casedeadline.id)
        """)
    with op.batch_alter_table('casedeadline', schema=None) as batch_op:
        # 办结率: the latest rounds due in a period, concluded or not, from the index alone
        batch_op.create_index('ix_casedeadline_latest_due',
                              ['kind', 'due_at', 'stopped_at', 'case_id'], unique=False,
                              sqlite_where=LATEST, postgresql_where=LATEST)
    with op.batch_alter_table('case', schema=None) as batch_op:
        # cases received in a period per category (and week), all or one department's
        batch_op.create_index('ix_case_created_at_level1', ['created_at', 'level1'],
                              unique=False)
        batch_op.create_index('ix_case_department_created_at',
                              ['department', 'created_at', 'level1'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)


def downgrade() -> None:
    op.execute('DROP TRIGGER IF EXISTS casedeadline_supersede'
               + (' ON casedeadline' if op.get_bind().dialect.name == 'postgresql' else ''))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP FUNCTION IF EXISTS casedeadline_supersede()')
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index('ix_case_department_created_at')
        batch_op.drop_index('ix_case_created_at_level1')
    with op.batch_alter_table('casedeadline', schema=None) as batch_op:
        batch_op.drop_index('ix_casedeadline_latest_due')
        batch_op.drop_column('superseded_at')
