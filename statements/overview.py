"""A partner's standing at a glance: what the portal's dashboard and statement list show.

Read-only, from posted records: the tier as the statement prints it, the balance, the
last statement's carry-forward and holds, what the next close is expected to pay (as
the close's payout policy would decide it: `payouts.batch.payout_policy`),
the last twelve months of earnings, clawbacks and payouts, and each issued statement
with what became of its amount payable. Statement figures come from the statement
as issued (its canonical JSON), so the list shows exactly what the partner was sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from payouts import fx, issued, ledger, partner_holds
from payouts.batch import payout_policy
from payouts.batch.errors import MinimumNotComparable
from payouts.batch.models import Batch, DraftLine, PayoutInstruction
from payouts.ledger import LedgerEntry
from payouts.periods import Month, Period
from payouts.reference.models import Partner
from payouts.tax import profiles as tax_forms
from plans.line_kinds import LineKind
from plans.money import from_minor
from statements.builder import payout_state, tier_progress
from statements.model import Hold, PayoutState, TierProgress

CHART_MONTHS = 12


class Outcome:
    """What became of a statement's amount payable (stable codes for the pages)."""

    PAID = "paid"
    SENT = "sent"
    FAILED = "failed"
    HELD = "held"
    CARRIED = "carried_forward"
    NOTHING = "nothing_payable"


@dataclass(frozen=True, slots=True)
class StatementSummary:
    period: str
    currency: str
    amount_payable: Decimal
    carry_forward: Decimal
    closing_balance: Decimal
    holds: tuple[Hold, ...]
    payout: PayoutState | None
    content_hash: str

    @property
    def outcome(self) -> str:
        if self.payout is not None:
            return {"paid": Outcome.PAID, "failed": Outcome.FAILED}.get(
                self.payout.status, Outcome.SENT
            )
        if self.holds:
            return Outcome.HELD
        return Outcome.CARRIED if self.carry_forward else Outcome.NOTHING


@dataclass(frozen=True, slots=True)
class MonthFigures:
    period: str
    earnings: Decimal
    clawbacks: Decimal
    """Zero or negative."""
    paid: Decimal
    """Paid out in the month, as a positive amount."""


@dataclass(frozen=True, slots=True)
class NextPayout:
    period: str
    """The next month to close."""
    balance: Decimal
    """Posted so far: what the last close carried forward, and any later postings."""
    draft: Decimal | None
    """The month's payable lines as last calculated (None: not calculated yet)."""
    currency: str
    minimum: Decimal
    minimum_currency: str
    """The plan's currency (the close converts a minimum in another currency)."""
    partner_status: str
    hold: Hold | None = None
    """What the payout policy would hold the estimate for, as the close decides it."""
    undecided: str | None = None
    """Why the policy cannot decide yet (a minimum with no FX rate to compare it)."""

    @property
    def estimate(self) -> Decimal:
        return self.balance + (self.draft or 0)

    @property
    def expected(self) -> bool | None:
        """Whether the close is expected to pay the estimate (None: cannot tell yet). An
        estimate: the close decides, by the same policy."""
        if self.undecided is not None:
            return None
        return self.estimate != 0 and self.hold is None


@dataclass(frozen=True, slots=True)
class Overview:
    partner_id: str
    partner_name: str
    partner_type: str
    locale: str
    currency: str
    tier: TierProgress | None
    balance: Decimal
    last_statement: StatementSummary | None
    next_payout: NextPayout
    months: tuple[MonthFigures, ...]


def statement_summaries(session: Session, partner_id: str) -> list[StatementSummary]:
    """Every statement issued to the partner, newest first, with its payout's fate."""
    rows = issued.periods_of(session, partner_id)
    payouts = {
        i.period: i
        for i in session.scalars(
            select(PayoutInstruction).where(PayoutInstruction.partner_id == partner_id)
        )
    }
    out: list[StatementSummary] = []
    for row in rows:
        document = json.loads(row.canonical_json) if row.canonical_json else {}
        currency = document.get("payout_currency", "")
        out.append(
            StatementSummary(
                period=row.period,
                currency=currency,
                amount_payable=Decimal(document.get("amount_payable", "0")),
                carry_forward=Decimal(document.get("carry_forward", "0")),
                closing_balance=Decimal(document.get("closing_balance", "0")),
                holds=tuple(Hold(h["code"], h["reason"]) for h in document.get("holds", [])),
                payout=payout_state(session, partner_id, row.period)
                if row.period in payouts
                else None,
                content_hash=row.content_hash,
            )
        )
    return out


def _months(session: Session, partner_id: str, currency: str) -> tuple[MonthFigures, ...]:
    last = session.scalar(
        select(func.max(LedgerEntry.period)).where(LedgerEntry.partner_id == partner_id)
    )
    if last is None:
        return ()
    end = Month.parse(last)
    periods = [end]
    while len(periods) < CHART_MONTHS:
        periods.insert(0, periods[0].previous())
    sums: dict[tuple[str, str], int] = {
        (period, kind): int(total or 0)
        for period, kind, total in session.execute(
            select(LedgerEntry.period, LedgerEntry.entry_kind, func.sum(LedgerEntry.amount_minor))
            .where(
                LedgerEntry.partner_id == partner_id,
                LedgerEntry.period >= str(periods[0]),
                LedgerEntry.period <= str(end),
            )
            .group_by(LedgerEntry.period, LedgerEntry.entry_kind)
        )
    }
    first = min(period for period, _ in sums) if sums else str(end)
    return tuple(
        MonthFigures(
            period=str(p),
            earnings=from_minor(sums.get((str(p), LineKind.earning), 0), currency),
            clawbacks=from_minor(sums.get((str(p), LineKind.clawback), 0), currency),
            paid=from_minor(-sums.get((str(p), LineKind.payout), 0), currency),
        )
        for p in periods
        if str(p) >= first  # a partner newer than a year: from its first month
    )


def _next_period(session: Session) -> str:
    last_closed = session.scalar(select(func.max(Period.period)).where(Period.status == "closed"))
    if last_closed is not None:
        return str(Month.parse(last_closed).next())
    first = session.scalar(select(func.min(Period.period)))
    return first or "2026-01"


def _decision(
    session: Session,
    partner: Partner,
    period: str,
    estimate_minor: int,
    minimum: payout_policy.Minimum | None,
) -> tuple[Hold | None, str | None]:
    """The hold the close's payout policy would give the estimate, or why it cannot
    tell: the same rules, minimums, tax forms and FX rates as `batch.close`."""
    month = Month.parse(period)
    currency = partner.payout_currency
    try:
        found = payout_policy.hold_of(
            balance_minor=estimate_minor,
            currency=currency,
            partner_status=partner.status,
            tax_form_missing=bool(tax_forms.gaps(session, month.end, [partner.id])),
            finance_hold=partner_holds.is_held(session, partner.id),
            minimum=minimum,
            rates=fx.table(session),
            month=month,
        )
    except MinimumNotComparable as exc:
        return None, exc.message
    return (None if found is None else Hold(found.code, found.reason)), None


def next_payout(session: Session, partner: Partner) -> NextPayout:
    period = _next_period(session)
    currency = partner.payout_currency
    balance = ledger.balance(session, partner.id)
    draft: int | None = None
    if session.get(Batch, period) is not None:
        total = session.scalar(
            select(func.coalesce(func.sum(DraftLine.amount_minor), 0)).where(
                DraftLine.period == period,
                DraftLine.partner_id == partner.id,
                DraftLine.payable,
            )
        )
        draft = int(total or 0)
    minimum = payout_policy.minimums(session, period, {partner.id}).get(partner.id)
    hold, undecided = _decision(session, partner, period, balance + (draft or 0), minimum)
    return NextPayout(
        period,
        from_minor(balance, currency),
        None if draft is None else from_minor(draft, currency),
        currency,
        minimum.amount if minimum else Decimal(0),
        minimum.currency if minimum else currency,
        partner.status,
        hold,
        undecided,
    )


def overview(session: Session, partner: Partner) -> Overview:
    statements = statement_summaries(session, partner.id)
    currency = partner.payout_currency
    return Overview(
        partner_id=partner.id,
        partner_name=partner.name,
        partner_type=partner.type,
        locale=partner.locale,
        currency=currency,
        tier=tier_progress(session, partner.id),
        balance=from_minor(ledger.balance(session, partner.id), currency),
        last_statement=statements[0] if statements else None,
        next_payout=next_payout(session, partner),
        months=_months(session, partner.id, currency),
    )
