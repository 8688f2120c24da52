"""A new draft is analysed as the run installs it; issued statements compressed by lz4.

Both for the close of a large month (PostgreSQL only):

- a close reads the approved draft in key order twice, to check it against the
  approval and to post it. Right after a run, the planner has no statistics of the
  new partition and sorts the month on disk instead of reading it through its key.
  ANALYZE is the owner's: `draft_partition_analyse(period)` (SECURITY DEFINER,
  `payouts.batch.partitions`), which the service's role may execute, has it done at
  the end of the run. It changes no row.
- every statement issued at close keeps its canonical JSON (hundreds of megabytes in
  a large month); PostgreSQL compresses such values with pglz by default, lz4 costs
  the server a fraction of that. Only how new values are stored changes: the text
  read back is the same. Skipped where the server was built without lz4.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-04 19:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

from payouts.batch import partitions

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATEMENT_JSON = "ALTER TABLE issued_statements ALTER COLUMN canonical_json SET COMPRESSION"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute(partitions.STATISTICS_FUNCTION)
    for function in partitions.STATISTICS_FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
    lz4 = bind.scalar(
        text(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        )
    )
    if lz4:
        op.execute(f"{_STATEMENT_JSON} lz4")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"{_STATEMENT_JSON} DEFAULT")
    for function in partitions.STATISTICS_FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
