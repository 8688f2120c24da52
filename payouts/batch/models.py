"""Batch state, draft lines, rep credit lines and payout instructions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    PrimaryKeyConstraint,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from payouts.base import Base, BigId, Currency, ExternalId
from payouts.lines import LineColumns


class Batch(Base):
    """One per period. `draft_hash` binds an approval to the exact lines approved."""

    __tablename__ = "batches"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'approved', 'closed')", name="status"),
        CheckConstraint(
            "approved_by IS NULL OR approved_by != calculated_by", name="maker_checker"
        ),
    )

    period: Mapped[str] = mapped_column(String(7), ForeignKey("periods.period"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    draft_hash: Mapped[str] = mapped_column(String(64))
    fact_revision: Mapped[int] = mapped_column(BigInteger)
    line_count: Mapped[int] = mapped_column(BigInteger)
    calculated_by: Mapped[str] = mapped_column(String(200))
    calculated_at: Mapped[datetime]
    approved_by: Mapped[str | None] = mapped_column(String(200))
    approved_at: Mapped[datetime | None]
    approved_hash: Mapped[str | None] = mapped_column(String(64))
    closed_by: Mapped[str | None] = mapped_column(String(200))
    closed_at: Mapped[datetime | None]


class DraftLine(LineColumns, Base):
    """A calculated line awaiting approval; replaced whole by every recalculation."""

    __tablename__ = "draft_lines"
    # The natural key, no surrogate id: a run COPYs a million lines, and each index and
    # sequence call costs every one of them. A partition per period on PostgreSQL
    # (`partitions`, migration 0011).
    __table_args__ = (
        PrimaryKeyConstraint("period", "partner_id", "line_no"),
        {"postgresql_partition_by": "LIST (period)"},
    )

    # The key compared bytewise on PostgreSQL (migration 0010): the order Python gives
    # ids, and a tenth less work for COPY than the database's linguistic collation.
    period: Mapped[str] = mapped_column(
        String(7).with_variant(String(7, collation="C"), "postgresql")
    )
    partner_id: Mapped[str] = mapped_column(
        ExternalId.with_variant(String(64, collation="C"), "postgresql")
    )

    payable: Mapped[bool] = mapped_column(doc="False for resale margin: shown, never paid.")


class RepCreditLine(Base):
    """Quota credit and commission of a deal's owner rep, per period."""

    __tablename__ = "rep_credit_lines"
    __table_args__ = (Index("uq_rep_credit_lines_deal", "period", "deal_id", unique=True),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    rep_id: Mapped[str | None] = mapped_column(ExternalId, index=True)
    deal_id: Mapped[str] = mapped_column(ExternalId)
    partner_ids: Mapped[str | None] = mapped_column(String(400), doc="Partners on the deal.")
    via_partner: Mapped[bool]
    plan_label: Mapped[str] = mapped_column(String(120))
    credit_basis: Mapped[str] = mapped_column(String(16))
    credit_minor: Mapped[int] = mapped_column(BigInteger, doc="Quota credit, minor units.")
    commission_rate: Mapped[str] = mapped_column(String(40))
    commission_minor: Mapped[int] = mapped_column(BigInteger, doc="Rep commission, minor units.")
    currency: Mapped[str] = mapped_column(Currency)
    explanation: Mapped[str] = mapped_column(Text)


class PayoutInstruction(Base):
    """Money to send to a partner at close; its outcome is recorded by mark-paid."""

    __tablename__ = "payout_instructions"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'paid', 'failed')", name="status"),
        CheckConstraint("amount_minor > 0", name="positive"),
        Index("uq_payout_instructions_partner", "period", "partner_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    amount_minor: Mapped[int] = mapped_column(BigInteger, doc="Amount paid, minor units.")
    currency: Mapped[str] = mapped_column(Currency)
    end_to_end_id: Mapped[str] = mapped_column(String(35), doc="Reference the bank carries.")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    bank_reference: Mapped[str | None] = mapped_column(String(100))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str | None] = mapped_column(String(200))
    recorded_at: Mapped[datetime | None]


class PayoutHold(Base):
    """Why a partner's positive or negative balance was not paid at a close (append-only).

    Kept so that a closed statement can be rebuilt exactly, whatever happens to the
    partner's status or plan afterwards."""

    __tablename__ = "payout_holds"
    __table_args__ = (Index("uq_payout_holds_partner", "period", "partner_id", unique=True),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    code: Mapped[str] = mapped_column(String(32), doc="below_minimum, partner_on_hold, ...")
    reason: Mapped[str] = mapped_column(Text)
    balance_minor: Mapped[int] = mapped_column(BigInteger, doc="Balance held, minor units.")
    currency: Mapped[str] = mapped_column(Currency)
