"""The slices of a distributed run, as its workers calculated them.

- `draft_slices`: one row per (period, run, slice), written by a worker (`payouts
  worker`) in the transaction that marks the slice done; the run copies the rows, in
  slice order, into its draft and deletes them. The service's role may add, read and
  delete them (`payouts.privileges`).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 17:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "draft_slices",
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("slice_no", sa.Integer(), nullable=False),
        sa.Column("partners", sa.Integer(), nullable=False),
        sa.Column("lines", sa.BigInteger(), nullable=False),
        sa.Column("copy_text", sa.LargeBinary(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("done_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("period", "run_id", "slice_no"),
    )


def downgrade() -> None:
    op.drop_table("draft_slices")
