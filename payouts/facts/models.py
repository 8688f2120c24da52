"""Fact tables, one per kind billing or the CRM reports.

Every fact is keyed by the source system's id (`id`), carries a `fingerprint` of its
canonical content for idempotent re-ingestion, and the `accounting_period` (YYYY-MM)
in which the batch will account for it: its own period while that is open, else the
next open one, which is how a late fact becomes a prior-period adjustment.
Money columns hold integer minor units beside their ISO 4217 currency.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from payouts.base import Base, Currency, ExternalId, utcnow

FINGERPRINT = String(64)
PERIOD = String(7)


class Deal(Base):
    __tablename__ = "deals"
    __table_args__ = (
        CheckConstraint(
            "independence IN ('vendor_led', 'assisted', 'independent')", name="independence"
        ),
        CheckConstraint("list_amount_minor >= 0 AND net_amount_minor >= 0", name="amounts"),
    )

    id: Mapped[str] = mapped_column(ExternalId, primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    list_amount_minor: Mapped[int] = mapped_column(
        BigInteger, doc="List price in minor units of `currency`."
    )
    net_amount_minor: Mapped[int] = mapped_column(
        BigInteger, doc="Negotiated price the customer pays, in minor units of `currency`."
    )
    currency: Mapped[str] = mapped_column(Currency)
    close_date: Mapped[date]
    owner_rep_id: Mapped[str | None] = mapped_column(ForeignKey("reps.id"), index=True)
    independence: Mapped[str] = mapped_column(String(16), default="vendor_led")
    fingerprint: Mapped[str] = mapped_column(FINGERPRINT)
    accounting_period: Mapped[str] = mapped_column(PERIOD, index=True)
    ingested_at: Mapped[datetime] = mapped_column(default=utcnow)


class DealRole(Base):
    """A partner's role on a deal: sourced, resale, fulfilment, referral or influence."""

    __tablename__ = "deal_roles"
    __table_args__ = (
        CheckConstraint(
            "role IN ('sourced', 'resale', 'fulfilment', 'referral', 'influence')", name="role"
        ),
        CheckConstraint(
            "(role = 'influence') = (influence_kind IS NOT NULL)", name="influence_kind"
        ),
        Index("uq_deal_roles_deal_partner_role", "deal_id", "partner_id", "role", unique=True),
    )

    id: Mapped[str] = mapped_column(ExternalId, primary_key=True)
    deal_id: Mapped[str] = mapped_column(ForeignKey("deals.id"), index=True)
    # Compared bytewise on PostgreSQL (migration 0023): a run's slice is a range of
    # partner ids in the order Python gives them, which its index then answers.
    partner_id: Mapped[str] = mapped_column(
        ExternalId.with_variant(String(64, collation="C"), "postgresql"),
        ForeignKey("partners.id"),
        index=True,
    )
    role: Mapped[str] = mapped_column(String(16))
    influence_kind: Mapped[str | None] = mapped_column(String(32))
    fingerprint: Mapped[str] = mapped_column(FINGERPRINT)
    ingested_at: Mapped[datetime] = mapped_column(default=utcnow)


class DealRegistration(Base):
    """At most one approved registration per deal: the database refuses a second one."""

    __tablename__ = "deal_registrations"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status"),
        CheckConstraint("status != 'approved' OR approved_at IS NOT NULL", name="approved_at"),
        CheckConstraint(
            "expires_at IS NULL OR approved_at IS NULL OR expires_at >= approved_at",
            name="dates",
        ),
        Index(
            "uq_deal_registrations_one_approved",
            "deal_id",
            unique=True,
            sqlite_where=text("status = 'approved'"),
            postgresql_where=text("status = 'approved'"),
        ),
    )

    id: Mapped[str] = mapped_column(ExternalId, primary_key=True)
    deal_id: Mapped[str] = mapped_column(ForeignKey("deals.id"), index=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    approved_at: Mapped[date | None]
    expires_at: Mapped[date | None]
    fingerprint: Mapped[str] = mapped_column(FINGERPRINT)
    ingested_at: Mapped[datetime] = mapped_column(default=utcnow)


class Invoice(Base):
    __tablename__ = "invoices"
    __table_args__ = (
        CheckConstraint("amount_minor >= 0", name="amount"),
        Index("ix_invoices_period_customer", "accounting_period", "customer_id"),
        Index("ix_invoices_period_deal", "accounting_period", "deal_id"),
    )

    id: Mapped[str] = mapped_column(ExternalId, primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    deal_id: Mapped[str | None] = mapped_column(ForeignKey("deals.id"), index=True)
    subscription_id: Mapped[str | None] = mapped_column(ExternalId)
    issue_date: Mapped[date] = mapped_column(index=True)
    amount_minor: Mapped[int] = mapped_column(
        BigInteger, doc="Invoiced amount in minor units of `currency`."
    )
    currency: Mapped[str] = mapped_column(Currency)
    fingerprint: Mapped[str] = mapped_column(FINGERPRINT)
    accounting_period: Mapped[str] = mapped_column(PERIOD)
    ingested_at: Mapped[datetime] = mapped_column(default=utcnow)


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (CheckConstraint("amount_minor > 0", name="amount"),)

    id: Mapped[str] = mapped_column(ExternalId, primary_key=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    paid_date: Mapped[date]
    amount_minor: Mapped[int] = mapped_column(
        BigInteger, doc="Amount received in minor units of `currency` (the invoice's)."
    )
    currency: Mapped[str] = mapped_column(Currency)
    fingerprint: Mapped[str] = mapped_column(FINGERPRINT)
    accounting_period: Mapped[str] = mapped_column(PERIOD, index=True)
    ingested_at: Mapped[datetime] = mapped_column(default=utcnow)


class Refund(Base):
    """A refund or credit note against an invoice; it may trigger a clawback."""

    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount"),
        CheckConstraint("kind IN ('refund', 'credit_note')", name="kind"),
    )

    id: Mapped[str] = mapped_column(ExternalId, primary_key=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    refund_date: Mapped[date]
    amount_minor: Mapped[int] = mapped_column(
        BigInteger, doc="Amount given back in minor units of `currency` (the invoice's)."
    )
    currency: Mapped[str] = mapped_column(Currency)
    kind: Mapped[str] = mapped_column(String(16), default="refund")
    fingerprint: Mapped[str] = mapped_column(FINGERPRINT)
    accounting_period: Mapped[str] = mapped_column(PERIOD, index=True)
    ingested_at: Mapped[datetime] = mapped_column(default=utcnow)


class Cancellation(Base):
    """A customer (or one subscription of it) stops; lifetime referral fees end here."""

    __tablename__ = "cancellations"

    id: Mapped[str] = mapped_column(ExternalId, primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    subscription_id: Mapped[str | None] = mapped_column(ExternalId)
    end_date: Mapped[date]
    fingerprint: Mapped[str] = mapped_column(FINGERPRINT)
    accounting_period: Mapped[str] = mapped_column(PERIOD, index=True)
    ingested_at: Mapped[datetime] = mapped_column(default=utcnow)


class Certification(Base):
    __tablename__ = "certifications"
    __table_args__ = (
        CheckConstraint("expires_at IS NULL OR expires_at >= earned_at", name="dates"),
    )

    id: Mapped[str] = mapped_column(ExternalId, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    earned_at: Mapped[date]
    expires_at: Mapped[date | None]
    fingerprint: Mapped[str] = mapped_column(FINGERPRINT)
    ingested_at: Mapped[datetime] = mapped_column(default=utcnow)


class Campaign(Base):
    """A co-marketing campaign a partner ran; counts toward tier qualification."""

    __tablename__ = "campaigns"

    id: Mapped[str] = mapped_column(ExternalId, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    date: Mapped[date]
    fingerprint: Mapped[str] = mapped_column(FINGERPRINT)
    ingested_at: Mapped[datetime] = mapped_column(default=utcnow)


class FxRate(Base):
    """An effective-dated exchange rate; the rate is kept as exact decimal text."""

    __tablename__ = "fx_rates"
    __table_args__ = (
        Index("uq_fx_rates_date_pair", "date", "from_currency", "to_currency", unique=True),
    )

    id: Mapped[str] = mapped_column(ExternalId, primary_key=True)
    date: Mapped[date]
    from_currency: Mapped[str] = mapped_column(Currency)
    to_currency: Mapped[str] = mapped_column(Currency)
    rate: Mapped[str] = mapped_column(String(40), doc="Units of `to` per unit of `from`.")
    source: Mapped[str] = mapped_column(String(100))
    fingerprint: Mapped[str] = mapped_column(FINGERPRINT)
    ingested_at: Mapped[datetime] = mapped_column(default=utcnow)
