"""What the journal reads: one closed month's ledger, payouts, rep credit and close.

Every figure comes from the append-only ledger (and the rep credit posted with it),
summed by the database per group; plan versions say how each component is booked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, exists, func, select
from sqlalchemy.orm import Session, aliased

from payouts.batch.models import Batch, RepCreditLine
from payouts.errors import PayoutsError
from payouts.ledger import LedgerEntry
from payouts.periods import Month, Period
from payouts.plan_book import PlanVersionRecord
from payouts.tax.models import SelfBilledInvoice
from plans.accounting import EXPENSE, Accounting, Treatment


class MonthNotClosed(PayoutsError):
    code = "month-not-closed"
    status = 409


@dataclass(frozen=True, slots=True)
class LedgerGroup:
    """The sum of a month's ledger entries sharing a kind, prior period, component and
    currency (in minor units), and how many entries it sums."""

    entry_kind: str
    prior_period: str | None
    plan_label: str | None
    component_id: str | None
    component_kind: str | None
    currency: str
    amount_minor: int
    entries: int


@dataclass(frozen=True, slots=True)
class ClosedMonth:
    period: str
    close_hash: str
    """The approved draft hash the month was closed with (`payouts batch review`)."""
    closed_at: datetime


def closed_month(session: Session, period: str) -> ClosedMonth:
    period = str(Month.parse(period))
    row = session.get(Period, period)
    batch = session.get(Batch, period)
    if (
        row is None
        or row.status != "closed"
        or batch is None
        or batch.status != "closed"
        or batch.closed_at is None
    ):
        raise MonthNotClosed(f"{period} is not closed: a journal is made of a closed month")
    return ClosedMonth(period, batch.draft_hash, batch.closed_at)


def ledger_groups(session: Session, period: str) -> list[LedgerGroup]:
    e = LedgerEntry
    query = (
        select(
            e.entry_kind,
            e.prior_period,
            e.plan_label,
            e.component_id,
            e.component_kind,
            e.currency,
            func.sum(e.amount_minor),
            func.count(),
        )
        .where(e.period == period)
        .group_by(
            e.entry_kind, e.prior_period, e.plan_label, e.component_id, e.component_kind, e.currency
        )
    )
    return sorted(
        (
            LedgerGroup(k, pp, label, cid, kind, ccy, int(total), int(n))
            for k, pp, label, cid, kind, ccy, total, n in session.execute(query)
        ),
        key=_group_key,
    )


def capitalised_groups(
    session: Session, through: str, treatments: dict[tuple[str, str], Accounting]
) -> list[tuple[str, LedgerGroup]]:
    """(period, group) of every ledger group through `through` whose component is
    capitalised: the layers of the capitalised costs' waterfall."""
    labels = sorted({label for (label, _), a in treatments.items() if _capitalised(a)})
    if not labels:
        return []
    e = LedgerEntry
    query = (
        select(
            e.period,
            e.entry_kind,
            e.prior_period,
            e.plan_label,
            e.component_id,
            e.component_kind,
            e.currency,
            func.sum(e.amount_minor),
            func.count(),
        )
        .where(e.period <= through, e.plan_label.in_(labels))
        .group_by(
            e.period,
            e.entry_kind,
            e.prior_period,
            e.plan_label,
            e.component_id,
            e.component_kind,
            e.currency,
        )
    )
    found = [
        (p, LedgerGroup(k, pp, label, cid, kind, ccy, int(total), int(n)))
        for p, k, pp, label, cid, kind, ccy, total, n in session.execute(query)
    ]
    return sorted(
        ((p, g) for p, g in found if _capitalised(treatment_of(treatments, g))),
        key=lambda item: (item[0], _group_key(item[1])),
    )


def rep_commissions(session: Session, period: str) -> dict[str, int]:
    """Currency -> the month's rep commission, in minor units."""
    r = RepCreditLine
    query = (
        select(r.currency, func.sum(r.commission_minor))
        .where(r.period == period)
        .group_by(r.currency)
    )
    return {currency: int(total) for currency, total in session.execute(query) if total}


@dataclass(frozen=True, slots=True)
class SelfBilledVat:
    """Currency -> (VAT in minor units, documents): the VAT the month's payouts paid on
    top of the commission (its close's self-billed invoices and correcting credit notes),
    and the VAT that came back with the failed payouts returned in the month (each
    cancelled by a credit note of the failed payout's own period)."""

    paid: dict[str, tuple[int, int]]
    returned: dict[str, tuple[int, int]]


def self_billed_vat(session: Session, period: str) -> SelfBilledVat:
    d = SelfBilledInvoice
    corrected = aliased(SelfBilledInvoice)
    at_close = (
        select(d.currency, func.sum(d.vat_minor), func.count())
        .outerjoin(corrected, corrected.id == d.refers_to)
        .where(d.period == period)
        .where((d.refers_to.is_(None)) | (corrected.period < d.period))
        .group_by(d.currency)
    )
    reversal = LedgerEntry
    returned = (
        select(d.currency, -func.sum(d.vat_minor), func.count())
        .join(corrected, corrected.id == d.refers_to)
        .where(corrected.period == d.period)
        .where(
            exists().where(
                and_(
                    reversal.period == period,
                    reversal.entry_kind == "payout_reversal",
                    reversal.partner_id == d.partner_id,
                    reversal.prior_period == d.period,
                )
            )
        )
        .group_by(d.currency)
    )
    return SelfBilledVat(_vat_by_currency(session, at_close), _vat_by_currency(session, returned))


def _vat_by_currency(session: Session, query: Select[str, int, int]) -> dict[str, tuple[int, int]]:
    return {
        currency: (int(vat), int(count)) for currency, vat, count in session.execute(query) if vat
    }


def treatments(session: Session) -> dict[tuple[str, str], Accounting]:
    """(plan label, component id) -> its accounting treatment, for every saved version.
    A version is immutable, so a line's treatment never changes after it is posted."""
    found: dict[tuple[str, str], Accounting] = {}
    for record in session.scalars(select(PlanVersionRecord)):
        for component in record.plan().components:
            found[(record.label, component.id)] = component.accounting or EXPENSE
    return found


def treatment_of(known: dict[tuple[str, str], Accounting], group: LedgerGroup) -> Accounting:
    if group.plan_label is None or group.component_id is None:
        return EXPENSE
    return known.get((group.plan_label, group.component_id), EXPENSE)


def _capitalised(accounting: Accounting) -> bool:
    return accounting.booked_as is Treatment.capitalise


def _group_key(g: LedgerGroup) -> tuple[str, ...]:
    return (
        g.entry_kind,
        g.prior_period or "",
        g.currency,
        g.component_id or "",
        g.component_kind or "",
        g.plan_label or "",
    )
