"""What-if: recalculate a period under a candidate plan version, writing nothing.

The candidate is put on top of the saved versions of its plan for the period (as if
it had been saved), every partner's lines are recalculated, and the per-partner
payable totals are compared with the period's draft or closed lines.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from payouts.batch.calculation import calculate_partner
from payouts.batch.gathering import gather
from payouts.batch.models import DraftLine
from payouts.ledger import LedgerEntry
from payouts.periods import Month, Period
from plans.line_kinds import PAYOUT_REVERSAL, LineKind
from plans.model import PlanVersion
from plans.money import from_minor, to_minor


@dataclass(frozen=True, slots=True)
class PartnerDifference:
    partner_id: str
    currency: str
    current: Decimal
    candidate: Decimal

    @property
    def difference(self) -> Decimal:
        return self.candidate - self.current


@dataclass(frozen=True, slots=True)
class Simulation:
    period: str
    compared_with: str  # "closed ledger", "draft" or "nothing yet"
    plan_id: str
    partners: list[PartnerDifference]


def simulate(session: Session, period: str, candidate: PlanVersion) -> Simulation:
    period = str(Month.parse(period))
    row = session.get(Period, period)
    work = gather(session, period, row.fact_revision if row else 0, candidate=candidate)
    proposed: dict[tuple[str, str], int] = defaultdict(int)
    for partner in work.partners:
        for line in calculate_partner(partner):
            e = line.earning
            if e.payable:
                proposed[(partner.partner_id, e.currency)] += to_minor(e.amount, e.currency)
    current: dict[tuple[str, str], int] = defaultdict(int)
    if row is not None and row.status == "closed":
        compared = "closed ledger"
        query = (
            select(LedgerEntry.partner_id, LedgerEntry.currency, func.sum(LedgerEntry.amount_minor))
            .where(
                LedgerEntry.period == period,
                LedgerEntry.entry_kind != LineKind.payout,
                LedgerEntry.entry_kind != PAYOUT_REVERSAL,
            )
            .group_by(LedgerEntry.partner_id, LedgerEntry.currency)
        )
    else:
        compared = "draft"
        query = (
            select(DraftLine.partner_id, DraftLine.currency, func.sum(DraftLine.amount_minor))
            .where(DraftLine.period == period, DraftLine.payable)
            .group_by(DraftLine.partner_id, DraftLine.currency)
        )
    for partner_id, currency, total in session.execute(query):
        current[(partner_id, currency)] = int(total or 0)
    if not current and compared == "draft":
        compared = "nothing yet"
    partners = [
        PartnerDifference(
            p, c, from_minor(current.get((p, c), 0), c), from_minor(proposed.get((p, c), 0), c)
        )
        for p, c in sorted(set(current) | set(proposed))
    ]
    return Simulation(period, compared, candidate.plan_id, partners)
