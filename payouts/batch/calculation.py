"""Calculating one period: gather the facts accounted in it, run each partner's plans.

Work is partitioned by partner: `gather` reads everything from the database once and
builds one `PartnerWork` per partner (plain, picklable data), and `calculate_partner`
turns a `PartnerWork` into lines without touching the database, so partners can be
spread over processes.

Facts are grouped into segments by the month of their date and the plan version in
force on that date: a plan change in the middle of a month splits the month, and a
late fact (dated in a closed month, accounted in this one) is calculated under its own
month's plan and becomes a prior-period adjustment. Only facts accounted in this
period produce lines; older facts are context (a January invoice for a March refund).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from itertools import groupby
from operator import attrgetter, itemgetter
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    Subquery,
    and_,
    exists,
    func,
    null,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased

from payouts import fx, plan_book, tiers
from payouts.batch import accounting
from payouts.facts import models as m
from payouts.facts import repository
from payouts.ledger import LedgerEntry
from payouts.periods import Month
from payouts.reference.models import Partner
from plans import facts as f
from plans.calculator import calculate, recalculate_clawbacks
from plans.calendar import rebate_period_bounds
from plans.components.rep_credit import RepCreditRule, credit_on
from plans.components.tier_rate import TierRate
from plans.components.volume_rebate import VolumeRebate
from plans.earnings import Earning
from plans.line_kinds import LineKind
from plans.model import PlanVersion
from plans.money import from_minor, minor_exponent

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


@dataclass(frozen=True, slots=True)
class Segment:
    plan: PlanVersion
    plan_label: str
    month: str
    start: date
    end: date


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


@dataclass(frozen=True, slots=True)
class PartnerRange:
    """The partners whose ids lie in [first, last], in code point order (Python's).

    Gathering one range reads only the facts that reach its partners, so ranges can be
    gathered in separate processes and their lines concatenated in partner order."""

    first: str
    last: str

    def __contains__(self, partner_id: object) -> bool:
        return isinstance(partner_id, str) and self.first <= partner_id <= self.last

    def where(self, session: Session, column: Any) -> ColumnElement[bool]:
        """The same test in SQL. PostgreSQL's default collation may order ids otherwise
        than Python; "C" compares bytes, and UTF-8 bytes sort as code points do."""
        if session.get_bind().dialect.name == "postgresql":
            column = column.collate("C")
        return cast(ColumnElement[bool], column.between(self.first, self.last))

    @staticmethod
    def split(partner_ids: list[str], count: int) -> list[PartnerRange]:
        """`count` ranges (or fewer) holding about as many of the partners each."""
        ordered = sorted(set(partner_ids))
        size = max(1, -(-len(ordered) // max(1, count)))
        return [
            PartnerRange(ordered[start], ordered[min(start + size, len(ordered)) - 1])
            for start in range(0, len(ordered), size)
        ]


@dataclass(frozen=True, slots=True)
class PartnerRanges:
    """The partners of several ranges, in order and apart: a batch worker's share of
    interleaved slices (`parallel`). Gathered as one, like a single range."""

    ranges: tuple[PartnerRange, ...]

    def __contains__(self, partner_id: object) -> bool:
        if not isinstance(partner_id, str):
            return False
        # The first range that does not end before the id is the only one to hold it.
        index = bisect_left(self.ranges, partner_id, key=attrgetter("last"))
        return index < len(self.ranges) and partner_id in self.ranges[index]

    def where(self, session: Session, column: Any) -> ColumnElement[bool]:
        return or_(*(r.where(session, column) for r in self.ranges))


Partners = PartnerRange | PartnerRanges
"""Whose work to gather: one range or several."""


def gather(
    session: Session,
    period: str,
    fact_revision: int,
    candidate: PlanVersion | None = None,
    *,
    partners: Partners | None = None,
) -> PeriodWork:
    """Read the period's facts and their context; build one unit of work per partner.

    `candidate` (what-if simulation) is an unsaved plan version put on top of its plan.
    With `partners`, only those partners' work is built, and the large reads (the
    month's invoices, payments and deals) are limited to what reaches them."""
    month = Month.parse(period)
    rates = fx.table(session)
    assignments = plan_book.assignments(session, date.min, month.end)
    plan_ids = {a.plan_id for a in assignments}
    timeline = plan_book.PlanTimeline.load(session, plan_ids)
    if candidate is not None:
        timeline = timeline.with_candidate(candidate)

    # What reaches the range's partners: deals they have a role on, and every invoice
    # of the customers they referred (a superset is harmless: work_for filters).
    reaching: list[ColumnElement[bool]] = []  # on invoices
    deal_scope: list[ColumnElement[bool]] = []  # on deals
    if partners is not None:
        role_deals = select(m.DealRole.deal_id).where(
            partners.where(session, m.DealRole.partner_id)
        )
        referred_customers = (
            select(m.Deal.customer_id)
            .join(m.DealRole, m.DealRole.deal_id == m.Deal.id)
            .where(
                m.DealRole.role == "referral",
                m.Deal.close_date <= month.end,
                partners.where(session, m.DealRole.partner_id),
            )
        )
        reaching.append(
            or_(m.Invoice.deal_id.in_(role_deals), m.Invoice.customer_id.in_(referred_customers))
        )
        deal_scope.append(m.Deal.id.in_(role_deals))

    # Facts accounted in this period.
    # Plain rows, not ORM objects: a month can hold a million invoices.
    # Per invoice paid in the period: the last payment's date and the total paid, summed
    # by the database. The month's own invoices get theirs in the scan that reads them
    # (below); those of earlier months paid now are found here and read as context.
    paid = (
        select(
            m.Payment.invoice_id,
            func.max(m.Payment.paid_date).label("day"),
            # bigint, not PostgreSQL's numeric sum: an int is cheaper to read than a Decimal.
            func.sum(m.Payment.amount_minor).cast(BigInteger).label("total"),
        )
        .where(m.Payment.accounting_period == period)
        .group_by(m.Payment.invoice_id)
        .subquery()
    )
    paid_on: dict[str, tuple[date, int]] = {
        invoice_id: (day, int(total))
        for invoice_id, day, total in repository.read(
            session,
            select(paid.c.invoice_id, paid.c.day, paid.c.total)
            .join(m.Invoice, m.Invoice.id == paid.c.invoice_id)
            .where(m.Invoice.accounting_period != period, *reaching),
        )
    }
    refunds = _rows(session, m.Refund, m.Refund.accounting_period == period)
    cancellations = _rows(session, m.Cancellation, m.Cancellation.accounting_period == period)

    # One immutable record per invoice, shared by every partner it concerns: the
    # month's invoices, and as context refunded or paid ones from earlier months and
    # those of cancelled customers.
    invoice_rows: dict[str, f.Invoice] = {}
    invoices = _invoices(
        session, invoice_rows, paid_on, m.Invoice.accounting_period == period, *reaching, paid=paid
    )
    wanted = {r.invoice_id for r in refunds} | paid_on.keys()
    for chunk in repository.chunks(wanted - invoice_rows.keys()):
        _invoices(session, invoice_rows, paid_on, m.Invoice.id.in_(chunk))
    for chunk in repository.chunks({c.customer_id for c in cancellations}):
        _invoices(
            session,
            invoice_rows,
            paid_on,
            m.Invoice.customer_id.in_(chunk),
            m.Invoice.accounting_period <= period,
        )

    # The month's deals (of its invoices, or closed in it) by subquery, the few deals
    # of context invoices by id.
    # (Two disjoint queries: an OR of the two conditions defeats PostgreSQL's semi-join.)
    closed = repository.deals_where(session, m.Deal.accounting_period == period, *deal_scope)
    deals = dict(closed)
    deals.update(
        repository.deals_where(
            session,
            m.Deal.accounting_period != period,
            m.Deal.id.in_(
                select(m.Invoice.deal_id).where(m.Invoice.accounting_period == period, *reaching)
            ),
        )
    )
    deals.update(
        repository.deals(
            session, {i.deal_id for i in invoice_rows.values() if i.deal_id} - set(deals)
        )
    )

    # Referral partners reach every invoice of the customers they referred.
    referrers: dict[str, set[str]] = defaultdict(set)
    referral_deals: dict[tuple[str, str], set[str]] = defaultdict(set)
    referral_query = (
        select(m.Deal.customer_id, m.DealRole.partner_id, m.Deal.id)
        .join(m.DealRole, m.DealRole.deal_id == m.Deal.id)
        .where(m.DealRole.role == "referral", m.Deal.close_date <= month.end)
    )
    for customer_id, partner_id, deal_id in repository.read(session, referral_query):
        referrers[customer_id].add(partner_id)
        referral_deals[(customer_id, partner_id)].add(deal_id)
    deals.update(
        repository.deals(
            session,
            {
                deal_id
                for (_, partner_id), ids in referral_deals.items()
                if partners is None or partner_id in partners
                for deal_id in ids
            }
            - set(deals),
        )
    )

    def partners_of(invoice: Any) -> set[str]:
        found = set(referrers.get(invoice.customer_id, ()))
        if invoice.deal_id and invoice.deal_id in deals:
            found.update(r.partner_id for r in deals[invoice.deal_id].roles)
        return found

    partner_rows = {
        p.id: p
        for p in session.scalars(select(Partner).where(*_scoped(session, partners, Partner.id)))
        if partners is None or p.id in partners
    }
    works: dict[str, PartnerWork] = {}

    def work_for(partner_id: str) -> PartnerWork | None:
        if partner_id not in partner_rows:
            return None
        work = works.get(partner_id)
        if work is None:
            row = partner_rows[partner_id]
            work = works[partner_id] = PartnerWork(
                partner_id=partner_id,
                partner_type=row.type,
                payout_currency=row.payout_currency,
                period=period,
                fx_table=rates,
            )
        return work

    def add_invoice(work: PartnerWork, invoice: f.Invoice) -> None:
        if invoice.invoice_id in work.invoices:
            return
        work.invoices[invoice.invoice_id] = invoice
        if invoice.deal_id and invoice.deal_id in deals:
            work.deals[invoice.deal_id] = deals[invoice.deal_id]
        for deal_id in referral_deals.get((invoice.customer_id, work.partner_id), ()):
            work.deals[deal_id] = deals[deal_id]

    # The hot loop of a large month (a million invoices): each invoice is new here, so
    # it goes to each of its partners once: to the works of its deal's partners, found
    # on the deal's first invoice (a deal has many), and to the partners who referred
    # its customer. Partners outside the gathered range have no work and are skipped
    # once a deal. (The order of an invoice's partners does not matter: each partner's
    # own facts keep the order of the invoices.)
    deal_partners: dict[str, tuple[str, ...]] = {}
    for deal_id, on_deal in deals.items():
        ours = tuple(
            p for p in dict.fromkeys(r.partner_id for r in on_deal.roles) if p in partner_rows
        )
        if ours:
            deal_partners[deal_id] = ours
    deal_works: dict[str, list[PartnerWork]] = {}
    start = month.start
    for invoice in invoices:
        invoice_id, invoice_deal, issued = invoice.invoice_id, invoice.deal_id, invoice.issue_date
        targets: list[PartnerWork] = []
        if invoice_deal:
            found = deal_works.get(invoice_deal)
            if found is None:
                found = deal_works[invoice_deal] = [
                    w for p in deal_partners.get(invoice_deal, ()) if (w := work_for(p)) is not None
                ]
            targets = found
        referred = referrers.get(invoice.customer_id)
        if not targets and not referred:
            continue
        # Its lines are kept on its issue date and, if it was paid in the period (the
        # same scan says), on its paid date too (the paid basis).
        source, paid_day = "invoice:" + invoice_id, invoice.paid_date
        allowed = (
            ((source, issued),) if paid_day is None else ((source, issued), (source, paid_day))
        )
        # Dated in an earlier month: a prior-period adjustment (rare).
        late = (
            [day for _, day in allowed if day < start]
            if issued < start or (paid_day is not None and paid_day < start)
            else None
        )
        deal = deals.get(invoice_deal) if invoice_deal else None
        for target in targets:
            target.invoices[invoice_id] = invoice
            target.allowed.update(allowed)
            if late:
                target.late_days.update(late)
            if deal is not None:
                target.deals[deal.deal_id] = deal
        for partner_id in referred or ():
            work = works.get(partner_id) or work_for(partner_id)
            if work is None:
                continue
            work.invoices[invoice_id] = invoice
            work.allowed.update(allowed)
            if late:
                work.late_days.update(late)
            if deal is not None:
                work.deals[deal.deal_id] = deal
            for referral_deal in referral_deals.get((invoice.customer_id, partner_id), ()):
                work.deals[referral_deal] = deals[referral_deal]
    # Invoices of earlier months paid in this one (the month's own are done above).
    for invoice_id, (paid_date, _) in paid_on.items():
        invoice = invoice_rows[invoice_id]
        paid_allowed = (f"invoice:{invoice_id}", paid_date)
        partner_ids = deal_partners.get(invoice.deal_id, ()) if invoice.deal_id else ()
        if invoice.customer_id in referrers:
            partner_ids = tuple(partners_of(invoice))
        for partner_id in partner_ids:
            work = works.get(partner_id) or work_for(partner_id)
            if work is not None:
                add_invoice(work, invoice)
                work.allowed.add(paid_allowed)
                if paid_date < start:
                    work.late_days.add(paid_date)
    for refund in refunds:
        row = invoice_rows[refund.invoice_id]
        for partner_id in partners_of(row):
            work = work_for(partner_id)
            if work is not None:
                add_invoice(work, row)
                work.refunds.append(
                    f.Refund(
                        refund.id,
                        refund.invoice_id,
                        refund.refund_date,
                        from_minor(refund.amount_minor, refund.currency),
                        refund.currency,
                        f.RefundKind(refund.kind),
                    )
                )
                work.allowed.add((f"refund:{refund.id}", None))
    customer_invoices: dict[str, list[f.Invoice]] = defaultdict(list)
    for row in invoice_rows.values():
        customer_invoices[row.customer_id].append(row)
    for cancellation in cancellations:
        touched: set[str] = set()
        for row in customer_invoices.get(cancellation.customer_id, []):
            for partner_id in partners_of(row):
                work = work_for(partner_id)
                if work is not None:
                    add_invoice(work, row)
                    touched.add(partner_id)
        for partner_id in sorted(touched | referrers.get(cancellation.customer_id, set())):
            work = work_for(partner_id)
            if work is None:
                continue
            work.cancellations.append(
                f.Cancellation(
                    cancellation.id,
                    cancellation.customer_id,
                    cancellation.end_date,
                    cancellation.subscription_id,
                )
            )
            work.allowed.add((f"cancellation:{cancellation.id}", None))
    for closed_deal in closed.values():
        for role in closed_deal.roles:
            work = work_for(role.partner_id)
            if work is not None:
                work.deals[closed_deal.deal_id] = closed_deal
                work.allowed.add((f"deal:{closed_deal.deal_id}", None))

    _spiff_events(session, month, deals, work_for, partners)
    _customer_history(session, works, month, referrers)
    _paid_earnings(session, works, timeline, period)

    # Plans in force for each partner; segments by month and version.
    by_partner: dict[str, set[str]] = defaultdict(set)
    # Indexed once: scanning every assignment for every partner and day was quadratic.
    by_pair: dict[tuple[str, str], list[plan_book.Assigned]] = defaultdict(list)
    for a in assignments:
        if a.partner_id is not None:
            by_partner[a.partner_id].add(a.plan_id)
            by_pair[(a.partner_id, a.plan_id)].append(a)
    segments: dict[tuple[str, str, tuple[tuple[date, date | None], ...]], list[Segment]] = {}
    for work in works.values():
        months = _fact_months(work, month)
        for plan_id in sorted(by_partner.get(work.partner_id, ())):
            spans = tuple(
                sorted(
                    (
                        (a.effective_from, a.effective_to)
                        for a in by_pair[(work.partner_id, plan_id)]
                    ),
                    key=lambda span: (span[0], span[1] or date.max),
                )
            )
            for fact_month in months:
                key = (plan_id, fact_month, spans)
                if key not in segments:
                    segments[key] = _segments(timeline, spans, plan_id, Month.parse(fact_month))
                work.segments.extend(segments[key])
    in_force = tiers.in_force(session, period)
    _tiers_and_rebates(session, works, timeline, in_force, month, rates, by_partner)

    ordered = [works[p] for p in sorted(works) if works[p].segments]
    return PeriodWork(period, fact_revision, ordered)


SKIPPED_COLUMNS = frozenset({"ingested_at", "fingerprint"})


def _rows(session: Session, model: type[Any], *where: Any) -> list[Any]:
    """The table's rows as plain named tuples (attribute access by column name), without
    the bookkeeping columns the calculation never reads (timestamps cost a conversion)."""
    columns = [c for c in model.__table__.c if c.name not in SKIPPED_COLUMNS]
    session.flush()
    return list(session.connection().execute(select(*columns).where(*where)))


def _invoices(
    session: Session,
    records: dict[str, f.Invoice],
    paid_on: dict[str, tuple[date, int]],
    *where: Any,
    paid: Subquery | None = None,
) -> list[f.Invoice]:
    """The invoices matching `where` as records (kept in `records`, built once each).

    What was paid on them in the period comes from `paid_on` (invoices of earlier
    months), or, given the `paid` subquery (per invoice: last payment date and total),
    from the same query. Read as plain tuples and unpacked: attribute access on a
    result row costs a quarter of a microsecond, ten of them an invoice, a million
    invoices a month."""
    columns = (
        m.Invoice.id,
        m.Invoice.customer_id,
        m.Invoice.issue_date,
        m.Invoice.amount_minor,
        m.Invoice.currency,
        m.Invoice.deal_id,
        m.Invoice.subscription_id,
    )
    query: Select[*tuple[Any, ...]]
    if paid is None:
        query = select(*columns, null(), null()).where(*where)
    else:
        query = (
            select(*columns, paid.c.day, paid.c.total)
            .outerjoin(paid, paid.c.invoice_id == m.Invoice.id)
            .where(*where)
        )
    by_query = paid is not None
    found: list[f.Invoice] = []
    new_record = tuple.__new__  # f.Invoice(...) without its Python-level __new__
    # Per currency: -exponent (from_minor, its checks hoisted) and the amounts seen so
    # far. Prices repeat from invoice to invoice: an amount is one immutable Decimal.
    currencies: dict[str, tuple[int, dict[int, Decimal]]] = {}
    for (
        invoice_id,
        customer_id,
        issued,
        amount_minor,
        currency,
        deal_id,
        subscription,
        paid_day,
        paid_total,
    ) in repository.read(session, query):
        record = records.get(invoice_id)
        if record is None:
            known = currencies.get(currency)
            if known is None:
                known = currencies[currency] = (-minor_exponent(currency), {})
            scale, amounts = known
            amount = amounts.get(amount_minor)  # BIGINT: always an int
            if amount is None:
                amount = amounts[amount_minor] = Decimal(amount_minor).scaleb(scale)
            payment: tuple[date, int] | None
            if paid_day is not None:
                payment = (paid_day, int(paid_total))
            else:  # with `paid`, the query's own answer: nothing paid in the period
                payment = None if by_query else paid_on.get(invoice_id)
            paid_amount: Decimal | None = None
            if payment is not None:
                paid_amount = amounts.get(payment[1])
                if paid_amount is None:
                    paid_amount = amounts[payment[1]] = Decimal(payment[1]).scaleb(scale)
            record = records[invoice_id] = new_record(
                f.Invoice,
                (
                    invoice_id,
                    customer_id,
                    issued,
                    amount,
                    currency,
                    deal_id,
                    subscription,
                    payment[0] if payment else None,
                    paid_amount,
                ),
            )
        found.append(record)
    return found


def _fact_months(work: PartnerWork, month: Month) -> list[str]:
    """Months of this partner's new facts: the period itself, plus any late ones."""
    start, end = month.start, month.end
    months = {str(month), *(str(Month.of(day)) for day in work.late_days)}
    for refund in work.refunds:
        if (f"refund:{refund.refund_id}", None) in work.allowed:
            months.add(str(Month.of(min(refund.refund_date, end))))
    for c in work.cancellations:
        if (f"cancellation:{c.cancellation_id}", None) in work.allowed:
            months.add(str(Month.of(min(c.end_date, end))))
    for deal in work.deals.values():
        if deal.close_date < start and (f"deal:{deal.deal_id}", None) in work.allowed:
            months.add(str(Month.of(deal.close_date)))
    return sorted(months)


def _segments(
    timeline: plan_book.PlanTimeline,
    spans: tuple[tuple[date, date | None], ...],
    plan_id: str,
    month: Month,
) -> list[Segment]:
    """Split a month by plan version and a partner's assignment `spans` to the plan
    ([from, to) each). Partners with the same spans share the result."""
    segments: list[Segment] = []
    day, end = month.start, month.end
    current: tuple[PlanVersion, date] | None = None
    while day <= end:
        assigned = any(since <= day and (until is None or day < until) for since, until in spans)
        plan = timeline.in_force(plan_id, day) if assigned else None
        if current is not None and (plan is None or plan != current[0]):
            segments.append(
                Segment(
                    current[0],
                    timeline.label(current[0]),
                    str(month),
                    current[1],
                    day - timedelta(days=1),
                )
            )
            current = None
        if plan is not None and current is None:
            current = (plan, day)
        day += timedelta(days=1)
    if current is not None:
        segments.append(
            Segment(current[0], timeline.label(current[0]), str(month), current[1], end)
        )
    return segments


def _spiff_events(
    session: Session,
    month: Month,
    deals: dict[str, f.Deal],
    work_for: Callable[[str], PartnerWork | None],
    partners: Partners | None,
) -> None:
    """New logos, registrations approved and certifications earned in the month.

    A new logo is the first deal (by close date, then id) of a customer with no deal
    closed before the month: decided by the database over all the month's deals, even
    when only some partners' work is being gathered (ids compared as Python does)."""

    def by_id(deal: Any) -> Any:  # deal ids compared as Python compares them
        return deal.id.collate("C") if session.get_bind().dialect.name == "postgresql" else deal.id

    deal, other = m.Deal, aliased(m.Deal)
    before = or_(  # `other` makes `deal` no new logo
        other.close_date < month.start,
        and_(
            other.accounting_period == str(month),
            or_(
                other.close_date < deal.close_date,
                and_(other.close_date == deal.close_date, by_id(other) < by_id(deal)),
            ),
        ),
    )
    sourced = select(m.DealRole.deal_id).where(
        m.DealRole.role == f.Role.sourced.value,
        *_scoped(session, partners, m.DealRole.partner_id),
    )
    new_logos = repository.read(
        session,
        select(deal.id, deal.close_date, deal.customer_id).where(
            deal.accounting_period == str(month),
            deal.id.in_(sourced),
            ~exists().where(other.customer_id == deal.customer_id, before),
        ),
    )
    for deal_id, close_date, customer_id in sorted(new_logos, key=itemgetter(1, 0)):
        found = deals.get(deal_id)  # absent: none of the partners gathered is on it
        for role in found.roles if found is not None else ():
            if role.role is f.Role.sourced and (work := work_for(role.partner_id)) is not None:
                event_id = f"new_logo:{deal_id}"
                work.events.append(
                    f.SpiffEvent(
                        event_id, role.partner_id, f.SpiffKind.new_logo, close_date, customer_id
                    )
                )
                work.allowed.add((f"event:{event_id}", None))
    registrations = select(
        m.DealRegistration.id, m.DealRegistration.partner_id, m.DealRegistration.approved_at
    ).where(
        m.DealRegistration.status == "approved",
        m.DealRegistration.approved_at >= month.start,
        m.DealRegistration.approved_at <= month.end,
        *_scoped(session, partners, m.DealRegistration.partner_id),
    )
    for registration_id, partner_id, approved_at in repository.read(session, registrations):
        if (work := work_for(partner_id)) is not None and approved_at is not None:
            event_id = f"registration:{registration_id}"
            work.events.append(
                f.SpiffEvent(
                    event_id, partner_id, f.SpiffKind.deal_registration_approved, approved_at
                )
            )
            work.allowed.add((f"event:{event_id}", None))
    certifications = select(
        m.Certification.id, m.Certification.partner_id, m.Certification.earned_at
    ).where(
        m.Certification.earned_at >= month.start,
        m.Certification.earned_at <= month.end,
        *_scoped(session, partners, m.Certification.partner_id),
    )
    for certification_id, partner_id, earned_at in repository.read(session, certifications):
        if (work := work_for(partner_id)) is not None:
            event_id = f"certification:{certification_id}"
            work.events.append(
                f.SpiffEvent(event_id, partner_id, f.SpiffKind.certification_earned, earned_at)
            )
            work.allowed.add((f"event:{event_id}", None))


def _scoped(session: Session, partners: Partners | None, column: Any) -> list[Any]:
    """The condition limiting `column` (a partner id) to `partners`, if any."""
    return [] if partners is None else [partners.where(session, column)]


def _customer_history(
    session: Session, works: dict[str, PartnerWork], month: Month, referrers: dict[str, set[str]]
) -> None:
    """First invoice, cancellation and referral pay so far, for referred customers."""
    referred: list[tuple[PartnerWork, list[str]]] = []  # each work's referred customers
    for work in works.values():
        found = {i.customer_id for i in work.invoices.values() if i.customer_id in referrers}
        if found:
            referred.append((work, sorted(found)))
    customers = {c for _, ids in referred for c in ids}
    if not customers:
        return
    first: dict[str, tuple[date, str]] = {}
    ended: dict[str, date] = {}
    paid: dict[tuple[str, str], int] = defaultdict(int)
    for chunk in repository.chunks(customers):
        for customer_id, day, invoice_id in repository.read(
            session,
            select(m.Invoice.customer_id, m.Invoice.issue_date, m.Invoice.id).where(
                m.Invoice.customer_id.in_(chunk)
            ),
        ):
            if customer_id not in first or (day, invoice_id) < first[customer_id]:
                first[customer_id] = (day, invoice_id)
        for customer_id, end in repository.read(
            session,
            select(m.Cancellation.customer_id, func.min(m.Cancellation.end_date))
            .where(
                m.Cancellation.customer_id.in_(chunk),
                m.Cancellation.subscription_id.is_(None),
                m.Cancellation.accounting_period <= str(month),
            )
            .group_by(m.Cancellation.customer_id),
        ):
            ended[customer_id] = end
        for payee_id, paid_customer_id, total in repository.read(
            session,
            select(
                LedgerEntry.partner_id, LedgerEntry.customer_id, func.sum(LedgerEntry.amount_minor)
            )
            .where(
                LedgerEntry.customer_id.in_(chunk),
                LedgerEntry.component_kind == "referral_fee",
                LedgerEntry.period < str(month),
            )
            .group_by(LedgerEntry.partner_id, LedgerEntry.customer_id),
        ):
            paid[(payee_id, paid_customer_id or "")] = int(total or 0)
    for work, ids in referred:
        for customer_id in ids:
            day, invoice_id = first[customer_id]
            work.customers[customer_id] = f.CustomerHistory(
                customer_id=customer_id,
                first_invoice_date=day,
                cancelled_on=ended.get(customer_id),
                referral_paid_to_date=from_minor(
                    paid[(work.partner_id, customer_id)], work.payout_currency
                ),
                first_invoice_id=invoice_id,
            )


def _paid_earnings(
    session: Session, works: dict[str, PartnerWork], timeline: plan_book.PlanTimeline, period: str
) -> None:
    """What the ledger already paid on invoices being refunded or cancelled."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for work in works.values():
        for refund in work.refunds:
            wanted[refund.invoice_id].add(work.partner_id)
        cancelled = {c.customer_id for c in work.cancellations}
        for invoice in work.invoices.values():
            if invoice.customer_id in cancelled:
                wanted[invoice.invoice_id].add(work.partner_id)
    for chunk in repository.chunks(wanted):
        query = select(LedgerEntry).where(
            LedgerEntry.invoice_id.in_(chunk),
            LedgerEntry.entry_kind.in_((LineKind.earning, LineKind.clawback, LineKind.adjustment)),
            LedgerEntry.period < period,
        )
        for entry in session.scalars(query):
            if entry.invoice_id is None or entry.partner_id not in wanted[entry.invoice_id]:
                continue
            plan_id = (entry.plan_label or "").split("@", 1)[0]
            works[entry.partner_id].paid.append(
                (
                    plan_id,
                    f.PaidEarning(
                        entry.source_fact,
                        entry.invoice_id,
                        entry.component_id or "",
                        from_minor(entry.amount_minor, entry.currency),
                        entry.currency,
                    ),
                )
            )


def _tiers_and_rebates(
    session: Session,
    works: dict[str, PartnerWork],
    timeline: plan_book.PlanTimeline,
    in_force: dict[tuple[str, str, str], tiers.TierRecord],
    month: Month,
    rates: f.FxTable,
    by_partner: dict[str, set[str]],
) -> None:
    # Partners without a tier record yet get metrics at the previous month end; they
    # are read for all of them at once (one query set per plan, not per partner).
    pending: dict[tuple[str, int, str], list[PartnerWork]] = defaultdict(list)
    # Rebate volumes likewise: one query per rebate period and currency.
    rebates: dict[tuple[date, date, str], list[tuple[PartnerWork, str]]] = defaultdict(list)
    for work in works.values():
        for plan_id in by_partner.get(work.partner_id, ()):
            plan = timeline.in_force(plan_id, month.end) or timeline.in_force(plan_id, month.start)
            if plan is None:
                continue
            for component in plan.components:
                if isinstance(component, TierRate):
                    record = in_force.get((work.partner_id, plan_id, component.id))
                    if record is not None and record.tier is not None:
                        work.tiers[plan_id] = record.tier
                    else:
                        key = (plan_id, component.window_months, plan.currency)
                        pending[key].append(work)
                if isinstance(component, VolumeRebate):
                    start, end = rebate_period_bounds(component.period, month.end)
                    if end == month.end:
                        rebates[(start, end, plan.currency)].append((work, plan_id))
    for (start, end, currency), due in sorted(rebates.items(), key=lambda i: i[0]):
        volumes = _resale_volumes(
            session, {w.partner_id for w, _ in due}, start, end, currency, rates
        )
        for work, plan_id in due:
            work.rebate_volume[plan_id] = volumes.get(work.partner_id, Decimal(0))
    as_of = month.start - timedelta(days=1)
    for (plan_id, window, currency), waiting in sorted(pending.items(), key=lambda i: i[0]):
        found = tiers.metrics_for(
            session, {w.partner_id for w in waiting}, as_of, window, currency, rates
        )
        for work in waiting:
            work.metrics[plan_id] = found[work.partner_id]


def _resale_volumes(
    session: Session,
    partner_ids: set[str],
    start: date,
    end: date,
    currency: str,
    rates: f.FxTable,
) -> dict[str, Decimal]:
    """Per partner: invoiced volume of the deals it resold or sourced, in `currency`
    (gross: refunds are not netted)."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for chunk in repository.chunks(partner_ids):
        query = repository.partner_invoices(
            m.DealRole.partner_id.in_(chunk),
            m.DealRole.role.in_(RESALE_ROLES),
            m.Invoice.issue_date >= start,
            m.Invoice.issue_date <= end,
        ).distinct()  # a partner both sourcing and reselling a deal counts it once
        for partner_id, _, day, amount_minor, ccy in repository.read(session, query):
            amount = from_minor(amount_minor, ccy)
            totals[partner_id] += (
                amount if ccy == currency else amount * rates(ccy, currency, day).rate
            )
    return totals


def rep_lines(session: Session, period: str) -> list[RepLine]:
    """Quota credit and commission of the owner rep of each deal accounted in the period,
    under the program plan assigned, and in force, on the deal's close date."""
    month = Month.parse(period)
    assignments = plan_book.assignments(session, date.min, month.end)
    timeline = plan_book.PlanTimeline.load(session, {a.plan_id for a in assignments})
    program = sorted(
        (a for a in assignments if a.partner_id is None),
        key=lambda a: (a.plan_id, a.effective_from),
    )
    deals = repository.deals_where(
        session, m.Deal.accounting_period == period, m.Deal.owner_rep_id.is_not(None)
    )
    # The plan, its rule and label depend on the close date only: found once a date.
    crediting: dict[date, tuple[PlanVersion, RepCreditRule, str] | None] = {}

    def crediting_on(day: date) -> tuple[PlanVersion, RepCreditRule, str] | None:
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

    lines: list[RepLine] = []
    for _, deal in sorted(deals.items()):
        if deal.owner_rep_id is None:
            continue  # no rep to credit
        day = deal.close_date
        found = crediting[day] if day in crediting else crediting.setdefault(day, crediting_on(day))
        if found is None:
            continue
        plan, rule, label = found
        credit = credit_on(plan, rule, deal)
        partners = sorted({r.partner_id for r in deal.roles})
        lines.append(
            RepLine(
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
        )
    return lines
