"""The service may have the ledger's planner statistics refreshed (PostgreSQL).

A close posts a month's lines (800,000 at full scale) and then, in the same
transaction, issues every partner's statement by reading the ledger a slice of
partners at a time. Until the table is analysed the planner does not know those rows
are there, and reads each slice by scanning the whole month. ANALYZE is the owner's;
`ledger_statistics_refresh()` (SECURITY DEFINER, `payouts.ledger`) lets the service's
role, which may execute it (`payouts.privileges`), have it done. It changes no row.

Revision ID: 0024
Revises: 0022
Create Date: 2026-12-04 17:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from payouts import ledger

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(ledger.STATISTICS_FUNCTION)
    for function in ledger.FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for function in ledger.FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
