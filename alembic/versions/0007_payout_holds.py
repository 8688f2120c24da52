"""Payout holds: why a balance was not paid at a close (append-only).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 04:19:07.940416
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from payouts import append_only

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "payout_holds",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("balance_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_payout_holds_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_holds")),
    )
    with op.batch_alter_table("payout_holds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payout_holds_period"), ["period"], unique=False)
        batch_op.create_index("uq_payout_holds_partner", ["period", "partner_id"], unique=True)
    append_only.protect(op, "payout_holds")
    append_only.freeze_closed_periods(op, "payout_holds", ("INSERT",))


def downgrade() -> None:
    append_only.unfreeze_closed_periods(op, "payout_holds", ("INSERT",))
    append_only.unprotect(op, "payout_holds")

    with op.batch_alter_table("payout_holds", schema=None) as batch_op:
        batch_op.drop_index("uq_payout_holds_partner")
        batch_op.drop_index(batch_op.f("ix_payout_holds_period"))

    op.drop_table("payout_holds")
