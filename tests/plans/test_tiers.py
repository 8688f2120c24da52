from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from plans import calculate, evaluation_due, parse_plan, tier_status
from plans.errors import PlanHasNoTiers, UnknownTier
from tests.plans.builders import deal, example, facts, invoice, metrics

ALL_RULE = """
plan_id: strict-tiers
version: 1
name: Strict tiers
effective_from: 2026-01-01
currency: USD
components:
  - kind: tier_rate
    id: tiers
    cadence: monthly
    demotion_grace: 2
    tiers:
      - name: Silver
        rate: 5%
        requirements: [{metric: sourced_revenue, at_least: 50000}]
      - name: Gold
        rate: 8%
        requirements:
          - {metric: sourced_revenue, at_least: 100000}
          - {metric: certifications, at_least: 2}
"""


def test_all_rule_explains_every_requirement_met() -> None:
    lines = calculate(
        parse_plan(ALL_RULE),
        facts(
            deals=[deal()],
            invoices=[invoice()],
            metrics=metrics(sourced_revenue="120000", certifications=3),
        ),
    )
    assert lines[0].explanation == (
        "tier Gold (sourced revenue 12m 120,000.00 >= 100,000.00; certifications 3 >= 2) -> 8%",
        "invoice INV-1 10,000.00 USD x 8% = 800.00 USD",
    )


def test_all_rule_gap_lists_each_missing_requirement() -> None:
    status = tier_status(parse_plan(ALL_RULE), metrics(sourced_revenue="60000"))
    assert status.tier == "Silver"
    assert status.gap_text == (
        "40,000.00 USD more sourced revenue and 2 more certifications to reach Gold"
    )
    assert [gap.missing for gap in status.gaps] == [Decimal("40000"), Decimal("2")]


def test_a_partner_meeting_no_tier_earns_nothing_and_is_told_why() -> None:
    [line] = calculate(
        parse_plan(ALL_RULE),
        facts(deals=[deal()], invoices=[invoice()], metrics=metrics(sourced_revenue="1000")),
    )
    assert line.amount == Decimal("0.00")
    assert line.explanation[0] == (
        "no tier reached (Silver needs sourced revenue 12m 1,000.00 < 50,000.00) "
        "-> no tier commission"
    )


def test_a_partner_below_its_tier_keeps_it_during_grace_and_is_at_risk() -> None:
    status = tier_status(
        parse_plan(ALL_RULE), metrics(sourced_revenue="60000"), current_tier="Gold", periods_below=1
    )
    assert status.tier == "Gold"
    assert status.qualified_tier == "Silver"
    assert status.in_grace
    assert status.at_risk
    assert status.periods_below == 2
    assert "kept in grace" in status.reason
    assert (
        status.risk_text
        == "40,000.00 USD more sourced revenue and 2 more certifications to keep Gold"
    )


def test_a_partner_drops_when_grace_runs_out() -> None:
    status = tier_status(
        parse_plan(ALL_RULE), metrics(sourced_revenue="60000"), current_tier="Gold", periods_below=2
    )
    assert status.tier == "Silver"
    assert not status.in_grace
    assert not status.at_risk
    assert "dropped from Gold" in status.reason


def test_a_partner_meeting_its_tier_is_not_at_risk() -> None:
    status = tier_status(
        parse_plan(ALL_RULE),
        metrics(sourced_revenue="150000", certifications=2),
        current_tier="Gold",
    )
    assert (status.tier, status.at_risk, status.periods_below) == ("Gold", False, 0)
    assert status.next_tier is None
    assert status.gap_text is None


def test_an_unknown_current_tier_is_an_error() -> None:
    with pytest.raises(UnknownTier):
        tier_status(parse_plan(ALL_RULE), metrics(), current_tier="Platinum")


def test_a_plan_without_tiers_has_no_tier_status() -> None:
    with pytest.raises(PlanHasNoTiers):
        tier_status(example("referral"), metrics())


def test_evaluation_follows_the_cadence() -> None:
    quarterly = example("tiered_reseller")
    assert evaluation_due(quarterly, date(2026, 3, 31))
    assert not evaluation_due(quarterly, date(2026, 2, 28))
    assert not evaluation_due(quarterly, date(2026, 3, 30))
    assert evaluation_due(parse_plan(ALL_RULE), date(2026, 2, 28))


def test_the_tier_in_force_overrides_metrics() -> None:
    [line] = calculate(
        parse_plan(ALL_RULE),
        facts(deals=[deal()], invoices=[invoice()], metrics=metrics(), tier="Gold"),
    )
    assert line.amount == Decimal("800.00")
    assert line.explanation[0] == "tier Gold (in force for the period) -> 8%"
