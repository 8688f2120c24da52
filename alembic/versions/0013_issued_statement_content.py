"""Issued statements keep their canonical JSON, not only its hash.

With the content as issued, verifying a statement can name the fields and lines that
differ from what the ledger gives now, instead of two hashes. Statements issued
before this revision have none (NULL): for them only the hashes can be compared.
Adding a nullable column keeps the append-only triggers in place on both backends.

Revision ID: 0013
Revises: 0011
Create Date: 2026-11-25 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE, not a batch: on SQLite a batch would copy the table and lose
    # its append-only triggers.
    op.add_column("issued_statements", sa.Column("canonical_json", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("issued_statements", "canonical_json")
