"""What-if: recalculate a period under a candidate plan version, writing nothing.

The candidate is put on top of the saved versions of its plan for the period (as if
it had been saved), every partner's lines are recalculated, and the payable totals
are compared with the period's draft or closed lines: per partner, per partner and
component, and (for one partner asked for) line by line, a line being known by its
component and its source fact. Lines without a component (manual adjustments) are
compared under the component "".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from payouts.batch.calculation import calculate_partner
from payouts.batch.gathering import gather
from payouts.batch.models import DraftLine
from payouts.ledger import LedgerEntry
from payouts.periods import Month, Period
from plans.line_kinds import PAYOUT_REVERSAL, LineKind
from plans.model import PlanVersion
from plans.money import from_minor, to_minor


class _Compared:
    """A figure as it is and as the candidate plan would make it."""

    __slots__ = ()
    current: Decimal
    candidate: Decimal

    @property
    def difference(self) -> Decimal:
        return self.candidate - self.current


@dataclass(frozen=True, slots=True)
class PartnerDifference(_Compared):
    partner_id: str
    currency: str
    current: Decimal
    candidate: Decimal


@dataclass(frozen=True, slots=True)
class ComponentDifference(_Compared):
    partner_id: str
    currency: str
    component_id: str
    current: Decimal
    candidate: Decimal


@dataclass(frozen=True, slots=True)
class LineDifference(_Compared):
    component_id: str
    source_fact: str
    currency: str
    current: Decimal
    candidate: Decimal


@dataclass(frozen=True, slots=True)
class Simulation:
    period: str
    compared_with: str  # "closed ledger", "draft" or "nothing yet"
    plan_id: str
    partners: list[PartnerDifference]
    components: list[ComponentDifference]
    lines_of: str | None
    """The partner whose lines are compared (`lines`), if one was asked for."""
    lines: list[LineDifference]


# (partner, currency, component, source fact) -> payable amount in minor units
_Amounts = dict[tuple[str, str, str, str], int]


def _candidate(session: Session, period: str, revision: int, candidate: PlanVersion) -> _Amounts:
    work = gather(session, period, revision, candidate=candidate)
    proposed: _Amounts = defaultdict(int)
    for partner in work.partners:
        for line in calculate_partner(partner):
            e = line.earning
            if e.payable:
                key = (partner.partner_id, e.currency, e.component_id or "", e.source_fact)
                proposed[key] += to_minor(e.amount, e.currency)
    return proposed


def _current(session: Session, period: str, closed: bool) -> _Amounts:
    """What the month holds now, by line key: the posted ledger (payouts aside) once
    closed, else the payable draft."""
    table: type[LedgerEntry] | type[DraftLine]
    if closed:
        table = LedgerEntry
        where = and_(
            LedgerEntry.period == period,
            LedgerEntry.entry_kind != LineKind.payout,
            LedgerEntry.entry_kind != PAYOUT_REVERSAL,
        )
    else:
        table = DraftLine
        where = and_(DraftLine.period == period, DraftLine.payable)
    grouping = (table.partner_id, table.currency, table.component_id, table.source_fact)
    query = select(*grouping, func.sum(table.amount_minor)).where(where).group_by(*grouping)
    return {
        (p, c, component or "", fact): int(total or 0)
        for p, c, component, fact, total in session.execute(query)
    }


def _summed(amounts: _Amounts, width: int) -> dict[tuple[str, ...], int]:
    """The amounts summed by the first `width` parts of their key."""
    out: dict[tuple[str, ...], int] = defaultdict(int)
    for key, minor in amounts.items():
        out[key[:width]] += minor
    return out


def simulate(
    session: Session, period: str, candidate: PlanVersion, *, lines_of: str | None = None
) -> Simulation:
    period = str(Month.parse(period))
    row = session.get(Period, period)
    proposed = _candidate(session, period, row.fact_revision if row else 0, candidate)
    closed = row is not None and row.status == "closed"
    current = _current(session, period, closed)
    compared = "closed ledger" if closed else "draft" if current else "nothing yet"

    now, then = _summed(current, 2), _summed(proposed, 2)
    partners = [
        PartnerDifference(
            p, c, from_minor(now.get((p, c), 0), c), from_minor(then.get((p, c), 0), c)
        )
        for p, c in sorted(set(now) | set(then))
    ]
    now, then = _summed(current, 3), _summed(proposed, 3)
    components = [
        ComponentDifference(
            p, c, k, from_minor(now.get((p, c, k), 0), c), from_minor(then.get((p, c, k), 0), c)
        )
        for p, c, k in sorted(set(now) | set(then))
    ]
    lines = [
        LineDifference(
            k, f, c, from_minor(current.get(key, 0), c), from_minor(proposed.get(key, 0), c)
        )
        for key in sorted(set(current) | set(proposed))
        for p, c, k, f in (key,)
        if p == lines_of
    ]
    return Simulation(period, compared, candidate.plan_id, partners, components, lines_of, lines)
