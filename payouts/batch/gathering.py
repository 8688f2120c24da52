"""Gathering a period: read its facts once and give each partner the facts that reach it.

`gather` builds one `PartnerWork` per partner (plain, picklable data), which
`calculation.calculate_partner` turns into lines without the database. Which partners
a fact reaches is `plans.attribution`; under which plan and month a fact is
calculated is `accounting`; the reads are `repository`'s.

Only facts accounted in this period produce lines (`PartnerWork.allowed`); older facts
are context (a January invoice for a March refund).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from payouts import fx, plan_book, tiers
from payouts.batch import accounting
from payouts.batch import repository as batch_repository
from payouts.batch.calculation import PartnerWork, PeriodWork
from payouts.batch.repository import MonthFacts, Partners
from payouts.facts import repository
from payouts.periods import Month
from payouts.reference.models import Partner
from plans import facts as f
from plans.attribution import Referrals, deal_partners, invoice_partners
from plans.calendar import rebate_period_bounds
from plans.components.tier_rate import TierRate
from plans.components.volume_rebate import VolumeRebate
from plans.model import PlanVersion
from plans.money import from_minor


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
    context = Context.read(session, period, candidate)
    return PeriodWork(period, fact_revision, gather_partners(session, context, partners))


@dataclass(frozen=True, slots=True)
class Context:
    """What every partner's work of a period needs, whoever the partners: FX rates, plan
    assignments and versions, referral roles and tiers in force. Small beside the
    month's facts, so a run that gathers slice by slice (`gather_partners`) reads it
    once."""

    month: Month
    rates: f.FxTable
    assignments: list[plan_book.Assigned]
    timeline: plan_book.PlanTimeline
    referrals: Referrals
    in_force: dict[tuple[str, str, str], tiers.TierRecord]

    @classmethod
    def read(cls, session: Session, period: str, candidate: PlanVersion | None = None) -> Context:
        month = Month.parse(period)
        assignments = plan_book.assignments(session, date.min, month.end)
        timeline = plan_book.PlanTimeline.load(session, {a.plan_id for a in assignments})
        if candidate is not None:
            timeline = timeline.with_candidate(candidate)
        return cls(
            month,
            fx.table(session),
            assignments,
            timeline,
            Referrals.of(batch_repository.referral_roles(session, month)),
            tiers.in_force(session, period),
        )


def gather_partners(
    session: Session, context: Context, partners: Partners | None
) -> list[PartnerWork]:
    """The works of `partners` (all, given None) that have lines to calculate, in
    partner order, reading only the facts that reach them."""
    month, referrals = context.month, context.referrals
    period = str(month)
    batch_repository.without_jit(session)
    facts = batch_repository.month_facts(session, period, partners)
    facts.deals.update(
        repository.deals(
            session,
            {
                deal_id
                for (_, partner_id), ids in referrals.deals.items()
                if partners is None or partner_id in partners
                for deal_id in ids
            }
            - set(facts.deals),
        )
    )
    works = _Works(
        period,
        context.rates,
        batch_repository.partner_rows(session, partners),
        facts.deals,
        referrals,
    )
    _give_month_invoices(works, facts.invoices, month)
    _give_paid_invoices(works, facts, month)
    _give_refunds(works, facts)
    _give_cancellations(works, facts)
    _give_closed_deals(works, facts)

    _spiff_events(session, month, facts.deals, works.work_for, partners)
    _customer_history(session, works.works, month, referrals.referrers)
    _paid_earnings(session, works.works, context.timeline, period)

    timeline = context.timeline
    by_partner = accounting.plan_segments(
        works.works.values(), context.assignments, timeline, month
    )
    _tiers_and_rebates(
        session, works.works, timeline, context.in_force, month, context.rates, by_partner
    )

    built = works.works
    return [built[p] for p in sorted(built) if built[p].segments]


@dataclass
class _Works:
    """The partners' works being gathered, made on first need; facts reach them by
    `plans.attribution`."""

    period: str
    rates: f.FxTable
    partner_rows: dict[str, Partner]
    deals: dict[str, f.Deal]
    referrals: Referrals
    works: dict[str, PartnerWork] = field(default_factory=dict)

    def work_for(self, partner_id: str) -> PartnerWork | None:
        """The partner's work, or None for a partner not being gathered."""
        work = self.works.get(partner_id)
        if work is None:
            row = self.partner_rows.get(partner_id)
            if row is None:
                return None
            work = self.works[partner_id] = PartnerWork(
                partner_id=partner_id,
                partner_type=row.type,
                payout_currency=row.payout_currency,
                period=self.period,
                fx_table=self.rates,
            )
        return work

    def on_deal(self, deal_id: str) -> list[PartnerWork]:
        """The works of the gathered partners with a role on the deal."""
        deal = self.deals.get(deal_id)
        partner_ids = () if deal is None else deal_partners(deal)
        return [w for p in partner_ids if (w := self.work_for(p)) is not None]

    def partners_of(self, invoice: f.Invoice) -> set[str]:
        return invoice_partners(invoice, self.deals, self.referrals)

    def add_invoice(self, work: PartnerWork, invoice: f.Invoice) -> None:
        """Give a work an invoice as context, with its deal and the partner's referral
        deals with its customer."""
        if invoice.invoice_id in work.invoices:
            return
        work.invoices[invoice.invoice_id] = invoice
        if invoice.deal_id and invoice.deal_id in self.deals:
            work.deals[invoice.deal_id] = self.deals[invoice.deal_id]
        for deal_id in self.referrals.deals.get((invoice.customer_id, work.partner_id), ()):
            work.deals[deal_id] = self.deals[deal_id]


def _give_month_invoices(works: _Works, invoices: list[f.Invoice], month: Month) -> None:
    """The hot loop of a large month (a million invoices): each invoice is new here, so
    it goes to each of its partners once: to the works of its deal's partners, found
    on the deal's first invoice (a deal has many), and to the partners who referred
    its customer. Partners outside the gathered range have no work and are skipped
    once a deal. (The order of an invoice's partners does not matter: each partner's
    own facts keep the order of the invoices.)"""
    deals, referrers = works.deals, works.referrals.referrers
    deal_works: dict[str, list[PartnerWork]] = {}
    start = month.start
    for invoice in invoices:
        invoice_id, invoice_deal, issued = invoice.invoice_id, invoice.deal_id, invoice.issue_date
        targets: list[PartnerWork] = []
        if invoice_deal:
            found = deal_works.get(invoice_deal)
            if found is None:
                found = deal_works[invoice_deal] = works.on_deal(invoice_deal)
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
        if referred:
            _give_referred_invoice(works, invoice, referred, allowed, late, deal)


def _give_referred_invoice(
    works: _Works,
    invoice: f.Invoice,
    referred: set[str],
    allowed: tuple[tuple[str, date], ...],
    late: list[date] | None,
    deal: f.Deal | None,
) -> None:
    """A month's invoice to the partners who referred its customer."""
    invoice_id, deals = invoice.invoice_id, works.deals
    for partner_id in referred:
        work = works.works.get(partner_id) or works.work_for(partner_id)
        if work is None:
            continue
        work.invoices[invoice_id] = invoice
        work.allowed.update(allowed)
        if late:
            work.late_days.update(late)
        if deal is not None:
            work.deals[deal.deal_id] = deal
        for referral_deal in works.referrals.deals.get((invoice.customer_id, partner_id), ()):
            work.deals[referral_deal] = deals[referral_deal]


def _give_paid_invoices(works: _Works, facts: MonthFacts, month: Month) -> None:
    """Invoices of earlier months paid in this one (the month's own are done above):
    their lines on the paid basis belong to this month."""
    start = month.start
    for invoice_id, (paid_date, _) in facts.paid_on.items():
        invoice = facts.records[invoice_id]
        paid_allowed = (f"invoice:{invoice_id}", paid_date)
        on_deal = works.deals.get(invoice.deal_id) if invoice.deal_id else None
        partner_ids: tuple[str, ...] | set[str] = (
            tuple(p for p in deal_partners(on_deal) if p in works.partner_rows)
            if on_deal is not None
            else ()
        )
        if invoice.customer_id in works.referrals.referrers:
            partner_ids = works.partners_of(invoice)
        for partner_id in partner_ids:
            work = works.works.get(partner_id) or works.work_for(partner_id)
            if work is not None:
                works.add_invoice(work, invoice)
                work.allowed.add(paid_allowed)
                if paid_date < start:
                    work.late_days.add(paid_date)


def _give_refunds(works: _Works, facts: MonthFacts) -> None:
    """Each refund to the partners its invoice reaches."""
    for refund in facts.refunds:
        row = facts.records.get(refund.invoice_id)
        if row is None:  # an invoice that reaches none of the partners gathered
            continue
        for partner_id in works.partners_of(row):
            work = works.work_for(partner_id)
            if work is not None:
                works.add_invoice(work, row)
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


def _give_cancellations(works: _Works, facts: MonthFacts) -> None:
    """Each cancellation to the partners its customer's invoices reach, and its referrers."""
    customer_invoices: dict[str, list[f.Invoice]] = defaultdict(list)
    for row in facts.records.values():
        customer_invoices[row.customer_id].append(row)
    for cancellation in facts.cancellations:
        touched: set[str] = set()
        for row in customer_invoices.get(cancellation.customer_id, []):
            for partner_id in works.partners_of(row):
                work = works.work_for(partner_id)
                if work is not None:
                    works.add_invoice(work, row)
                    touched.add(partner_id)
        referrers = works.referrals.referrers.get(cancellation.customer_id, set())
        for partner_id in sorted(touched | referrers):
            work = works.work_for(partner_id)
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


def _give_closed_deals(works: _Works, facts: MonthFacts) -> None:
    """Each deal closed in the month to every partner with a role on it."""
    for closed_deal in facts.closed.values():
        for role in closed_deal.roles:
            work = works.work_for(role.partner_id)
            if work is not None:
                work.deals[closed_deal.deal_id] = closed_deal
                work.allowed.add((f"deal:{closed_deal.deal_id}", None))


def _spiff_events(
    session: Session,
    month: Month,
    deals: dict[str, f.Deal],
    work_for: Callable[[str], PartnerWork | None],
    partners: Partners | None,
) -> None:
    """New logos, registrations approved and certifications earned in the month."""
    for deal_id, close_date, customer_id in batch_repository.new_logos(session, month, partners):
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
    registrations = batch_repository.approved_registrations(session, month, partners)
    for registration_id, partner_id, approved_at in registrations:
        if (work := work_for(partner_id)) is not None and approved_at is not None:
            event_id = f"registration:{registration_id}"
            work.events.append(
                f.SpiffEvent(
                    event_id, partner_id, f.SpiffKind.deal_registration_approved, approved_at
                )
            )
            work.allowed.add((f"event:{event_id}", None))
    certifications = batch_repository.certifications_earned(session, month, partners)
    for certification_id, partner_id, earned_at in certifications:
        if (work := work_for(partner_id)) is not None:
            event_id = f"certification:{certification_id}"
            work.events.append(
                f.SpiffEvent(event_id, partner_id, f.SpiffKind.certification_earned, earned_at)
            )
            work.allowed.add((f"event:{event_id}", None))


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
    history = batch_repository.customer_histories(session, customers, month)
    for work, ids in referred:
        for customer_id in ids:
            day, invoice_id = history.first[customer_id]
            work.customers[customer_id] = f.CustomerHistory(
                customer_id=customer_id,
                first_invoice_date=day,
                cancelled_on=history.ended.get(customer_id),
                referral_paid_to_date=from_minor(
                    history.paid[(work.partner_id, customer_id)], work.payout_currency
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
    for entry in batch_repository.paid_entries(session, wanted, period):
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
        volumes = batch_repository.resale_volumes(
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
