"""Closed-period guards on PostgreSQL checked per statement, not per row.

A batch run stores (and replaces) up to a million draft lines, and a close copies
them into the ledger; the row triggers of 0004 queried `periods` once per line.
Statement triggers over the transition table refuse exactly the same changes with
one query. SQLite keeps its row triggers (it has no other kind).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 06:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from payouts import append_only

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUARDED = {
    "ledger_entries": ("INSERT",),
    "margin_lines": ("INSERT",),
    "draft_lines": ("INSERT", "UPDATE", "DELETE"),
    "rep_credit_lines": ("INSERT", "UPDATE", "DELETE"),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, verbs in GUARDED.items():
        append_only.unfreeze_closed_periods(op, table, verbs)
        append_only.freeze_closed_periods_per_statement(op, table, verbs)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, verbs in GUARDED.items():
        append_only.unfreeze_closed_periods_per_statement(op, table, verbs)
        append_only.freeze_closed_periods(op, table, verbs)
    op.execute("DROP FUNCTION IF EXISTS refuse_closed_period_rows()")
