"""Facts: plain immutable records the calculator consumes.

``payouts`` builds them from the database; nothing here knows where they come from.
All amounts are ``Decimal`` in the fact's own currency, dates are ``date``.
"""

from __future__ import annotations

import enum
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import NamedTuple, Protocol

from plans.errors import MissingFxRate

_ZERO = Decimal(0)


class Role(enum.StrEnum):
    """A partner's role on a deal."""

    sourced = "sourced"
    fulfilment = "fulfilment"
    referral = "referral"
    influence = "influence"
    resale = "resale"


class InfluenceKind(enum.StrEnum):
    endorsement = "endorsement"
    integration_requirement = "integration_requirement"
    active_in_sale = "active_in_sale"


class Independence(enum.StrEnum):
    """How much vendor help a reseller needed to run the deal."""

    vendor_led = "vendor_led"
    assisted = "assisted"
    independent = "independent"


class RegistrationStatus(enum.StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


class RefundKind(enum.StrEnum):
    refund = "refund"
    credit_note = "credit_note"


class SpiffKind(enum.StrEnum):
    new_logo = "new_logo"
    deal_registration_approved = "deal_registration_approved"
    certification_earned = "certification_earned"


@dataclass(frozen=True, slots=True)
class Registration:
    """A deal registration; it protects the partner's discount while approved and unexpired."""

    registration_id: str
    partner_id: str
    status: RegistrationStatus
    approved_at: date | None = None
    expires_at: date | None = None

    def valid_on(self, day: date) -> bool:
        """Approved on or before ``day`` and not expired on ``day`` (expiry date inclusive)."""
        return (
            self.status is RegistrationStatus.approved
            and (self.approved_at is None or self.approved_at <= day)
            and (self.expires_at is None or day <= self.expires_at)
        )


@dataclass(frozen=True, slots=True)
class DealRole:
    partner_id: str
    role: Role
    influence_kind: InfluenceKind | None = None


@dataclass(frozen=True, slots=True)
class Deal:
    """A closed deal.

    ``list_amount`` is the list price; ``net_amount`` is what the vendor nets on
    the deal (the partner's buy price on a partner deal, the customer's price on
    a direct one: the rep credit "net" basis); ``negotiated_amount`` is the
    price negotiated with the end customer when it differs from list (the base
    of a fulfilment discount; ``net_amount`` when absent).
    """

    deal_id: str
    customer_id: str
    list_amount: Decimal
    net_amount: Decimal
    currency: str
    close_date: date
    independence: Independence = Independence.vendor_led
    owner_rep_id: str | None = None
    roles: tuple[DealRole, ...] = ()
    registration: Registration | None = None
    negotiated_amount: Decimal | None = None

    def roles_of(self, partner_id: str) -> frozenset[Role]:
        return frozenset(r.role for r in self.roles if r.partner_id == partner_id)


class Invoice(NamedTuple):
    """An invoice line of billing. Immutable.

    A ``NamedTuple`` rather than a frozen dataclass, like ``Earning``: a batch builds
    a million of them, and a frozen dataclass's ``__init__`` costs three times as much."""

    invoice_id: str
    customer_id: str
    issue_date: date
    amount: Decimal
    currency: str
    deal_id: str | None = None
    subscription_id: str | None = None
    paid_date: date | None = None
    paid_amount: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Refund:
    """A refund or credit note against an invoice (``amount`` positive)."""

    refund_id: str
    invoice_id: str
    refund_date: date
    amount: Decimal
    currency: str
    kind: RefundKind = RefundKind.refund


@dataclass(frozen=True, slots=True)
class Cancellation:
    """A customer (or one subscription) stops; service ends on ``end_date``."""

    cancellation_id: str
    customer_id: str
    end_date: date
    subscription_id: str | None = None


@dataclass(frozen=True, slots=True)
class PartnerMetrics:
    """Trailing-window metrics used for tier qualification (fulfilment-only deals excluded)."""

    as_of: date
    sourced_revenue: Decimal = _ZERO
    certifications: int = 0
    campaigns: int = 0
    registered_deals: int = 0


@dataclass(frozen=True, slots=True)
class SpiffEvent:
    event_id: str
    partner_id: str
    kind: SpiffKind
    date: date
    customer_id: str | None = None


@dataclass(frozen=True, slots=True)
class CustomerHistory:
    """What the ledger knows of one customer for this partner.

    ``referral_paid_to_date`` is the referral pay already booked for this
    customer to this partner, in the payout currency (for caps and one-off fees).
    ``first_invoice_id`` disambiguates several invoices on the first day.
    """

    customer_id: str
    first_invoice_date: date | None = None
    cancelled_on: date | None = None
    referral_paid_to_date: Decimal = _ZERO
    first_invoice_id: str | None = None


@dataclass(frozen=True, slots=True)
class PaidEarning:
    """A payable ledger line already booked on an invoice (for clawbacks).

    Earlier clawbacks may be passed as negative amounts: a clawback never takes
    back more than the net paid for an (invoice, component).
    """

    source_fact: str
    invoice_id: str
    component_id: str
    amount: Decimal
    currency: str


@dataclass(frozen=True, slots=True)
class FxRate:
    """1 ``from_currency`` = ``rate`` ``to_currency``, effective from ``on``."""

    from_currency: str
    to_currency: str
    on: date
    rate: Decimal
    source: str


class FxLookup(Protocol):
    """The effective FX rate for a pair on a day; raises ``MissingFxRate`` if none."""

    def __call__(self, from_currency: str, to_currency: str, on: date) -> FxRate: ...


class FxTable:
    """An effective-dated FX table: the latest rate on or before the asked day applies."""

    __slots__ = ("_dates", "_rates")

    def __init__(self, rates: Iterable[FxRate] = ()) -> None:
        by_pair: dict[tuple[str, str], list[FxRate]] = {}
        for rate in rates:
            by_pair.setdefault((rate.from_currency, rate.to_currency), []).append(rate)
        self._rates: dict[tuple[str, str], list[FxRate]] = {}
        self._dates: dict[tuple[str, str], list[date]] = {}
        for pair, pair_rates in by_pair.items():
            ordered = sorted(pair_rates, key=lambda r: (r.on, r.source, r.rate))
            self._rates[pair] = ordered
            self._dates[pair] = [r.on for r in ordered]

    def __call__(self, from_currency: str, to_currency: str, on: date) -> FxRate:
        pair = (from_currency, to_currency)
        dates = self._dates.get(pair)
        if dates:
            index = bisect_right(dates, on)
            if index:
                return self._rates[pair][index - 1]
        raise MissingFxRate(from_currency, to_currency, on)


NO_FX = FxTable()


@dataclass(frozen=True, slots=True)
class PartnerFacts:
    """Everything the calculator needs for ONE partner and ONE period (dates inclusive).

    Facts outside the period are context (e.g. the January invoice of a March
    refund); only facts dated inside the period produce lines.
    ``tier`` is the tier in force as decided by payouts' tier history; when
    ``None`` the calculator evaluates it from ``metrics``.
    ``rebate_volume`` is the resale volume of the rebate period, in the plan
    currency, given only when ``period_end`` closes a rebate period.
    """

    partner_id: str
    period_start: date
    period_end: date
    payout_currency: str
    partner_type: str = "reseller"
    tier: str | None = None
    metrics: PartnerMetrics | None = None
    deals: Mapping[str, Deal] = field(default_factory=dict)
    invoices: tuple[Invoice, ...] = ()
    refunds: tuple[Refund, ...] = ()
    cancellations: tuple[Cancellation, ...] = ()
    customers: Mapping[str, CustomerHistory] = field(default_factory=dict)
    paid_earnings: tuple[PaidEarning, ...] = ()
    events: tuple[SpiffEvent, ...] = ()
    rebate_volume: Decimal | None = None
    fx: FxLookup = NO_FX
