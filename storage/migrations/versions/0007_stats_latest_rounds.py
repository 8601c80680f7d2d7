"""the leaders' numbers counted from indexes: a limit's round marked when a later round of the
same limit starts (``casedeadline.superseded_at``, kept by a trigger); indexes for the latest
rounds, the running and the ended limits, the cases received per category, today's lights and
the ratings per week (cases/stats.py says which number reads which)

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
LATEST_STOPPED = sa.text('superseded_at IS NULL AND stopped_at IS NOT NULL')
RUNNING = sa.text('stopped_at IS NULL')
ENDED = sa.text('stopped_at IS NOT NULL')
WAITING = sa.text('waiting_since IS NOT NULL')

# When a round of a limit starts (a case sent back is handled again), the former rounds of the
# same limit of that case are superseded from the new round's start. The database keeps the
# column itself, so every writer (the case service, a script, a test's rows) keeps it right.
# NB: SQLite drops a table's triggers when Alembic's batch mode rebuilds the table; a later
# migration that rebuilds ``casedeadline`` must create this trigger again
# (tests/conversations/test_stats.py fails if it is missing).
SUPERSEDE = """
    UPDATE casedeadline SET superseded_at = NEW.started_at
    WHERE case_id = NEW.case_id AND kind = NEW.kind AND id < NEW.id
      AND superseded_at IS NULL;
"""
SQLITE_TRIGGER = f"""
CREATE TRIGGER casedeadline_supersede AFTER INSERT ON casedeadline
BEGIN {SUPERSEDE} END
"""
# planned for each row (a plan cached while the table was small would scan it whole)
PG_FUNCTION = f"""
CREATE FUNCTION casedeadline_supersede() RETURNS trigger LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan AS $$
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
        # the trigger's own: a case's earlier rounds of a limit (unmistakably the index to
        # read, even for a planner that knows nothing of the table yet)
        batch_op.create_index('ix_casedeadline_case_kind', ['case_id', 'kind', 'id'],
                              unique=False)
        # 办结率: the latest rounds due in a period, concluded or not, from the index alone
        batch_op.create_index('ix_casedeadline_latest_due',
                              ['kind', 'due_at', 'stopped_at', 'case_id', 'superseded_at'],
                              unique=False,
                              sqlite_where=LATEST, postgresql_where=LATEST)
        # 按期办结率, 参评率, 满意率: the latest rounds concluded in a period
        batch_op.create_index('ix_casedeadline_latest_stopped',
                              ['kind', 'stopped_at', 'due_at', 'case_id', 'superseded_at'],
                              unique=False,
                              sqlite_where=LATEST_STOPPED, postgresql_where=LATEST_STOPPED)
        # 超期: the limits still running, by due date; those stopped, by when
        batch_op.create_index('ix_casedeadline_running',
                              ['due_at', 'kind', 'paused_at', 'stopped_at'], unique=False,
                              sqlite_where=RUNNING, postgresql_where=RUNNING)
        batch_op.create_index('ix_casedeadline_ended',
                              ['stopped_at', 'kind', 'due_at', 'paused_at', 'case_id'],
                              unique=False, sqlite_where=ENDED, postgresql_where=ENDED)
    with op.batch_alter_table('case', schema=None) as batch_op:
        # cases received per category and week, all or one department's
        batch_op.create_index('ix_case_level1_created_at', ['level1', 'created_at'],
                              unique=False)
        batch_op.create_index('ix_case_department_level1',
                              ['department', 'level1', 'created_at'], unique=False)
        # today's lights per department: the waiting cases only
        batch_op.create_index('ix_case_waiting_department', ['department', 'waiting_since'],
                              unique=False, sqlite_where=WAITING, postgresql_where=WAITING)
    with op.batch_alter_table('rating', schema=None) as batch_op:
        # 满意率 per week
        batch_op.create_index('ix_rating_overall_created_at', ['overall', 'created_at'],
                              unique=False)
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
    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.drop_index('ix_rating_overall_created_at')
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index('ix_case_waiting_department')
        batch_op.drop_index('ix_case_department_level1')
        batch_op.drop_index('ix_case_level1_created_at')
    with op.batch_alter_table('casedeadline', schema=None) as batch_op:
        for name in ('ix_casedeadline_ended', 'ix_casedeadline_running',
                     'ix_casedeadline_latest_stopped', 'ix_casedeadline_latest_due',
                     'ix_casedeadline_case_kind'):
            batch_op.drop_index(name)
        batch_op.drop_column('superseded_at')
