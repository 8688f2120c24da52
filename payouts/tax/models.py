"""The tax tables: each partner's tax profile, the self-billed invoices and credit
notes, and the numbering series per issuing entity.

A tax profile is reference data (amended, with before and after in the audit log). An
invoice is a document: append-only, numbered without a gap per issuing entity. The
database enforces the numbering (migration 0020): a number is the issuer's last plus
one, unique per issuer, and no invoice is ever changed or deleted.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from payouts.base import Base, BigId, Currency, ExternalId, utcnow

FORMS = ("W-9", "W-8BEN", "W-8BEN-E", "none_required")
ENTITY_TYPES = ("individual", "business")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class TaxProfile(Base):
    """A partner's tax facts as the CRM or finance sends them; one per partner."""

    __tablename__ = "tax_profiles"
    __table_args__ = (
        CheckConstraint(_in("entity_type", ENTITY_TYPES), name="entity_type"),
        CheckConstraint(f"form IS NULL OR {_in('form', FORMS)}", name="form"),
        CheckConstraint("length(tax_country) = 2", name="tax_country"),
        CheckConstraint(
            "taxpayer_id_last4 IS NULL OR length(taxpayer_id_last4) <= 4", name="last4"
        ),
        CheckConstraint("NOT self_billing OR self_billing_from IS NOT NULL", name="self_billing"),
    )

    id: Mapped[str] = mapped_column(
        ExternalId, ForeignKey("partners.id"), primary_key=True, doc="The partner's id."
    )
    tax_country: Mapped[str] = mapped_column(String(2), doc="ISO 3166 country of tax residence.")
    entity_type: Mapped[str] = mapped_column(String(16))
    form: Mapped[str | None] = mapped_column(
        String(16), doc="The form on file; NULL: none received yet."
    )
    signed_on: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(
        Date, doc="Last day the form is valid (W-8); NULL: it does not expire (W-9)."
    )
    taxpayer_id_last4: Mapped[str | None] = mapped_column(
        String(4), doc="Only the last four characters of the taxpayer id are ever kept."
    )
    vat_id: Mapped[str | None] = mapped_column(String(20), doc="Compact form, checked.")
    self_billing: Mapped[bool] = mapped_column(default=False)
    self_billing_from: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InvoiceSeries(Base):
    """The last number an issuing entity gave a self-billed document.

    Taken with a row lock in the closing transaction, so concurrent closes queue for
    it, and a rolled-back close gives its number back: no gap, no repeat."""

    __tablename__ = "invoice_series"

    issuer: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class SelfBilledInvoice(Base):
    """A self-billed invoice (or credit note) the vendor issued in a partner's name.

    Amounts in the payout currency's minor units: `net_minor` is the commission,
    `vat_minor` the VAT added (0 under reverse charge or outside the scope),
    `gross_minor` their sum, which is what the payout pays."""

    __tablename__ = "self_billed_invoices"
    __table_args__ = (
        Index("uq_self_billed_invoices_number", "issuer", "number", unique=True),
        # One invoice a statement; its credit notes, one per invoice they correct.
        Index(
            "uq_self_billed_invoices_statement",
            "partner_id",
            "period",
            unique=True,
            sqlite_where=text("kind = 'invoice'"),
            postgresql_where=text("kind = 'invoice'"),
        ),
        Index(
            "uq_self_billed_invoices_correction",
            "partner_id",
            "period",
            "refers_to",
            unique=True,
            sqlite_where=text("kind = 'credit_note'"),
            postgresql_where=text("kind = 'credit_note'"),
        ),
        CheckConstraint("kind IN ('invoice', 'credit_note')", name="kind"),
        CheckConstraint("number > 0", name="number"),
        CheckConstraint("gross_minor = net_minor + vat_minor", name="gross"),
        CheckConstraint(
            "(kind = 'credit_note') = (refers_to IS NOT NULL)", name="credit_note_refers"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    issuer: Mapped[str] = mapped_column(String(64))
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    refers_to: Mapped[int | None] = mapped_column(
        ForeignKey("self_billed_invoices.id"), doc="The invoice a credit note corrects."
    )
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    period: Mapped[str] = mapped_column(String(7))
    issued_on: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(Currency)
    net_minor: Mapped[int] = mapped_column(BigInteger)
    vat_minor: Mapped[int] = mapped_column(BigInteger)
    gross_minor: Mapped[int] = mapped_column(BigInteger)
    vat_rule: Mapped[str] = mapped_column(String(16), doc="domestic, reverse_charge, outside_scope")
    vat_rate: Mapped[str] = mapped_column(String(16), doc="A decimal fraction as text: 0.19")
    supplier_vat_id: Mapped[str | None] = mapped_column(String(20), doc="The partner's.")
    customer_vat_id: Mapped[str] = mapped_column(String(20), doc="The issuer's.")
    customer_name: Mapped[str] = mapped_column(String(200), doc="The issuer's legal name.")
    lines: Mapped[str] = mapped_column(Text, doc="The invoice's lines as canonical JSON.")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
