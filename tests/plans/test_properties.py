"""Invariants that must hold for any facts and any valid plan."""

from __future__ import annotations

import os
import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plans import LineKind, PlanVersion, calculate, parse_plan
from plans.components.volume_rebate import Bracket, RebateMode, VolumeRebate, rebate
from plans.facts import (
    CustomerHistory,
    Deal,
    DealRole,
    FxRate,
    FxTable,
    Independence,
    InfluenceKind,
    Invoice,
    PaidEarning,
    PartnerFacts,
    PartnerMetrics,
    Refund,
    Registration,
    RegistrationStatus,
    Role,
    SpiffEvent,
    SpiffKind,
)
from plans.money import minor_quantum

# PLANS_PROPERTY_EXAMPLES=2000 for a longer hunt (nightly); 120 keeps the suite quick.
EXAMPLES = int(os.environ.get("PLANS_PROPERTY_EXAMPLES", "120"))
PROPERTY_SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
PARTNER = "P-1"
START, END = date(2026, 3, 1), date(2026, 3, 31)
FX = FxTable(
    [
        FxRate("EUR", "USD", date(2025, 1, 1), Decimal("1.0850"), "ECB"),
        FxRate("JPY", "USD", date(2025, 1, 1), Decimal("0.006712"), "ECB"),
        FxRate("USD", "EUR", date(2025, 1, 1), Decimal("0.921659"), "ECB"),
        FxRate("JPY", "EUR", date(2025, 1, 1), Decimal("0.006186"), "ECB"),
        FxRate("EUR", "JPY", date(2025, 1, 1), Decimal("161.65"), "ECB"),
        FxRate("USD", "JPY", date(2025, 1, 1), Decimal("148.98"), "ECB"),
    ]
)

basis_points = st.integers(0, 10_000).map(lambda bp: Decimal(bp).scaleb(-4))
cents = st.integers(0, 5_000_000_00).map(lambda c: Decimal(c).scaleb(-2))
days = st.integers(-120, 45).map(lambda n: START + timedelta(days=n))
currencies = st.sampled_from(["USD", "USD", "EUR", "JPY"])


def amount_in(currency: str, value: Decimal) -> Decimal:
    return value.quantize(minor_quantum(currency))


@st.composite
def plans(draw: Any) -> PlanVersion:
    tier_rates = sorted(draw(st.sets(basis_points, min_size=3, max_size=3)))
    brackets = sorted(draw(st.sets(st.integers(1, 200_000), min_size=1, max_size=3)))
    bracket_rates = sorted(
        draw(st.lists(basis_points, min_size=len(brackets) + 1, max_size=len(brackets) + 1))
    )
    document = {
        "plan_id": "mixed",
        "version": 1,
        "name": "Mixed",
        "effective_from": "2026-01-01",
        "currency": "USD",
        "rounding": draw(st.sampled_from(["half_up", "half_even"])),
        "fx_date": draw(st.sampled_from(["fact_date", "period_end"])),
        "clawback_window_days": draw(st.integers(0, 200)),
        "components": [
            {
                "kind": "tier_rate",
                "id": "tiers",
                "tiers": [
                    {"name": "Bronze", "rate": tier_rates[0]},
                    {
                        "name": "Silver",
                        "rate": tier_rates[1],
                        "combine": "any",
                        "requirements": [
                            {"metric": "sourced_revenue", "at_least": 40000},
                            {"metric": "certifications", "at_least": 4},
                        ],
                    },
                    {
                        "name": "Gold",
                        "rate": tier_rates[2],
                        "requirements": [{"metric": "sourced_revenue", "at_least": 100000}],
                    },
                ],
            },
            {
                "kind": "independence_rate",
                "id": "independence",
                "roles": ["resale"],
                "rates": {
                    "vendor_led": draw(basis_points),
                    "assisted": draw(basis_points),
                    "independent": draw(basis_points),
                },
            },
            {
                "kind": "deal_discount",
                "id": "buy-price",
                "registration_discount": draw(basis_points),
                "standard_discount": draw(basis_points),
                "fulfilment_discount": draw(basis_points),
            },
            {
                "kind": "referral_fee",
                "id": "referral",
                "rate": draw(basis_points),
                "duration": draw(st.sampled_from(["lifetime", "one_off"])),
                "cap": draw(st.none() | cents),
                "basis": draw(st.sampled_from(["invoiced", "paid"])),
            },
            {"kind": "influence_bonus", "id": "influence", "rate": draw(basis_points)},
            {
                "kind": "spiff",
                "id": "spiff",
                "pays": [{"event": "new_logo", "amount": draw(cents)}],
            },
            {
                "kind": "volume_rebate",
                "id": "rebate",
                "mode": draw(st.sampled_from(["marginal", "retroactive"])),
                "brackets": [{"from_amount": 0, "rate": bracket_rates[0]}]
                + [
                    {"from_amount": start, "rate": rate}
                    for start, rate in zip(brackets, bracket_rates[1:], strict=True)
                ],
            },
        ],
    }
    return parse_plan(document)


@st.composite
def partner_facts(draw: Any) -> PartnerFacts:
    deal_count = draw(st.integers(1, 5))
    deals = {}
    for n in range(deal_count):
        currency = draw(currencies)
        role = draw(st.sampled_from(list(Role)))
        kind = draw(st.sampled_from(list(InfluenceKind))) if role is Role.influence else None
        list_amount = amount_in(currency, draw(cents))
        registration = None
        if draw(st.booleans()):
            registration = Registration(
                f"REG-{n}",
                draw(st.sampled_from([PARTNER, "P-2"])),
                draw(st.sampled_from(list(RegistrationStatus))),
                draw(days),
                draw(days),
            )
        deals[f"D-{n}"] = Deal(
            deal_id=f"D-{n}",
            customer_id=f"C-{draw(st.integers(0, 2))}",
            list_amount=list_amount,
            net_amount=list_amount,
            currency=currency,
            close_date=draw(days),
            independence=draw(st.sampled_from(list(Independence))),
            roles=(DealRole(PARTNER, role, kind),),
            registration=registration,
            negotiated_amount=draw(st.none() | st.just(list_amount)),
        )
    invoices = []
    for n in range(draw(st.integers(0, 12))):
        deal = deals[f"D-{draw(st.integers(0, deal_count - 1))}"]
        amount = amount_in(deal.currency, draw(cents))
        paid = draw(st.booleans())
        invoices.append(
            Invoice(
                invoice_id=f"INV-{n}",
                customer_id=deal.customer_id,
                issue_date=draw(days),
                amount=amount,
                currency=deal.currency,
                deal_id=deal.deal_id if draw(st.integers(0, 4)) else None,
                paid_date=draw(days) if paid else None,
                paid_amount=amount if paid else None,
            )
        )
    refunds = tuple(
        Refund(f"R-{n}", i.invoice_id, draw(days), amount_in(i.currency, i.amount / 2), i.currency)
        for n, i in enumerate(invoices)
        if draw(st.booleans())
    )
    paid_earnings = tuple(
        PaidEarning(f"invoice:{i.invoice_id}", i.invoice_id, component, draw(cents), "USD")
        for i in invoices
        for component in ("tiers", "referral")
        if draw(st.booleans())
    )
    customers = {
        f"C-{c}": CustomerHistory(
            f"C-{c}", draw(st.none() | days), draw(st.none() | days), draw(cents)
        )
        for c in range(3)
        if draw(st.booleans())
    }
    return PartnerFacts(
        partner_id=PARTNER,
        period_start=START,
        period_end=END,
        payout_currency=draw(st.sampled_from(["USD", "EUR", "JPY"])),
        tier=draw(st.none() | st.sampled_from(["Bronze", "Silver", "Gold"])),
        metrics=PartnerMetrics(END, draw(cents), draw(st.integers(0, 8))),
        deals=deals,
        invoices=tuple(invoices),
        refunds=refunds,
        customers=customers,
        paid_earnings=paid_earnings,
        events=(SpiffEvent("E-1", PARTNER, SpiffKind.new_logo, draw(days)),),
        rebate_volume=draw(st.none() | cents),
        fx=FX,
    )


def shuffled(facts: PartnerFacts, seed: int) -> PartnerFacts:
    rng = random.Random(seed)

    def mixed(items: Any) -> Any:
        items = list(items)
        rng.shuffle(items)
        return tuple(items)

    deals = dict(mixed(facts.deals.items()))
    customers = dict(mixed(facts.customers.items()))
    return PartnerFacts(
        partner_id=facts.partner_id,
        period_start=facts.period_start,
        period_end=facts.period_end,
        payout_currency=facts.payout_currency,
        tier=facts.tier,
        metrics=facts.metrics,
        deals=deals,
        invoices=mixed(facts.invoices),
        refunds=mixed(facts.refunds),
        cancellations=mixed(facts.cancellations),
        customers=customers,
        paid_earnings=mixed(facts.paid_earnings),
        events=mixed(facts.events),
        rebate_volume=facts.rebate_volume,
        fx=facts.fx,
    )


@PROPERTY_SETTINGS
@given(plans(), partner_facts(), st.integers(0, 2**32))
def test_the_same_facts_in_any_order_give_the_same_lines(
    plan: PlanVersion, facts: PartnerFacts, seed: int
) -> None:
    first = calculate(plan, facts)
    assert calculate(plan, facts) == first
    assert calculate(plan, shuffled(facts, seed)) == first


@PROPERTY_SETTINGS
@given(plans(), partner_facts())
def test_each_line_is_within_half_a_minor_unit_of_its_unrounded_value(
    plan: PlanVersion, facts: PartnerFacts
) -> None:
    for line in calculate(plan, facts):
        quantum = minor_quantum(line.currency)
        assert line.amount == line.amount.quantize(quantum)
        assert abs(line.amount - line.unrounded) <= quantum / 2


@PROPERTY_SETTINGS
@given(plans(), partner_facts())
def test_no_component_pays_a_negative_amount_on_a_positive_base(
    plan: PlanVersion, facts: PartnerFacts
) -> None:
    for line in calculate(plan, facts):
        if line.line_kind is LineKind.clawback:
            assert line.amount <= 0
        elif line.base_amount > 0:
            assert line.amount >= 0


@PROPERTY_SETTINGS
@given(plans(), partner_facts())
def test_clawbacks_never_exceed_what_was_paid(plan: PlanVersion, facts: PartnerFacts) -> None:
    paid: dict[tuple[str, str], Decimal] = {}
    for earning in facts.paid_earnings:
        key = (earning.invoice_id, earning.component_id)
        paid[key] = paid.get(key, Decimal(0)) + earning.amount
    if facts.payout_currency != "USD":
        return  # paid amounts are in USD here; the check below compares like with like
    for line in calculate(plan, facts):
        if line.line_kind is LineKind.clawback:
            key = (line.invoice_id or "", line.component_id)
            paid[key] += line.amount
            assert paid[key] >= 0


@st.composite
def bracket_sets(draw: Any) -> tuple[Bracket, ...]:
    starts = sorted(draw(st.sets(st.integers(1, 10_000_000), max_size=5)))
    rates = sorted(draw(st.lists(basis_points, min_size=len(starts) + 1, max_size=len(starts) + 1)))
    return tuple(
        Bracket(from_amount=Decimal(start), rate=rate)
        for start, rate in zip([0, *starts], rates, strict=True)
    )


@settings(max_examples=max(300, EXAMPLES), deadline=None)
@given(bracket_sets(), cents)
def test_a_marginal_rebate_never_exceeds_the_retroactive_one(
    brackets: tuple[Bracket, ...], volume: Decimal
) -> None:
    marginal = VolumeRebate(id="r", brackets=brackets, mode=RebateMode.marginal)
    retroactive = VolumeRebate(id="r", brackets=brackets, mode=RebateMode.retroactive)
    marginal_amount = rebate(marginal, volume)[0]
    retroactive_amount = rebate(retroactive, volume)[0]
    assert 0 <= marginal_amount <= retroactive_amount
