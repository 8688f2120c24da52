"""Calculating one period: each partner's plans over the facts that reach it.

Work is partitioned by partner: `gathering.gather` reads everything from the database
once and builds one `PartnerWork` per partner (plain, picklable data), and
`calculate_partner` turns a `PartnerWork` into lines without touching the database, so
partners can be spread over processes. Each segment of a partner's month (a plan
version over some days, `accounting.Segment`) is calculated on its own; only facts
accounted in this period produce lines.

Rep credit (`rep_line_chunks`) is the program plan's credit for each deal's owner rep.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import groupby
from operator import itemgetter

from sqlalchemy.orm import Session

from payouts import plan_book
from payouts.batch import accounting
from payouts.batch import repository as batch_repository
from payouts.batch.accounting import Segment
from payouts.periods import Month
from plans import facts as f
from plans.calculator import calculate, recalculate_clawbacks
from plans.components.rep_credit import RepCreditRule, credit_on
from plans.earnings import Earning
from plans.line_kinds import LineKind
from plans.model import PlanVersion

RESALE_ROLES = ("sourced", "resale")


@dataclass(frozen=True, slots=True)
class Line:
    """A calculated line ready to store: the earning plus where it belongs."""

    earning: Earning
    plan_label: str
    prior_period: str | None

    @property
    def entry_kind(self) -> LineKind:
        return accounting.entry_kind(
            self.earning.line_kind, payable=self.earning.payable, prior_period=self.prior_period
        )


@dataclass
class PartnerWork:
    """Everything needed to calculate one partner's period, without the database."""

    partner_id: str
    partner_type: str
    payout_currency: str
    period: str
    segments: list[Segment] = field(default_factory=list)
    deals: dict[str, f.Deal] = field(default_factory=dict)
    invoices: dict[str, f.Invoice] = field(default_factory=dict)
    refunds: list[f.Refund] = field(default_factory=list)
    cancellations: list[f.Cancellation] = field(default_factory=list)
    customers: dict[str, f.CustomerHistory] = field(default_factory=dict)
    paid: list[tuple[str, f.PaidEarning]] = field(default_factory=list)  # (plan_id, earning)
    events: list[f.SpiffEvent] = field(default_factory=list)
    tiers: dict[str, str] = field(default_factory=dict)  # plan_id -> tier in force
    metrics: dict[str, f.PartnerMetrics] = field(default_factory=dict)  # plan_id -> metrics
    rebate_volume: dict[str, Decimal] = field(default_factory=dict)  # plan_id -> volume
    allowed: set[tuple[str, date | None]] = field(default_factory=set)
    late_days: set[date] = field(default_factory=set)  # of allowed facts dated before the period
    fx_table: f.FxTable = f.NO_FX


Run = tuple[str, str | None, list[Earning]]
"""Consecutive lines of one partner sharing a plan label and prior period:
(plan label, prior period or None, earnings in stored order)."""


def calculate_partner(work: PartnerWork) -> list[Line]:
    """All lines of one partner's period, in a deterministic order. Pure."""
    return [
        Line(e, label, prior) for label, prior, earnings in partner_runs(work) for e in earnings
    ]


def partner_runs(work: PartnerWork) -> list[Run]:
    """`calculate_partner`'s lines, in its order, without a `Line` per line: the draft
    encodes these directly (a wrapper a line was a tenth of the calculation's time)."""
    runs: list[Run] = []
    invoices = tuple(work.invoices.values())
    segments = sorted(work.segments, key=lambda s: (s.start, s.plan.plan_id))
    # What was paid only matters to clawbacks, and only refunds and cancellations claw
    # back: most partners skip that bookkeeping (a fifth of a large batch's time).
    clawing = bool(work.refunds or work.cancellations)
    earned: list[tuple[str, f.PaidEarning]] = []
    for index, segment in enumerate(segments):
        plan_id = segment.plan.plan_id
        prior = segment.month if segment.month != work.period else None
        if clawing:
            paid = [p for pid, p in (*work.paid, *earned) if pid == plan_id]
            results = _run(work, segment, invoices, paid)
            clawed = _paid_on_clawed(work, segment, results)
            if clawed:
                # A refund or cancellation of an invoice earned in this very segment:
                # claw back what this run pays on it too (only clawbacks change). Pay on
                # other invoices changes no clawback; it is only passed when it could
                # clash with the currency of an earlier payment (an error to report).
                if any(p.currency != work.payout_currency for p in paid):
                    clawed = _invoice_earnings(results)
                results = _run(work, segment, invoices, paid + clawed, results)
            if index + 1 < len(segments):  # only later segments read what this one paid
                earned.extend((plan_id, p) for p in _invoice_earnings(results))
        else:
            results = _run(work, segment, invoices, [])
        runs.append((segment.plan_label, prior, results))
    if len(runs) == 1:
        # One calculation is already in `_line_order`: `calculate` sorts by the same
        # fields but the plan id (a single one here), and it only gets to the last,
        # the invoice id, for lines that all carry one (None does not compare with str).
        return runs
    merged = sorted(
        ((e, label, prior) for label, prior, earnings in runs for e in earnings),
        key=lambda line: _line_order(line[0]),
    )
    return [
        (label, prior, [e for e, _, _ in group])
        for (label, prior), group in groupby(merged, key=itemgetter(1, 2))
    ]


def _run(
    work: PartnerWork,
    seg: Segment,
    invoices: tuple[f.Invoice, ...],
    paid_earnings: list[f.PaidEarning],
    earlier: list[Earning] | None = None,
) -> list[Earning]:
    """The segment's lines from facts accounted in this period; `earlier`, this segment's
    lines with other paid earnings, spares calculating the components again."""
    plan_id = seg.plan.plan_id
    facts = f.PartnerFacts(
        partner_id=work.partner_id,
        period_start=seg.start,
        period_end=seg.end,
        payout_currency=work.payout_currency,
        partner_type=work.partner_type,
        tier=work.tiers.get(plan_id),
        metrics=work.metrics.get(plan_id),
        deals=work.deals,
        invoices=invoices,
        refunds=tuple(work.refunds),
        cancellations=tuple(work.cancellations),
        customers=work.customers,
        paid_earnings=tuple(paid_earnings),
        events=tuple(work.events),
        rebate_volume=work.rebate_volume.get(plan_id) if seg.month == work.period else None,
        fx=work.fx_table,
    )
    if earlier is None:
        lines = calculate(seg.plan, facts)
    else:
        lines = recalculate_clawbacks(seg.plan, facts, earlier)
    # Only lines from facts accounted in this period: invoices by their basis date,
    # other facts by id; rebates belong to the period that ends them. (Inline: once a line.)
    allowed = work.allowed
    return [
        e
        for e in lines
        if (e.source_fact, e.fact_date) in allowed
        or (e.source_fact, None) in allowed
        or e.source_fact.startswith("rebate:")
    ]


def _line_order(e: Earning) -> tuple[object, ...]:
    return (
        e.fact_date,
        e.source_fact,
        e.plan_id,
        e.component_id,
        e.line_kind.value,
        e.invoice_id or "",
    )


def _invoice_earnings(results: list[Earning]) -> list[f.PaidEarning]:
    return [
        f.PaidEarning(e.source_fact, e.invoice_id, e.component_id, e.amount, e.currency)
        for e in results
        if e.payable and e.invoice_id and e.line_kind is LineKind.earning and e.amount
    ]


def _paid_on_clawed(
    work: PartnerWork, segment: Segment, results: list[Earning]
) -> list[f.PaidEarning]:
    """What `results` pay on invoices that a refund or cancellation dated in the
    segment concerns (of `_invoice_earnings`, the only ones clawbacks would read)."""
    start, end = segment.start, segment.end
    refunded = {r.invoice_id for r in work.refunds if start <= r.refund_date <= end}
    cancelled = {c.customer_id for c in work.cancellations if start <= c.end_date <= end}
    if not refunded and not cancelled:
        return []
    clawed = []
    for e in results:
        if e.payable and e.invoice_id and e.line_kind is LineKind.earning and e.amount:
            invoice = work.invoices.get(e.invoice_id)
            if e.invoice_id in refunded or (
                invoice is not None and invoice.customer_id in cancelled
            ):
                clawed.append(
                    f.PaidEarning(e.source_fact, e.invoice_id, e.component_id, e.amount, e.currency)
                )
    return clawed


@dataclass
class RepLine:
    deal_id: str
    rep_id: str | None
    partner_ids: str | None
    via_partner: bool
    plan_label: str
    credit_basis: str
    credit: Decimal
    commission_rate: Decimal
    commission: Decimal
    currency: str
    explanation: str


@dataclass
class PeriodWork:
    period: str
    fact_revision: int
    partners: list[PartnerWork]


REP_CHUNK_DEALS = 20_000
"""Deals whose rep credit is read and calculated at once: the run holds one chunk of the
month's deals, not all of them (a month of 630,000 deals held 1.3 GB)."""


def rep_line_chunks(session: Session, period: str) -> Iterator[list[RepLine]]:
    """Quota credit and commission of the owner rep of each deal accounted in the period,
    under the program plan assigned, and in force, on the deal's close date: in order of
    deal id, a chunk of deals at a time."""
    month = Month.parse(period)
    assignments = plan_book.assignments(session, date.min, month.end)
    timeline = plan_book.PlanTimeline.load(session, {a.plan_id for a in assignments})
    program = sorted(
        (a for a in assignments if a.partner_id is None),
        key=lambda a: (a.plan_id, a.effective_from),
    )
    # The plan, its rule and label depend on the close date only: found once a date.
    crediting: dict[date, tuple[PlanVersion, RepCreditRule, str] | None] = {}

    def crediting_on(day: date) -> tuple[PlanVersion, RepCreditRule, str] | None:
        if day not in crediting:
            crediting[day] = _crediting(program, timeline, day)
        return crediting[day]

    for deals in batch_repository.rep_credited_deals(session, period, REP_CHUNK_DEALS):
        yield [
            line
            for _, deal in sorted(deals.items())
            if (line := _rep_line(deal, crediting_on)) is not None
        ]


def _crediting(
    program: list[plan_book.Assigned], timeline: plan_book.PlanTimeline, day: date
) -> tuple[PlanVersion, RepCreditRule, str] | None:
    """The program plan in force on `day` with a rep credit rule, its rule and label."""
    for assigned in program:
        # Assigned from its first day up to, not including, its last: as a partner's.
        if day < assigned.effective_from or (
            assigned.effective_to is not None and day >= assigned.effective_to
        ):
            continue
        plan = timeline.in_force(assigned.plan_id, day)
        if plan is None:
            continue
        rule = next((c for c in plan.components if isinstance(c, RepCreditRule)), None)
        if rule is not None:
            return plan, rule, timeline.label(plan)
    return None


def _rep_line(
    deal: f.Deal,
    crediting_on: Callable[[date], tuple[PlanVersion, RepCreditRule, str] | None],
) -> RepLine | None:
    """The rep credit line of one deal, if it has an owner rep and a plan credits it."""
    if deal.owner_rep_id is None:
        return None  # no rep to credit
    found = crediting_on(deal.close_date)
    if found is None:
        return None
    plan, rule, label = found
    credit = credit_on(plan, rule, deal)
    partners = sorted({r.partner_id for r in deal.roles})
    return RepLine(
        deal_id=deal.deal_id,
        rep_id=deal.owner_rep_id,
        partner_ids=",".join(partners) or None,
        via_partner=credit.via_partner,
        plan_label=label,
        credit_basis=credit.credit_basis.value,
        credit=credit.credit,
        commission_rate=credit.commission_rate,
        commission=credit.commission,
        currency=credit.currency,
        explanation="\n".join(credit.explanation),
    )
