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

from collections import defaultdict, namedtuple
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from payouts import plan_book
from payouts.batch.models import PayoutHold, PayoutInstruction, PayoutResult
from payouts.errors import PayoutsError
from payouts.facts.repository import one_of, read
from payouts.ledger import LedgerEntry, MarginLine
from payouts.periods import Month
from payouts.reference.models import Partner
from payouts.tax import invoices
from payouts.tax.invoices import Document
from payouts.tiers import TierRecord
from plans.components.tier_rate import Metric, TierRate
from plans.line_kinds import ENTRY_KINDS, PAYOUT_REVERSAL, shown_as
from plans.model import PlanVersion
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


SLICE = 500
"""Partners whose statements are built from one set of queries (memory is per slice)."""

_LINE_COLUMNS = (
    "partner_id",
    "line_no",
    "entry_kind",
    "fact_date",
    "source_fact",
    "customer_id",
    "component_id",
    "component_kind",
    "prior_period",
    "base_minor",
    "base_currency",
    "rate",
    "fx_rate",
    "amount_minor",
    "currency",
    "plan_label",
    "explanation",
)
"""The posted columns a statement line shows (read as plain rows, not ORM objects)."""


def _line(row: Any, kind: LineKind, line_id: str) -> StatementLine:
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
    """The statement of `partner_id` for `period` (YYYY-MM), from posted entries: the
    one-partner case of `statements_of`, so there is one way to build a statement."""
    month = Month.parse(period)
    if session.get(Partner, partner_id) is None:
        raise StatementNotFound(f"no partner {partner_id!r}")
    return next(statements_of(session, str(month), [partner_id]))


def slices(partner_ids: Sequence[str], size: int = SLICE) -> Iterator[list[str]]:
    """`partner_ids` in consecutive slices of at most `size`, in their order."""
    for start in range(0, len(partner_ids), size):
        yield list(partner_ids[start : start + size])


def statements_of_period(
    session: Session, period: str, *, size: int = SLICE
) -> Iterator[Statement]:
    """Every statement of `period` (`partners_of_period`, in order), a slice at a time:
    only one slice's rows and statements are in memory at once."""
    for partner_ids in slices(partners_of_period(session, period), size):
        yield from statements_of(session, period, partner_ids)


def statements_of(session: Session, period: str, partner_ids: Sequence[str]) -> Iterator[Statement]:
    """The statement of each of `partner_ids` (one slice) for `period`, in their order:
    `PostedSlice.read`, then `PostedSlice.statements`."""
    return PostedSlice.read(session, period, partner_ids).statements()


def _in_slice(session: Session, column: Any, partner_ids: Sequence[str]) -> Any:
    """`column` is one of the slice's partners: one array parameter on PostgreSQL (a
    slice's 500 ids as 500 parameters cost more to send than the query to answer)."""
    return one_of(session, column, list(partner_ids))


class _Partner(NamedTuple):
    id: str
    name: str
    type: str
    locale: str
    payout_currency: str


_PostedLine = namedtuple("_PostedLine", _LINE_COLUMNS)  # type: ignore[misc]

_posted_line: Callable[[tuple[Any, ...]], Any] = _PostedLine._make
"""A posted row as read (`_lines_by_partner`), its columns by name."""

_SHOWN_AS = {kind: shown_as(kind) for kind in ENTRY_KINDS}
"""`shown_as` of each kind a ledger entry may have (the database refuses any other),
looked up rather than called: it makes an enum member by value, once a line."""


@dataclass(frozen=True, slots=True)
class PostedSlice:
    """What the statements of a slice of partners are built from, read with a fixed
    number of set-based queries whatever the slice's size: the posted lines, margin
    lines, opening balances, year-to-date sums, holds, payout references and tier
    progress of all its partners. Plain values only: building the statements from it
    (`statements`) needs no database, so it can happen in another process."""

    period: str
    partner_ids: tuple[str, ...]
    partners: dict[str, _Partner]
    entries: dict[str, list[Any]]
    margins: dict[str, list[Any]]
    opening: dict[str, int]
    ytd: dict[str, dict[str, int]]
    holds: dict[str, list[Hold]]
    references: dict[str, str]
    tiers: dict[str, TierProgress]

    @classmethod
    def read(cls, session: Session, period: str, partner_ids: Sequence[str]) -> PostedSlice:
        month = Month.parse(period)
        period = str(month)
        return cls(
            period=period,
            partner_ids=tuple(partner_ids),
            partners={
                row.id: _Partner(*row)
                for row in session.execute(
                    select(
                        Partner.id,
                        Partner.name,
                        Partner.type,
                        Partner.locale,
                        Partner.payout_currency,
                    ).where(_in_slice(session, Partner.id, partner_ids))
                )
            },
            entries=_lines_by_partner(session, LedgerEntry, period, partner_ids),
            margins=_lines_by_partner(session, MarginLine, period, partner_ids),
            opening=_opening_balances(session, month, partner_ids),
            ytd=_year_to_date_sums(session, month, partner_ids),
            holds=_holds(session, period, partner_ids),
            references=_payout_references(session, period, partner_ids),
            tiers=_tier_progress(session, period, partner_ids),
        )

    def statements(self) -> Iterator[Statement]:
        """The slice's statements, in the order of its partners."""
        month = Month.parse(self.period)
        for partner_id in self.partner_ids:
            yield self._statement(partner_id, month)

    def _statement(self, partner_id: str, month: Month) -> Statement:
        period = self.period
        partner = self.partners[partner_id]
        currency = partner.payout_currency
        lines: list[StatementLine] = []
        paid_minor = 0
        for row in self.entries.get(partner_id, ()):
            entry = _posted_line(row)
            if entry.entry_kind == LineKind.payout:
                paid_minor -= entry.amount_minor
                continue
            lines.append(_line(entry, _SHOWN_AS[entry.entry_kind], f"{period}-{entry.line_no}"))
        for margin in map(_posted_line, self.margins.get(partner_id, ())):
            lines.append(_line(margin, LineKind.margin, f"{period}-m{margin.line_no}"))
        statement = Statement.create(
            partner_id=partner.id,
            partner_name=partner.name,
            partner_type=partner.type,
            partner_locale=partner.locale,
            period=period,
            period_start=month.start,
            period_end=month.end,
            payout_currency=currency,
            opening_balance=from_minor(self.opening.get(partner_id, 0), currency),
            lines=lines,
            holds=self.holds.get(partner_id, ()),
            ytd=_year_to_date(self.ytd.get(partner_id, {}), currency),
            tier=self.tiers.get(partner_id),
            payout_reference=self.references.get(partner_id),
        )
        if statement.amount_payable != from_minor(paid_minor, currency):
            raise LedgerDisagrees(
                f"statement of {partner_id} for {period} does not agree with the ledger: payable "
                f"{statement.amount_payable} vs paid {from_minor(paid_minor, currency)}"
            )
        return statement


def _tier_progress(
    session: Session, period: str, partner_ids: Sequence[str]
) -> dict[str, TierProgress]:
    """Each partner's tier as its statement prints it (each plan version read once)."""
    plans: dict[tuple[str, int], PlanVersion] = {}
    found: dict[str, TierProgress] = {}
    for partner_id, record in _latest_tiers(session, period, partner_ids).items():
        key = (record.plan_id, record.plan_version)
        if key not in plans:
            plans[key] = plan_book.get(session, *key).plan()
        found[partner_id] = _tier_of(record, plans[key])
    return found


def _lines_by_partner(
    session: Session,
    table: type[LedgerEntry] | type[MarginLine],
    period: str,
    partner_ids: Sequence[str],
) -> dict[str, list[Any]]:
    """The slice's posted lines of `period` in `table`, per partner, in line order: plain
    tuples in `_LINE_COLUMNS` order, as the driver returns them (a slice is sent to
    another process, and a tuple is pickled several times faster than a named one)."""
    columns = [getattr(table, name) for name in _LINE_COLUMNS]
    found: dict[str, list[Any]] = defaultdict(list)
    for row in read(
        session,
        select(*columns)
        .where(table.period == period, _in_slice(session, table.partner_id, partner_ids))
        .order_by(table.partner_id, table.line_no),
    ):
        found[row[0]].append(row)
    return found


def _opening_balances(session: Session, month: Month, partner_ids: Sequence[str]) -> dict[str, int]:
    """Each partner's balance (all currencies, as `ledger.balance`) before the month."""
    return {
        partner_id: int(total or 0)
        for partner_id, total in session.execute(
            select(LedgerEntry.partner_id, func.sum(LedgerEntry.amount_minor))
            .where(
                LedgerEntry.period <= str(month.previous()),
                _in_slice(session, LedgerEntry.partner_id, partner_ids),
            )
            .group_by(LedgerEntry.partner_id)
        )
    }


def _year_to_date_sums(
    session: Session, month: Month, partner_ids: Sequence[str]
) -> dict[str, dict[str, int]]:
    """Per partner and entry kind: the sum of the calendar year's entries up to the month."""
    sums: dict[str, dict[str, int]] = defaultdict(dict)
    for partner_id, kind, total in session.execute(
        select(LedgerEntry.partner_id, LedgerEntry.entry_kind, func.sum(LedgerEntry.amount_minor))
        .where(
            _in_slice(session, LedgerEntry.partner_id, partner_ids),
            LedgerEntry.period >= f"{month.year:04d}-01",
            LedgerEntry.period <= str(month),
        )
        .group_by(LedgerEntry.partner_id, LedgerEntry.entry_kind)
    ):
        sums[partner_id][kind] = int(total or 0)
    return sums


def _holds(session: Session, period: str, partner_ids: Sequence[str]) -> dict[str, list[Hold]]:
    found: dict[str, list[Hold]] = defaultdict(list)
    for partner_id, code, reason in session.execute(
        select(PayoutHold.partner_id, PayoutHold.code, PayoutHold.reason)
        .where(PayoutHold.period == period, _in_slice(session, PayoutHold.partner_id, partner_ids))
        .order_by(PayoutHold.id)
    ):
        found[partner_id].append(Hold(code, reason))
    return found


def _payout_references(session: Session, period: str, partner_ids: Sequence[str]) -> dict[str, str]:
    """The end-to-end reference of each partner's (first) payout of the period."""
    found: dict[str, str] = {}
    for partner_id, reference in session.execute(
        select(PayoutInstruction.partner_id, PayoutInstruction.end_to_end_id)
        .where(
            PayoutInstruction.period == period,
            _in_slice(session, PayoutInstruction.partner_id, partner_ids),
        )
        .order_by(PayoutInstruction.id)
    ):
        found.setdefault(partner_id, reference)
    return found


def _latest_tiers(
    session: Session, period: str, partner_ids: Sequence[str]
) -> dict[str, TierRecord]:
    """Each partner's latest tier evaluation up to the period (by period, then plan)."""
    found: dict[str, TierRecord] = {}
    for record in session.scalars(
        select(TierRecord)
        .where(
            TierRecord.evaluated_period <= period,
            _in_slice(session, TierRecord.partner_id, partner_ids),
        )
        .order_by(
            TierRecord.partner_id,
            TierRecord.evaluated_period.desc(),
            TierRecord.plan_id,
            TierRecord.id,
        )
    ):
        found.setdefault(record.partner_id, record)
    return found


def payout_state(session: Session, partner_id: str, period: str) -> PayoutState | None:
    """What the bank did with the partner's payout of `period` (None: no payout)."""
    return payout_states(session, period, [partner_id]).get(partner_id)


def payout_states(
    session: Session, period: str, partner_ids: Sequence[str]
) -> dict[str, PayoutState]:
    """What the bank did with each payout of `period` of a slice of partners (a partner
    without a payout is absent): two queries for the whole slice."""
    found: dict[str, tuple[str, PayoutResult | None]] = {}
    for instruction in session.scalars(
        select(PayoutInstruction)
        .where(
            PayoutInstruction.period == period,
            _in_slice(session, PayoutInstruction.partner_id, partner_ids),
        )
        .order_by(PayoutInstruction.id)
    ):
        found.setdefault(instruction.partner_id, (instruction.end_to_end_id, instruction.result))
    failed = [
        f"payout:{reference}"
        for reference, result in found.values()
        if result is not None and result.status == "failed"
    ]
    returned: dict[str, str] = {}
    if failed:
        for source_fact, reversal_period in session.execute(
            select(LedgerEntry.source_fact, LedgerEntry.period)
            .where(
                LedgerEntry.entry_kind == PAYOUT_REVERSAL,
                LedgerEntry.source_fact.in_(failed),
            )
            .order_by(LedgerEntry.id)
        ):
            returned.setdefault(source_fact, reversal_period)
    states: dict[str, PayoutState] = {}
    for partner_id, (reference, result) in found.items():
        if result is None:
            states[partner_id] = PayoutState("pending")
            continue
        returned_in = returned.get(f"payout:{reference}") if result.status == "failed" else None
        states[partner_id] = PayoutState(
            result.status, result.bank_reference, result.reason, returned_in
        )
    return states


def self_billed(session: Session, partner_id: str, period: str) -> list[Document]:
    """The self-billed invoice (and credit notes) issued with the statement's payout."""
    return invoices.documents(session, partner_id, period)


def _year_to_date(sums: dict[str, int], currency: str) -> YearToDate:
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
    record = _latest_tiers(session, period, [partner_id]).get(partner_id)
    if record is None:
        return None
    return _tier_of(record, plan_book.get(session, record.plan_id, record.plan_version).plan())


def _tier_of(record: TierRecord, plan: PlanVersion) -> TierProgress:
    """A tier evaluation measured against the next tier of its plan's component."""
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
