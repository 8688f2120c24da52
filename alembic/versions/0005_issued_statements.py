"""Issued statements: the content hash of each closed statement (append-only).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 04:15:07.877916
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from payouts import append_only

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "issued_statements",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("issued_by", sa.String(length=200), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_issued_statements_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issued_statements")),
    )
    with op.batch_alter_table("issued_statements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_issued_statements_period"), ["period"], unique=False)
        batch_op.create_index(
            "uq_issued_statements_partner_period", ["partner_id", "period"], unique=True
        )
    append_only.protect(op, "issued_statements")


def downgrade() -> None:
    append_only.unprotect(op, "issued_statements")

    with op.batch_alter_table("issued_statements", schema=None) as batch_op:
        batch_op.drop_index("uq_issued_statements_partner_period")
        batch_op.drop_index(batch_op.f("ix_issued_statements_period"))

    op.drop_table("issued_statements")
