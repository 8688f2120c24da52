"""Batches and approvals, draft lines and payees, rep credit, payouts and their results."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from payouts.base import Base, BigId, Currency, ExternalId
from payouts.lines import LineColumns


class Batch(Base):
    """One per period: its current draft and where it stands.

    `run_no` counts the period's runs; an approval names the run and the draft hash it
    approved, so any recalculation leaves it behind. Approvals live in their own
    append-only table (`BatchApproval`): the service's database role can add one but
    never rewrite who approved. The database also refuses to mark a batch approved or
    closed without a matching approval, and any change to a closed batch."""

    __tablename__ = "batches"
    __table_args__ = (CheckConstraint("status IN ('draft', 'approved', 'closed')", name="status"),)

    period: Mapped[str] = mapped_column(String(7), ForeignKey("periods.period"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    run_no: Mapped[int] = mapped_column(BigInteger, doc="1 for the first run, +1 each rerun.")
    draft_hash: Mapped[str] = mapped_column(String(64))
    fact_revision: Mapped[int] = mapped_column(BigInteger)
    line_count: Mapped[int] = mapped_column(BigInteger)
    calculated_by: Mapped[str] = mapped_column(String(200))
    calculated_at: Mapped[datetime]
    closed_by: Mapped[str | None] = mapped_column(String(200))
    closed_at: Mapped[datetime | None]

    approvals: Mapped[list[BatchApproval]] = relationship(
        order_by="BatchApproval.id", viewonly=True, lazy="selectin"
    )

    @property
    def approval(self) -> BatchApproval | None:
        """The approval of the current run and draft, if there is one."""
        for approval in reversed(self.approvals):
            if approval.run_no == self.run_no and approval.draft_hash == self.draft_hash:
                return approval
        return None

    @property
    def approved_by(self) -> str | None:
        return self.approval.approved_by if self.approval else None

    @property
    def approved_at(self) -> datetime | None:
        return self.approval.approved_at if self.approval else None

    @property
    def approved_hash(self) -> str | None:
        return self.approval.draft_hash if self.approval else None


class BatchApproval(Base):
    """Who approved which run of a period's batch, bound to its draft hash (append-only).

    The draft hash covers the draft lines, the rep credit and the payee details each
    payout will use (`DraftPayee`): that is everything an approval freezes."""

    __tablename__ = "batch_approvals"
    __table_args__ = (Index("uq_batch_approvals_run", "period", "run_no", unique=True),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    period: Mapped[str] = mapped_column(String(7), ForeignKey("batches.period"))
    run_no: Mapped[int] = mapped_column(BigInteger)
    draft_hash: Mapped[str] = mapped_column(String(64))
    approved_by: Mapped[str] = mapped_column(String(200))
    approved_at: Mapped[datetime]


class DraftPayee(Base):
    """Where a partner's payout of a period goes, as it stood when the draft was run.

    Written by every run for every partner and hashed with the draft, so an approval
    covers the bank details it pays to; a close copies them onto the payout
    instruction. A later amendment of the partner reaches the next run only."""

    __tablename__ = "draft_payees"
    __table_args__ = (PrimaryKeyConstraint("period", "partner_id"),)

    period: Mapped[str] = mapped_column(String(7))
    partner_id: Mapped[str] = mapped_column(ExternalId)
    name: Mapped[str] = mapped_column(String(200))
    account_holder: Mapped[str | None] = mapped_column(String(200))
    iban: Mapped[str | None] = mapped_column(String(42))
    bic: Mapped[str | None] = mapped_column(String(11))


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
    """Money to send to a partner, decided at close (append-only).

    It carries the payee details frozen with the approved draft, so the payout file of
    a closed month pays exactly the account that was approved. `end_to_end_id` is the
    reference the bank carries back: unique across all payouts (the database says so).
    What the bank did with it is a `PayoutResult`."""

    __tablename__ = "payout_instructions"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="positive"),
        Index("uq_payout_instructions_partner", "period", "partner_id", unique=True),
        Index("uq_payout_instructions_end_to_end_id", "end_to_end_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    amount_minor: Mapped[int] = mapped_column(BigInteger, doc="Amount paid, minor units.")
    currency: Mapped[str] = mapped_column(Currency)
    end_to_end_id: Mapped[str] = mapped_column(String(35), doc="Reference the bank carries.")
    payee_name: Mapped[str] = mapped_column(String(200))
    account_holder: Mapped[str | None] = mapped_column(String(200))
    iban: Mapped[str | None] = mapped_column(String(42))
    bic: Mapped[str | None] = mapped_column(String(11))

    result: Mapped[PayoutResult | None] = relationship(viewonly=True, lazy="selectin")

    @property
    def status(self) -> str:
        """pending until the bank's result is recorded, then paid or failed."""
        return self.result.status if self.result is not None else "pending"


class PayoutResult(Base):
    """What the bank did with one payout: recorded once, never changed (append-only)."""

    __tablename__ = "payout_results"
    __table_args__ = (
        CheckConstraint("status IN ('paid', 'failed')", name="status"),
        CheckConstraint("status = 'paid' OR reason IS NOT NULL", name="failure_reason"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    instruction_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("payout_instructions.id"), unique=True
    )
    status: Mapped[str] = mapped_column(String(16))
    bank_reference: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime]


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


class DraftSlice(Base):
    """A slice of a distributed run's draft, as a worker calculated it (`jobs`).

    One row per (period, run, slice), written by the worker in one transaction that is
    also the slice's "done" mark: a slice whose worker died before committing has no
    row and is calculated again; a slice calculated twice (a worker presumed dead that
    was only slow) keeps its first row. The run reads the rows in slice order into its
    own transaction's draft, then deletes them."""

    __tablename__ = "draft_slices"
    __table_args__ = (PrimaryKeyConstraint("period", "run_id", "slice_no"),)

    period: Mapped[str] = mapped_column(String(7))
    run_id: Mapped[str] = mapped_column(String(32), doc="A run's own random id.")
    slice_no: Mapped[int] = mapped_column(Integer, doc="Its place in partner order, from 0.")
    partners: Mapped[int] = mapped_column(Integer)
    lines: Mapped[int] = mapped_column(BigInteger)
    copy_text: Mapped[bytes | None] = mapped_column(
        LargeBinary, doc="The slice's draft rows in COPY text (`draft.DRAFT_COLUMNS`)."
    )
    error: Mapped[str | None] = mapped_column(Text, doc="Why the slice could not be calculated.")
    done_at: Mapped[datetime]
