"""The append-only ledger, margin lines, batches, draft lines, rep credit and payouts.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 04:09:46.390491
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from payouts import append_only

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "draft_lines",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("payable", sa.Boolean(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("entry_kind", sa.String(length=16), nullable=False),
        sa.Column("prior_period", sa.String(length=7), nullable=True),
        sa.Column("plan_label", sa.String(length=120), nullable=True),
        sa.Column("component_id", sa.String(length=64), nullable=True),
        sa.Column("component_kind", sa.String(length=32), nullable=True),
        sa.Column("source_fact", sa.String(length=100), nullable=False),
        sa.Column("fact_date", sa.Date(), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("deal_id", sa.String(length=64), nullable=True),
        sa.Column("invoice_id", sa.String(length=64), nullable=True),
        sa.Column("base_minor", sa.BigInteger(), nullable=False),
        sa.Column("base_currency", sa.String(length=3), nullable=False),
        sa.Column("rate", sa.String(length=40), nullable=True),
        sa.Column("fx_rate", sa.String(length=40), nullable=True),
        sa.Column("fx_source", sa.String(length=200), nullable=True),
        sa.Column("unrounded", sa.String(length=60), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draft_lines")),
    )
    with op.batch_alter_table("draft_lines", schema=None) as batch_op:
        batch_op.create_index(
            "uq_draft_lines_line", ["period", "partner_id", "line_no"], unique=True
        )

    op.create_table(
        "ledger_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("posted_by", sa.String(length=200), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("entry_kind", sa.String(length=16), nullable=False),
        sa.Column("prior_period", sa.String(length=7), nullable=True),
        sa.Column("plan_label", sa.String(length=120), nullable=True),
        sa.Column("component_id", sa.String(length=64), nullable=True),
        sa.Column("component_kind", sa.String(length=32), nullable=True),
        sa.Column("source_fact", sa.String(length=100), nullable=False),
        sa.Column("fact_date", sa.Date(), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("deal_id", sa.String(length=64), nullable=True),
        sa.Column("invoice_id", sa.String(length=64), nullable=True),
        sa.Column("base_minor", sa.BigInteger(), nullable=False),
        sa.Column("base_currency", sa.String(length=3), nullable=False),
        sa.Column("rate", sa.String(length=40), nullable=True),
        sa.Column("fx_rate", sa.String(length=40), nullable=True),
        sa.Column("fx_source", sa.String(length=200), nullable=True),
        sa.Column("unrounded", sa.String(length=60), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "entry_kind IN ('earning', 'clawback', 'adjustment', 'payout', 'payout_reversal')",
            name=op.f("ck_ledger_entries_entry_kind"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ledger_entries_customer", ["customer_id", "partner_id"], unique=False
        )
        batch_op.create_index("ix_ledger_entries_invoice", ["invoice_id"], unique=False)
        batch_op.create_index("ix_ledger_entries_partner", ["partner_id", "period"], unique=False)
        batch_op.create_index(
            "uq_ledger_entries_line", ["period", "partner_id", "line_no"], unique=True
        )

    op.create_table(
        "margin_lines",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("entry_kind", sa.String(length=16), nullable=False),
        sa.Column("prior_period", sa.String(length=7), nullable=True),
        sa.Column("plan_label", sa.String(length=120), nullable=True),
        sa.Column("component_id", sa.String(length=64), nullable=True),
        sa.Column("component_kind", sa.String(length=32), nullable=True),
        sa.Column("source_fact", sa.String(length=100), nullable=False),
        sa.Column("fact_date", sa.Date(), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("deal_id", sa.String(length=64), nullable=True),
        sa.Column("invoice_id", sa.String(length=64), nullable=True),
        sa.Column("base_minor", sa.BigInteger(), nullable=False),
        sa.Column("base_currency", sa.String(length=3), nullable=False),
        sa.Column("rate", sa.String(length=40), nullable=True),
        sa.Column("fx_rate", sa.String(length=40), nullable=True),
        sa.Column("fx_source", sa.String(length=200), nullable=True),
        sa.Column("unrounded", sa.String(length=60), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_margin_lines")),
    )
    with op.batch_alter_table("margin_lines", schema=None) as batch_op:
        batch_op.create_index(
            "uq_margin_lines_line", ["period", "partner_id", "line_no"], unique=True
        )

    op.create_table(
        "rep_credit_lines",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("rep_id", sa.String(length=64), nullable=True),
        sa.Column("deal_id", sa.String(length=64), nullable=False),
        sa.Column("partner_ids", sa.String(length=400), nullable=True),
        sa.Column("via_partner", sa.Boolean(), nullable=False),
        sa.Column("plan_label", sa.String(length=120), nullable=False),
        sa.Column("credit_basis", sa.String(length=16), nullable=False),
        sa.Column("credit_minor", sa.BigInteger(), nullable=False),
        sa.Column("commission_rate", sa.String(length=40), nullable=False),
        sa.Column("commission_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rep_credit_lines")),
    )
    with op.batch_alter_table("rep_credit_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rep_credit_lines_period"), ["period"], unique=False)
        batch_op.create_index(batch_op.f("ix_rep_credit_lines_rep_id"), ["rep_id"], unique=False)
        batch_op.create_index("uq_rep_credit_lines_deal", ["period", "deal_id"], unique=True)

    op.create_table(
        "batches",
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("draft_hash", sa.String(length=64), nullable=False),
        sa.Column("fact_revision", sa.BigInteger(), nullable=False),
        sa.Column("line_count", sa.BigInteger(), nullable=False),
        sa.Column("calculated_by", sa.String(length=200), nullable=False),
        sa.Column("calculated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_hash", sa.String(length=64), nullable=True),
        sa.Column("closed_by", sa.String(length=200), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('draft', 'approved', 'closed')", name=op.f("ck_batches_status")
        ),
        sa.CheckConstraint(
            "approved_by IS NULL OR approved_by != calculated_by",
            name=op.f("ck_batches_maker_checker"),
        ),
        sa.ForeignKeyConstraint(
            ["period"], ["periods.period"], name=op.f("fk_batches_period_periods")
        ),
        sa.PrimaryKeyConstraint("period", name=op.f("pk_batches")),
    )
    op.create_table(
        "payout_instructions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("end_to_end_id", sa.String(length=35), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("bank_reference", sa.String(length=100), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'paid', 'failed')", name=op.f("ck_payout_instructions_status")
        ),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_payout_instructions_positive")),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_payout_instructions_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_instructions")),
    )
    with op.batch_alter_table("payout_instructions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payout_instructions_period"), ["period"], unique=False)
        batch_op.create_index(
            "uq_payout_instructions_partner", ["period", "partner_id"], unique=True
        )
    for table in ("ledger_entries", "margin_lines"):
        append_only.protect(op, table)
        append_only.freeze_closed_periods(op, table, ("INSERT",))
    for table in ("draft_lines", "rep_credit_lines"):
        append_only.freeze_closed_periods(op, table, ("INSERT", "UPDATE", "DELETE"))
    append_only.freeze_columns(
        op, "payout_instructions", ("period", "partner_id", "amount_minor", "currency")
    )


def downgrade() -> None:
    append_only.unfreeze_columns(op, "payout_instructions")
    for table in ("draft_lines", "rep_credit_lines"):
        append_only.unfreeze_closed_periods(op, table, ("INSERT", "UPDATE", "DELETE"))
    for table in ("ledger_entries", "margin_lines"):
        append_only.unfreeze_closed_periods(op, table, ("INSERT",))
        append_only.unprotect(op, table)

    with op.batch_alter_table("payout_instructions", schema=None) as batch_op:
        batch_op.drop_index("uq_payout_instructions_partner")
        batch_op.drop_index(batch_op.f("ix_payout_instructions_period"))

    op.drop_table("payout_instructions")
    op.drop_table("batches")
    with op.batch_alter_table("rep_credit_lines", schema=None) as batch_op:
        batch_op.drop_index("uq_rep_credit_lines_deal")
        batch_op.drop_index(batch_op.f("ix_rep_credit_lines_rep_id"))
        batch_op.drop_index(batch_op.f("ix_rep_credit_lines_period"))

    op.drop_table("rep_credit_lines")
    with op.batch_alter_table("margin_lines", schema=None) as batch_op:
        batch_op.drop_index("uq_margin_lines_line")

    op.drop_table("margin_lines")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index("uq_ledger_entries_line")
        batch_op.drop_index("ix_ledger_entries_partner")
        batch_op.drop_index("ix_ledger_entries_invoice")
        batch_op.drop_index("ix_ledger_entries_customer")

    op.drop_table("ledger_entries")
    with op.batch_alter_table("draft_lines", schema=None) as batch_op:
        batch_op.drop_index("uq_draft_lines_line")

    op.drop_table("draft_lines")
