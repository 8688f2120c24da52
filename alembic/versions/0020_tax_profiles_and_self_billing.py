"""Tax profiles; self-billed invoices numbered without a gap per issuing entity.

- `tax_profiles`: one per partner, amended like partners (history in the audit log);
- `invoice_series`: an issuing entity's last invoice number, advanced by exactly one
  at a time (a trigger refuses any other change);
- `self_billed_invoices`: append-only; a trigger refuses a number that is not the
  issuer's last plus one, and the unique index (issuer, number) a repeat, so two
  closes racing for a number cannot both take it and none can skip one.

Revision ID: 0020
Revises: 0016
Create Date: 2026-12-20 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from payouts import append_only

revision: str = "0020"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)

PG_NEXT_NUMBER = """
CREATE OR REPLACE FUNCTION guard_invoice_number() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.number <> COALESCE(
            (SELECT max(number) FROM self_billed_invoices WHERE issuer = NEW.issuer), 0) + 1
    THEN
        RAISE EXCEPTION 'gapless numbering: invoice % of % is not the next number', NEW.number,
            NEW.issuer USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$;
"""
PG_SERIES_STEP = """
CREATE OR REPLACE FUNCTION guard_invoice_series() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.issuer <> OLD.issuer OR NEW.last_number <> OLD.last_number + 1 THEN
        RAISE EXCEPTION 'gapless numbering: the series of % advances by one', OLD.issuer
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$;
"""
SQLITE_NEXT_NUMBER = (
    "CREATE TRIGGER self_billed_invoices_next_number BEFORE INSERT ON self_billed_invoices "
    "WHEN NEW.number <> COALESCE((SELECT max(number) FROM self_billed_invoices "
    "WHERE issuer = NEW.issuer), 0) + 1 "
    "BEGIN SELECT RAISE(ABORT, 'gapless numbering: not the next invoice number'); END"
)
SQLITE_SERIES_STEP = (
    "CREATE TRIGGER invoice_series_step BEFORE UPDATE ON invoice_series "
    "WHEN NEW.issuer <> OLD.issuer OR NEW.last_number <> OLD.last_number + 1 "
    "BEGIN SELECT RAISE(ABORT, 'gapless numbering: the series advances by one'); END"
)


def _tables() -> None:
    op.create_table(
        "tax_profiles",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tax_country", sa.String(length=2), nullable=False),
        sa.Column("entity_type", sa.String(length=16), nullable=False),
        sa.Column("form", sa.String(length=16), nullable=True),
        sa.Column("signed_on", sa.Date(), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("taxpayer_id_last4", sa.String(length=4), nullable=True),
        sa.Column("vat_id", sa.String(length=20), nullable=True),
        sa.Column("self_billing", sa.Boolean(), nullable=False),
        sa.Column("self_billing_from", sa.Date(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.CheckConstraint(
            "entity_type IN ('individual', 'business')", name=op.f("ck_tax_profiles_entity_type")
        ),
        sa.CheckConstraint(
            "form IS NULL OR form IN ('W-9', 'W-8BEN', 'W-8BEN-E', 'none_required')",
            name=op.f("ck_tax_profiles_form"),
        ),
        sa.CheckConstraint("length(tax_country) = 2", name=op.f("ck_tax_profiles_tax_country")),
        sa.CheckConstraint(
            "taxpayer_id_last4 IS NULL OR length(taxpayer_id_last4) <= 4",
            name=op.f("ck_tax_profiles_last4"),
        ),
        sa.CheckConstraint(
            "NOT self_billing OR self_billing_from IS NOT NULL",
            name=op.f("ck_tax_profiles_self_billing"),
        ),
        sa.ForeignKeyConstraint(["id"], ["partners.id"], name=op.f("fk_tax_profiles_id_partners")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tax_profiles")),
    )
    op.create_table(
        "invoice_series",
        sa.Column("issuer", sa.String(length=64), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("issuer", name=op.f("pk_invoice_series")),
    )
    op.create_table(
        "self_billed_invoices",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("issuer", sa.String(length=64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("refers_to", BigId, nullable=True),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("net_minor", sa.BigInteger(), nullable=False),
        sa.Column("vat_minor", sa.BigInteger(), nullable=False),
        sa.Column("gross_minor", sa.BigInteger(), nullable=False),
        sa.Column("vat_rule", sa.String(length=16), nullable=False),
        sa.Column("vat_rate", sa.String(length=16), nullable=False),
        sa.Column("supplier_vat_id", sa.String(length=20), nullable=True),
        sa.Column("customer_vat_id", sa.String(length=20), nullable=False),
        sa.Column("customer_name", sa.String(length=200), nullable=False),
        sa.Column("lines", sa.Text(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.CheckConstraint(
            "kind IN ('invoice', 'credit_note')", name=op.f("ck_self_billed_invoices_kind")
        ),
        sa.CheckConstraint("number > 0", name=op.f("ck_self_billed_invoices_number")),
        sa.CheckConstraint(
            "gross_minor = net_minor + vat_minor", name=op.f("ck_self_billed_invoices_gross")
        ),
        sa.CheckConstraint(
            "(kind = 'credit_note') = (refers_to IS NOT NULL)",
            name=op.f("ck_self_billed_invoices_credit_note_refers"),
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_self_billed_invoices_partner_id_partners"),
        ),
        sa.ForeignKeyConstraint(
            ["refers_to"],
            ["self_billed_invoices.id"],
            name=op.f("fk_self_billed_invoices_refers_to_self_billed_invoices"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_self_billed_invoices")),
    )
    op.create_index(
        "uq_self_billed_invoices_number",
        "self_billed_invoices",
        ["issuer", "number"],
        unique=True,
    )
    op.create_index(
        "uq_self_billed_invoices_statement",
        "self_billed_invoices",
        ["partner_id", "period"],
        unique=True,
        sqlite_where=sa.text("kind = 'invoice'"),
        postgresql_where=sa.text("kind = 'invoice'"),
    )
    op.create_index(
        "uq_self_billed_invoices_correction",
        "self_billed_invoices",
        ["partner_id", "period", "refers_to"],
        unique=True,
        sqlite_where=sa.text("kind = 'credit_note'"),
        postgresql_where=sa.text("kind = 'credit_note'"),
    )


def upgrade() -> None:
    _tables()
    append_only.install_function(op)
    append_only.protect(op, "self_billed_invoices")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_NEXT_NUMBER)
        op.execute(PG_SERIES_STEP)
        op.execute(
            "CREATE TRIGGER self_billed_invoices_next_number BEFORE INSERT ON "
            "self_billed_invoices FOR EACH ROW EXECUTE FUNCTION guard_invoice_number()"
        )
        op.execute(
            "CREATE TRIGGER invoice_series_step BEFORE UPDATE ON invoice_series "
            "FOR EACH ROW EXECUTE FUNCTION guard_invoice_series()"
        )
    else:
        op.execute(SQLITE_NEXT_NUMBER)
        op.execute(SQLITE_SERIES_STEP)


def downgrade() -> None:
    append_only.unprotect(op, "self_billed_invoices")
    op.drop_index("uq_self_billed_invoices_correction", table_name="self_billed_invoices")
    op.drop_index("uq_self_billed_invoices_statement", table_name="self_billed_invoices")
    op.drop_index("uq_self_billed_invoices_number", table_name="self_billed_invoices")
    op.drop_table("self_billed_invoices")
    op.drop_table("invoice_series")
    op.drop_table("tax_profiles")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS guard_invoice_number()")
        op.execute("DROP FUNCTION IF EXISTS guard_invoice_series()")
