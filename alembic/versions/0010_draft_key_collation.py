"""Draft lines keyed in "C" collation on PostgreSQL.

A batch run COPYs up to a million draft lines, each compared into the primary key
index on (period, partner_id, line_no). Under the database's linguistic collation
every comparison goes through strcoll; "C" compares bytes, which is also the order
Python gives the ids. Measured on COPY of 819,096 lines into a table with that key:
3.39 s with the default collation (C.UTF-8), 2.95 s with "C" (mean of three).
SQLite compares bytes already.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY_COLUMNS = {"period": 7, "partner_id": 64}


def upgrade() -> None:
    _collate(to="C", existing=None)


def downgrade() -> None:
    _collate(to="default", existing="C")


def _collate(*, to: str, existing: str | None) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for column, length in KEY_COLUMNS.items():
        op.alter_column(
            "draft_lines",
            column,
            type_=sa.String(length, collation=to),
            existing_type=sa.String(length, collation=existing),
            existing_nullable=False,
        )
