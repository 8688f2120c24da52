"""The service may have the fact tables' planner statistics refreshed (PostgreSQL).

A run reads each slice of partners' facts through indexes; on fact tables loaded in
bulk and not analysed since, the planner reads them through nested loops instead (a
600-partner run: 17 s instead of 1.8 s). ANALYZE is the owner's;
`fact_statistics_refresh()` (SECURITY DEFINER, `payouts.facts.statistics`) analyses
the fact tables autovacuum is due to analyse, and the service's role may execute it
(`payouts.privileges`). It changes no row.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-04 19:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from payouts.facts import statistics

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(statistics.STATISTICS_FUNCTION)
    for function in statistics.FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for function in statistics.FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
