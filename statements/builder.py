"""Assembling a partner's statement for a period from the ledger (read-only).

A statement of a closed period is rebuilt from posted entries alone (ledger entries,
margin lines, payout holds and instructions, the tier history), so anyone can
recompute it later and compare its hash with the one issued at close.

The period's own payout entry is not a line: it is the `amount_payable` (with the
payout's end-to-end reference). Opening balance + earnings + clawbacks + adjustments
is the closing balance, which is either paid or carried forward (with the holds that
explain why). A failed payout comes back as an adjustment in a later period.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from payouts import ledger, plan_book
from payouts.batch.models import PayoutHold, PayoutInstruction
from payouts.errors import PayoutsError
from payouts.ledger import LedgerEntry, MarginLine
from payouts.periods import Month
from payouts.reference.models import Partner
from payouts.tax import invoices
from payouts.tax.invoices import Document
from payouts.tiers import TierRecord
from plans.components.tier_rate import Metric, TierRate
from plans.line_kinds import PAYOUT_REVERSAL, shown_as
from plans.money import from_minor
from statements.model import (
    COUNT_UNIT,
    Hold,
    LineKind,
    PayoutState,
    Statement,
    StatementLine,
    TierProgress,
    TierRequirement,
    YearToDate,
)

METRIC_LABELS = {
    Metric.sourced_revenue: "sourced revenue (trailing {window} months)",
    Metric.certifications: "active certifications",
    Metric.campaigns: "co-marketing campaigns ({window} months)",
    Metric.registered_deals: "registered deals ({window} months)",
}


class StatementNotFound(PayoutsError):
    code = "statement-not-found"
    status = 404


class LedgerDisagrees(PayoutsError):
    """The posted entries of a period do not make a consistent statement (tampering?)."""

    code = "ledger-disagrees"
    status = 409


def _line(row: LedgerEntry | MarginLine, kind: LineKind, line_id: str) -> StatementLine:
    return StatementLine(
        line_id=line_id,
        date=row.fact_date,
        source_fact=row.source_fact,
        customer=row.customer_id,
        component=row.component_id or kind.value,
        component_kind=row.component_kind or kind.value,
        line_kind=kind,
        prior_period=row.prior_period,
        base_amount=from_minor(row.base_minor, row.base_currency),
        base_currency=row.base_currency,
        rate=Decimal(row.rate) if row.rate is not None else None,
        fx_rate=Decimal(row.fx_rate) if row.fx_rate is not None else None,
        amount=from_minor(row.amount_minor, row.currency),
        payable=kind.payable,
        plan_version=row.plan_label or "",
        explanation=row.explanation,
    )


def build(session: Session, partner_id: str, period: str) -> Statement:
    """The statement of `partner_id` for `period` (YYYY-MM), from posted entries."""
    month = Month.parse(period)
    period = str(month)
    partner = session.get(Partner, partner_id)
    if partner is None:
        raise StatementNotFound(f"no partner {partner_id!r}")
    currency = partner.payout_currency
    entries = list(
        session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.partner_id == partner_id, LedgerEntry.period == period)
            .order_by(LedgerEntry.line_no)
        )
    )
    margins = list(
        session.scalars(
            select(MarginLine)
            .where(MarginLine.partner_id == partner_id, MarginLine.period == period)
            .order_by(MarginLine.line_no)
        )
    )
    opening = ledger.balance(session, partner_id, up_to_period=str(month.previous()))
    lines: list[StatementLine] = []
    paid_minor = 0
    for entry in entries:
        if entry.entry_kind == LineKind.payout:
            paid_minor -= entry.amount_minor
            continue
        lines.append(_line(entry, shown_as(entry.entry_kind), f"{period}-{entry.line_no}"))
    for margin in margins:
        lines.append(_line(margin, LineKind.margin, f"{period}-m{margin.line_no}"))
    holds = [
        Hold(h.code, h.reason)
        for h in session.scalars(
            select(PayoutHold).where(
                PayoutHold.partner_id == partner_id, PayoutHold.period == period
            )
        )
    ]
    instruction = session.scalars(
        select(PayoutInstruction).where(
            PayoutInstruction.partner_id == partner_id, PayoutInstruction.period == period
        )
    ).first()
    statement = Statement.create(
        partner_id=partner.id,
        partner_name=partner.name,
        partner_type=partner.type,
        partner_locale=partner.locale,
        period=period,
        period_start=month.start,
        period_end=month.end,
        payout_currency=currency,
        opening_balance=from_minor(opening, currency),
        lines=lines,
        holds=holds,
        ytd=_year_to_date(session, partner_id, month, currency),
        tier=_tier(session, partner_id, period),
        payout_reference=instruction.end_to_end_id if instruction else None,
    )
    if statement.amount_payable != from_minor(paid_minor, currency):
        raise LedgerDisagrees(
            f"statement of {partner_id} for {period} does not agree with the ledger: payable "
            f"{statement.amount_payable} vs paid {from_minor(paid_minor, currency)}"
        )
    return statement


def payout_state(session: Session, partner_id: str, period: str) -> PayoutState | None:
    """What the bank did with the partner's payout of `period` (None: no payout)."""
    instruction = session.scalars(
        select(PayoutInstruction).where(
            PayoutInstruction.partner_id == partner_id, PayoutInstruction.period == period
        )
    ).first()
    if instruction is None:
        return None
    result = instruction.result
    if result is None:
        return PayoutState("pending")
    returned_in = None
    if result.status == "failed":
        returned_in = session.scalar(
            select(LedgerEntry.period).where(
                LedgerEntry.entry_kind == PAYOUT_REVERSAL,
                LedgerEntry.source_fact == f"payout:{instruction.end_to_end_id}",
            )
        )
    return PayoutState(result.status, result.bank_reference, result.reason, returned_in)


def self_billed(session: Session, partner_id: str, period: str) -> list[Document]:
    """The self-billed invoice (and credit notes) issued with the statement's payout."""
    return invoices.documents(session, partner_id, period)


def _year_to_date(session: Session, partner_id: str, month: Month, currency: str) -> YearToDate:
    sums = {
        kind: int(total or 0)
        for kind, total in session.execute(
            select(LedgerEntry.entry_kind, func.sum(LedgerEntry.amount_minor))
            .where(
                LedgerEntry.partner_id == partner_id,
                LedgerEntry.period >= f"{month.year:04d}-01",
                LedgerEntry.period <= str(month),
            )
            .group_by(LedgerEntry.entry_kind)
        )
    }
    return YearToDate(
        earnings=from_minor(sums.get(LineKind.earning, 0), currency),
        clawbacks=from_minor(sums.get(LineKind.clawback, 0), currency),
        adjustments=from_minor(
            sums.get(LineKind.adjustment, 0) + sums.get(PAYOUT_REVERSAL, 0), currency
        ),
        paid=from_minor(-sums.get(LineKind.payout, 0), currency),
    )


def tier_progress(
    session: Session, partner_id: str, period: str | None = None
) -> TierProgress | None:
    """The tier as a statement of `period` prints it; without a period, as it stands now
    (the latest evaluation)."""
    return _tier(session, partner_id, period or "9999-12")


def _tier(session: Session, partner_id: str, period: str) -> TierProgress | None:
    """The latest tier evaluation up to the period, measured against the next tier."""
    record = session.scalars(
        select(TierRecord)
        .where(TierRecord.partner_id == partner_id, TierRecord.evaluated_period <= period)
        .order_by(TierRecord.evaluated_period.desc(), TierRecord.plan_id)
        .limit(1)
    ).first()
    if record is None:
        return None
    plan = plan_book.get(session, record.plan_id, record.plan_version).plan()
    component = next(
        c for c in plan.components if isinstance(c, TierRate) and c.id == record.component_id
    )
    requirements: list[TierRequirement] = []
    next_tier = component.tier_named(record.next_tier) if record.next_tier else None
    if next_tier is not None:
        for requirement in next_tier.requirements:
            actual = Decimal(record.metrics.get(requirement.metric.value, "0"))
            threshold = requirement.at_least
            money = requirement.metric is Metric.sourced_revenue
            requirements.append(
                TierRequirement(
                    metric=METRIC_LABELS[requirement.metric].format(window=component.window_months),
                    unit=plan.currency if money else COUNT_UNIT,
                    actual=actual,
                    threshold=threshold,
                    gap=max(threshold - actual, Decimal(0)),
                )
            )
    at_risk_text = None
    if record.at_risk:
        at_risk_text = (
            f"{record.tier} is at risk: {record.reason}" if record.tier else record.reason
        )
    return TierProgress(
        current_tier=record.tier,
        next_tier=record.next_tier,
        requirements=tuple(requirements),
        gap_text=record.gap_text or (f"{record.tier} is the top tier" if record.tier else ""),
        at_risk=record.at_risk,
        at_risk_text=at_risk_text,
    )


def partners_of_period(session: Session, period: str) -> list[str]:
    """Partners with something to show for the period: entries, margin, a balance or a hold."""
    period = str(Month.parse(period))
    found = set(
        session.scalars(
            select(LedgerEntry.partner_id).where(LedgerEntry.period <= period).distinct()
        )
    )
    found |= set(
        session.scalars(select(MarginLine.partner_id).where(MarginLine.period == period).distinct())
    )
    return sorted(found)
