"""Every read of the facts a batch calculates: one module to find a batch's queries in.

Reads return plain rows or the calculator's immutable records (`plans.facts`), never
ORM objects: a month can hold a million invoices. With `partners` (a range of partner
ids, see `PartnerRange`), the large reads are limited to the facts that reach those
partners, so ranges can be gathered in separate processes.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from operator import attrgetter, itemgetter
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Select,
    String,
    Subquery,
    and_,
    bindparam,
    exists,
    func,
    null,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.orm import Session, aliased

from payouts.facts import models as m
from payouts.facts import repository
from payouts.ledger import LedgerEntry
from payouts.periods import Month
from payouts.reference.models import Partner
from plans import facts as f
from plans.line_kinds import LineKind
from plans.money import from_minor, minor_exponent

RESALE_ROLES = ("sourced", "resale")


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


def scoped(session: Session, partners: Partners | None, column: Any) -> list[Any]:
    """The condition limiting `column` (a partner id) to `partners`, if any."""
    return [] if partners is None else [partners.where(session, column)]


@dataclass
class MonthFacts:
    """The facts accounted in a month that reach the gathered partners, with the
    invoices and deals they need as context."""

    invoices: list[f.Invoice]
    """The month's invoices (in the order read), each with what was paid on it."""
    paid_on: dict[str, tuple[date, int]]
    """Invoices of earlier months paid in this one: last payment date, total minor units."""
    records: dict[str, f.Invoice]
    """Every invoice read, by id: the month's and those of context (given partners, only
    those that reach them: a refund's invoice may be missing)."""
    refunds: list[Any]
    cancellations: list[Any]
    closed: dict[str, f.Deal]
    """Deals accounted (closed) in the month."""
    deals: dict[str, f.Deal]
    """Those and every deal of the invoices read."""


def month_facts(session: Session, period: str, partners: Partners | None) -> MonthFacts:
    """Read the facts accounted in `period` that reach `partners` (all, given None)."""
    reach = _Reach.of(session, Month.parse(period), partners)
    paid_on = _paid_earlier(session, period, reach)
    refunds = rows(session, m.Refund, m.Refund.accounting_period == period)
    cancellations = rows(session, m.Cancellation, m.Cancellation.accounting_period == period)

    # One immutable record per invoice, shared by every partner it concerns: the
    # month's invoices, and as context refunded or paid ones from earlier months and
    # those of cancelled customers.
    records: dict[str, f.Invoice] = {}
    month_invoices = _month_invoices(session, period, reach, records, paid_on)
    # Those too only where they reach `partners`: a refund or cancellation of an invoice
    # that reaches none of them is none of their business (`gathering` skips it). Found
    # by id or customer, the reach only filters them.
    reaching = reach.either(session)
    wanted = {r.invoice_id for r in refunds} | paid_on.keys()
    for chunk in repository.chunks(wanted - records.keys()):
        invoices(session, records, paid_on, m.Invoice.id.in_(chunk), *reaching)
    for chunk in repository.chunks({c.customer_id for c in cancellations}):
        invoices(
            session,
            records,
            paid_on,
            m.Invoice.customer_id.in_(chunk),
            m.Invoice.accounting_period <= period,
            *reaching,
        )

    # The month's deals (of its invoices, or closed in it) by subquery, the few deals
    # of context invoices (and a slice's deals of other months) by id.
    # (Two disjoint queries: an OR of the two conditions defeats PostgreSQL's semi-join.)
    closed = repository.deals_where(session, m.Deal.accounting_period == period, *reach.deals)
    deals = dict(closed)
    if reach.whole:
        deals.update(
            repository.deals_where(
                session,
                m.Deal.accounting_period != period,
                m.Deal.id.in_(
                    select(m.Invoice.deal_id).where(m.Invoice.accounting_period == period)
                ),
            )
        )
    deals.update(
        repository.deals(session, {i.deal_id for i in records.values() if i.deal_id} - set(deals))
    )
    return MonthFacts(month_invoices, paid_on, records, refunds, cancellations, closed, deals)


@dataclass(frozen=True, slots=True)
class _Reach:
    """The ways a fact reaches the gathered partners: the deals they have a role on, and
    every invoice of the customers they referred (a superset is harmless: gathering
    gives each fact only to the partners it reaches). With no partners given, one way
    with no condition: all.

    PostgreSQL answers an OR of the two ways by scanning the whole month's invoices (and
    summing the whole month's payments to join them), for every slice of a run; so a
    large read is made a way at a time and the results merged, and the month's
    invoices are read by the ids of the slice's deals and customers that have some
    this month, a chunk at a time: each read is then an index's, whatever the size of
    the slice or the planner's estimates, on PostgreSQL and SQLite alike."""

    ways: tuple[tuple[ColumnElement[bool], ...], ...]
    """Conditions on invoices, one a way."""
    in_month: tuple[tuple[ColumnElement[bool], ...], ...]
    """Conditions on the month's invoices, each on a chunk of ids of one way."""
    deals: tuple[ColumnElement[bool], ...]
    """The condition on deals: those the partners have a role on."""
    sources: tuple[tuple[Any, Select[str]], ...] = ()
    """The ways again: an invoice column and the query of the ids it must be among."""

    @classmethod
    def of(cls, session: Session, month: Month, partners: Partners | None) -> _Reach:
        if partners is None:
            return cls(((),), ((),), ())
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
        by_deal, by_customer = m.Invoice.deal_id, m.Invoice.customer_id
        return cls(
            ((by_deal.in_(role_deals),), (by_customer.in_(referred_customers),)),
            (
                *_chunked(session, by_deal, role_deals.where(_invoiced(month, by_deal))),
                *_chunked(
                    session,
                    by_customer,
                    referred_customers.where(_invoiced(month, by_customer, m.Deal.customer_id)),
                ),
            ),
            (m.Deal.id.in_(role_deals),),
            ((by_deal, role_deals), (by_customer, referred_customers)),
        )

    @property
    def whole(self) -> bool:
        return self.ways == ((),)

    def either(self, session: Session) -> list[ColumnElement[bool]]:
        """One condition for any way: to filter invoices found otherwise (by id), a few
        hundred at a time. On PostgreSQL each way's ids are read here, once, and the
        condition looks an invoice up among them: PostgreSQL answers an OR of the ways'
        subqueries by reading each way whole again, for every query."""
        if self.whole:
            return []
        if session.get_bind().dialect.name != "postgresql":
            return [or_(*(and_(*way) for way in self.ways))]
        among = []
        for column, ids in self.sources:
            found = [value for (value,) in repository.read(session, ids)]
            # A set the server hashes once a query, also in a prepared statement's generic
            # plan (where `= ANY` of an array parameter is a search through the array).
            among.append(column.in_(select(func.unnest(bindparam(None, found, ARRAY(String))))))
        return [or_(*among)]


def _invoiced(month: Month, column: Any, outer: Any | None = None) -> ColumnElement[bool]:
    """`outer` (a deal or customer id) has an invoice accounted in the month."""
    outer = m.DealRole.deal_id if outer is None else outer
    return exists().where(m.Invoice.accounting_period == str(month), column == outer)


def _chunked(
    session: Session, column: Any, ids: Select[*tuple[Any, ...]]
) -> list[tuple[ColumnElement[bool]]]:
    """`column` among the ids `ids` selects, as `repository.among` conditions."""
    found = {value for (value,) in repository.read(session, ids)}
    return [(condition,) for condition in repository.among(session, column, found)]


def _paid_earlier(session: Session, period: str, reach: _Reach) -> dict[str, tuple[date, int]]:
    """Per invoice of an earlier month paid in `period` (read as context): the last
    payment's date and the total paid, summed by the database. (The month's own
    invoices get theirs in the read that reads them, `_month_invoices`.)"""
    day = func.max(m.Payment.paid_date)
    # bigint, not PostgreSQL's numeric sum: an int is cheaper to read than a Decimal.
    total = func.sum(m.Payment.amount_minor).cast(BigInteger)
    found: dict[str, tuple[date, int]] = {}
    for way in reach.ways:
        query = (
            select(m.Payment.invoice_id, day, total)
            .join(m.Invoice, m.Invoice.id == m.Payment.invoice_id)
            .where(m.Payment.accounting_period == period, _other_month(period))
            .where(*way)
            .group_by(m.Payment.invoice_id)
        )
        found.update(
            (invoice_id, (paid_day, int(paid_total)))
            for invoice_id, paid_day, paid_total in repository.read(session, query)
        )
    return found


def _other_month(period: str) -> ColumnElement[bool]:
    """An invoice accounted in another month than `period`: before it or after it, two
    ranges the invoices' period indexes answer (`!=` they cannot: the planner scanned
    every invoice of every month, in parallel, for each slice)."""
    column = m.Invoice.accounting_period
    return or_(column < period, column > period)


def _month_invoices(
    session: Session,
    period: str,
    reach: _Reach,
    records: dict[str, f.Invoice],
    paid_on: dict[str, tuple[date, int]],
) -> list[f.Invoice]:
    """The month's invoices that reach the partners, each once, with what was paid on
    them in the month (`invoices`' `paid`)."""
    in_month = m.Invoice.accounting_period == period
    if reach.whole:  # the whole month: one scan, joined to its payments per invoice
        paid = (
            select(
                m.Payment.invoice_id,
                func.max(m.Payment.paid_date).label("day"),
                func.sum(m.Payment.amount_minor).cast(BigInteger).label("total"),
            )
            .where(m.Payment.accounting_period == period)
            .group_by(m.Payment.invoice_id)
            .subquery()
        )
        return invoices(session, records, paid_on, in_month, paid=paid)
    # A slice: each way's invoices through its index, each with its own payments in the
    # month looked up through theirs (`_invoice_query`).
    found: list[f.Invoice] = []
    seen: set[str] = set()
    for way in reach.in_month:
        for record in invoices(session, records, paid_on, in_month, *way, paid=period):
            if record.invoice_id not in seen:
                seen.add(record.invoice_id)
                found.append(record)
    return found


def without_jit(session: Session) -> None:
    """Have PostgreSQL run this transaction's reads without compiling them (JIT).

    A slice's reads are many short reads through indexes, whose estimated costs pass
    the server's `jit_above_cost` all the same: compiling each one cost the server a
    good part of the time of running it, to save nothing. Reset when the transaction
    ends; nothing on other databases."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))


def referral_roles(session: Session, month: Month) -> list[tuple[str, str, str]]:
    """(customer, partner, deal) of every referral role on a deal closed by month end."""
    query = (
        select(m.Deal.customer_id, m.DealRole.partner_id, m.Deal.id)
        .join(m.DealRole, m.DealRole.deal_id == m.Deal.id)
        .where(m.DealRole.role == "referral", m.Deal.close_date <= month.end)
    )
    return [(c, p, d) for c, p, d in repository.read(session, query)]


def partner_rows(session: Session, partners: Partners | None) -> dict[str, Partner]:
    """The partners to gather, by id."""
    return {
        p.id: p
        for p in session.scalars(select(Partner).where(*scoped(session, partners, Partner.id)))
        if partners is None or p.id in partners
    }


SKIPPED_COLUMNS = frozenset({"ingested_at", "fingerprint"})


def rows(session: Session, model: type[Any], *where: Any) -> list[Any]:
    """The table's rows as plain named tuples (attribute access by column name), without
    the bookkeeping columns the calculation never reads (timestamps cost a conversion)."""
    columns = [c for c in model.__table__.c if c.name not in SKIPPED_COLUMNS]
    session.flush()
    return list(session.connection().execute(select(*columns).where(*where)))


def invoices(
    session: Session,
    records: dict[str, f.Invoice],
    paid_on: dict[str, tuple[date, int]],
    *where: Any,
    paid: Subquery | str | None = None,
) -> list[f.Invoice]:
    """The invoices matching `where` as records (kept in `records`, built once each).

    What was paid on them in the period comes from `paid_on` (invoices of earlier
    months), or from the same query: given the `paid` subquery (per invoice: last
    payment date and total), joined to it; given the period, from each invoice's own
    payments in it. Read as plain tuples and unpacked: attribute access on a
    result row costs a quarter of a microsecond, ten of them an invoice, a million
    invoices a month."""
    query = _invoice_query(paid, session.get_bind().dialect.name).where(*where)
    by_query = paid is not None
    found: list[f.Invoice] = []
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
            record = records[invoice_id] = f.Invoice(
                invoice_id,
                customer_id,
                issued,
                amount,
                currency,
                deal_id,
                subscription,
                payment[0] if payment else None,
                paid_amount,
            )
        found.append(record)
    return found


_INVOICE_COLUMNS = (
    m.Invoice.id,
    m.Invoice.customer_id,
    m.Invoice.issue_date,
    m.Invoice.amount_minor,
    m.Invoice.currency,
    m.Invoice.deal_id,
    m.Invoice.subscription_id,
)


def _invoice_query(paid: Subquery | str | None, dialect: str) -> Select[*tuple[Any, ...]]:
    """`invoices`' query: the invoice columns, then the last payment date and total paid."""
    if paid is None:
        return select(*_INVOICE_COLUMNS, null(), null())
    if isinstance(paid, Subquery):
        return select(*_INVOICE_COLUMNS, paid.c.day, paid.c.total).outerjoin(
            paid, paid.c.invoice_id == m.Invoice.id
        )
    # Looked up per invoice through the payments' index on invoice_id, in the same
    # query: the planner cannot turn that into a scan of the month's payments (it
    # estimates a scan cheaper than a few thousand lookups; measured, it is not), and
    # there is no second round of queries by invoice id.
    own = (m.Payment.invoice_id == m.Invoice.id, m.Payment.accounting_period == paid)
    day, total = func.max(m.Payment.paid_date), func.sum(m.Payment.amount_minor).cast(BigInteger)
    if dialect == "postgresql":
        # Both from one lookup of the invoice's payments (LATERAL), not one lookup each.
        payments = select(day.label("day"), total.label("total")).where(*own).lateral("paid")
        return select(*_INVOICE_COLUMNS, payments.c.day, payments.c.total).outerjoin(
            payments, true()
        )
    return select(
        *_INVOICE_COLUMNS,
        select(day).where(*own).scalar_subquery(),
        select(total).where(*own).scalar_subquery(),
    )


def resale_volumes(
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


def _by_id(session: Session, deal: Any) -> Any:
    """A deal id compared as Python compares them (code points), on any database."""
    return deal.id.collate("C") if session.get_bind().dialect.name == "postgresql" else deal.id


def new_logos(
    session: Session, month: Month, partners: Partners | None
) -> list[tuple[str, date, str]]:
    """(deal, close date, customer) of the month's new logos sourced by `partners`, by
    close date then id.

    A new logo is the first deal (by close date, then id) of a customer with no deal
    closed before the month: decided by the database over all the month's deals, even
    when only some partners' work is being gathered (ids compared as Python does)."""
    deal, other = m.Deal, aliased(m.Deal)
    before = or_(  # `other` makes `deal` no new logo
        other.close_date < month.start,
        and_(
            other.accounting_period == str(month),
            or_(
                other.close_date < deal.close_date,
                and_(
                    other.close_date == deal.close_date,
                    _by_id(session, other) < _by_id(session, deal),
                ),
            ),
        ),
    )
    sourced = select(m.DealRole.deal_id).where(
        m.DealRole.role == f.Role.sourced.value, *scoped(session, partners, m.DealRole.partner_id)
    )
    found = repository.read(
        session,
        select(deal.id, deal.close_date, deal.customer_id).where(
            deal.accounting_period == str(month),
            deal.id.in_(sourced),
            ~exists().where(other.customer_id == deal.customer_id, before),
        ),
    )
    return sorted(((d, day, c) for d, day, c in found), key=itemgetter(1, 0))


def approved_registrations(
    session: Session, month: Month, partners: Partners | None
) -> list[tuple[str, str, date | None]]:
    """(registration, partner, approved at) of the deal registrations approved in the month."""
    query = select(
        m.DealRegistration.id, m.DealRegistration.partner_id, m.DealRegistration.approved_at
    ).where(
        m.DealRegistration.status == "approved",
        m.DealRegistration.approved_at >= month.start,
        m.DealRegistration.approved_at <= month.end,
        *scoped(session, partners, m.DealRegistration.partner_id),
    )
    return [(r, p, day) for r, p, day in repository.read(session, query)]


def certifications_earned(
    session: Session, month: Month, partners: Partners | None
) -> list[tuple[str, str, date]]:
    """(certification, partner, earned at) of the certifications earned in the month."""
    query = select(m.Certification.id, m.Certification.partner_id, m.Certification.earned_at).where(
        m.Certification.earned_at >= month.start,
        m.Certification.earned_at <= month.end,
        *scoped(session, partners, m.Certification.partner_id),
    )
    return [(c, p, day) for c, p, day in repository.read(session, query)]


@dataclass
class CustomerHistories:
    """What referral fees need of referred customers' past."""

    first: dict[str, tuple[date, str]]
    """Per customer: the first invoice's issue date and id (by date, then id)."""
    ended: dict[str, date]
    """Per customer cancelled whole (not one subscription) by the month: the first end."""
    paid: dict[tuple[str, str], int]
    """Per (payee, customer): the referral fees posted before the month, in minor units."""


def customer_histories(session: Session, customers: set[str], month: Month) -> CustomerHistories:
    """The first invoice, whole cancellation and referral fees paid of `customers`."""
    found = CustomerHistories({}, {}, defaultdict(int))
    first, ended, paid = found.first, found.ended, found.paid
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
    return found


PAID_KINDS = (LineKind.earning, LineKind.clawback, LineKind.adjustment)


class PaidEntry(NamedTuple):
    partner_id: str
    invoice_id: str | None
    plan_label: str | None
    source_fact: str
    component_id: str | None
    amount_minor: int
    currency: str


def paid_entries(session: Session, invoice_ids: Iterable[str], period: str) -> Iterator[PaidEntry]:
    """The ledger's earnings, clawbacks and adjustments on `invoice_ids` posted before
    `period`: what was already paid on invoices being refunded or cancelled."""
    columns = [getattr(LedgerEntry, name) for name in PaidEntry._fields]
    for chunk in repository.chunks(invoice_ids):
        query = select(*columns).where(
            LedgerEntry.invoice_id.in_(chunk),
            LedgerEntry.entry_kind.in_(PAID_KINDS),
            LedgerEntry.period < period,
        )
        for row in repository.read(session, query):
            yield PaidEntry(*row)


def rep_credited_deals(session: Session, period: str, chunk: int) -> Iterator[dict[str, f.Deal]]:
    """The deals accounted in `period` that have an owner rep, by id, `chunk` deals at a
    time in order of id (code-point order, as Python sorts: the draft's order)."""
    credited = (m.Deal.accounting_period == period, m.Deal.owner_rep_id.is_not(None))
    ids = sorted(session.scalars(select(m.Deal.id).where(*credited)))
    on_postgres = session.get_bind().dialect.name == "postgresql"
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        if on_postgres:
            # One array parameter: an IN list of thousands costs more to build than to run.
            among = repository.one_of(session, m.Deal.id, part)
        else:
            # SQLite's binary collation orders ids as Python does: the chunk's deals are
            # those of the range it spans (read through the primary key).
            among = m.Deal.id.between(part[0], part[-1])
        yield repository.deals_where(session, *credited, among)
