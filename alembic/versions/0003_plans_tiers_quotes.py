"""Saved plan versions (append-only), plan assignments, tier history, margin exceptions.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 04:05:21.791595
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from payouts import append_only

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "plan_versions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("plan_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("body_hash", sa.String(length=64), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("loaded_by", sa.String(length=200), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_versions")),
    )
    with op.batch_alter_table("plan_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_versions_body_hash"), ["body_hash"], unique=False)
        batch_op.create_index("uq_plan_versions_content_hash", ["content_hash"], unique=True)
        batch_op.create_index("uq_plan_versions_plan_version", ["plan_id", "version"], unique=True)

    op.create_table(
        "plan_assignments",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("partner_id", sa.String(length=64), nullable=True),
        sa.Column("plan_id", sa.String(length=64), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("assigned_by", sa.String(length=200), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "effective_to IS NULL OR effective_to > effective_from",
            name=op.f("ck_plan_assignments_dates_ordered"),
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_plan_assignments_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_assignments")),
    )
    with op.batch_alter_table("plan_assignments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_plan_assignments_partner_id"), ["partner_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_plan_assignments_plan_id"), ["plan_id"], unique=False)

    op.create_table(
        "tier_history",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("plan_id", sa.String(length=64), nullable=False),
        sa.Column("plan_version", sa.Integer(), nullable=False),
        sa.Column("component_id", sa.String(length=64), nullable=False),
        sa.Column("evaluated_period", sa.String(length=7), nullable=False),
        sa.Column("effective_period", sa.String(length=7), nullable=False),
        sa.Column("tier", sa.String(length=40), nullable=True),
        sa.Column("previous_tier", sa.String(length=40), nullable=True),
        sa.Column("qualified_tier", sa.String(length=40), nullable=True),
        sa.Column("change", sa.String(length=16), nullable=False),
        sa.Column("periods_below", sa.Integer(), nullable=False),
        sa.Column("next_tier", sa.String(length=40), nullable=True),
        sa.Column("gap_text", sa.Text(), nullable=True),
        sa.Column("at_risk", sa.Boolean(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_tier_history_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tier_history")),
    )
    with op.batch_alter_table("tier_history", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tier_history_partner_id"), ["partner_id"], unique=False
        )
        batch_op.create_index(
            "uq_tier_history_evaluation",
            ["partner_id", "plan_id", "component_id", "evaluated_period"],
            unique=True,
        )

    op.create_table(
        "margin_exceptions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("deal_id", sa.String(length=64), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("lowest_price_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("approved_by", sa.String(length=200), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["deal_id"], ["deals.id"], name=op.f("fk_margin_exceptions_deal_id_deals")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_margin_exceptions_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_margin_exceptions")),
    )
    with op.batch_alter_table("margin_exceptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_margin_exceptions_deal_id"), ["deal_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_margin_exceptions_partner_id"), ["partner_id"], unique=False
        )
    append_only.protect(op, "plan_versions")


def downgrade() -> None:
    append_only.unprotect(op, "plan_versions")

    with op.batch_alter_table("margin_exceptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_margin_exceptions_partner_id"))
        batch_op.drop_index(batch_op.f("ix_margin_exceptions_deal_id"))

    op.drop_table("margin_exceptions")
    with op.batch_alter_table("tier_history", schema=None) as batch_op:
        batch_op.drop_index("uq_tier_history_evaluation")
        batch_op.drop_index(batch_op.f("ix_tier_history_partner_id"))

    op.drop_table("tier_history")
    with op.batch_alter_table("plan_assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_assignments_plan_id"))
        batch_op.drop_index(batch_op.f("ix_plan_assignments_partner_id"))

    op.drop_table("plan_assignments")
    with op.batch_alter_table("plan_versions", schema=None) as batch_op:
        batch_op.drop_index("uq_plan_versions_plan_version")
        batch_op.drop_index("uq_plan_versions_content_hash")
        batch_op.drop_index(batch_op.f("ix_plan_versions_body_hash"))

    op.drop_table("plan_versions")
