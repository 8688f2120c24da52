"""The statement model: totals come from the lines, and figures that do not add up are refused."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from statements.canonical import canonical_json
from statements.model import (
    Hold,
    LineKind,
    Statement,
    StatementInvalid,
    StatementLine,
    YearToDate,
)
from tests.statements.factories import payout_line, synthetic_lines, synthetic_statement

PERIOD_START = date(2026, 3, 1)


def line(
    line_id: str,
    amount: str,
    kind: LineKind = LineKind.earning,
    *,
    day: int = 2,
    source: str = "invoice:INV-1",
    component: str = "resale-tier-commission",
) -> StatementLine:
    return StatementLine(
        line_id=line_id,
        date=date(2026, 3, day),
        source_fact=source,
        customer="Acme",
        component=component,
        component_kind="tier_commission",
        line_kind=kind,
        prior_period=None,
        base_amount=Decimal("100.00"),
        base_currency="USD",
        rate=Decimal("0.08"),
        fx_rate=None,
        amount=Decimal(amount),
        payable=kind.payable,
        plan_version="reseller-2026@v2#ab12cd34",
        explanation="8% of 100.00",
    )


def statement(
    lines: list[StatementLine],
    *,
    opening: str = "0.00",
    holds: tuple[Hold, ...] = (),
    currency: str = "USD",
) -> Statement:
    return Statement.create(
        partner_id="P-1",
        partner_name="Acme Reseller",
        partner_type="reseller",
        partner_locale="en_US",
        period="2026-03",
        period_start=PERIOD_START,
        period_end=date(2026, 3, 31),
        payout_currency=currency,
        opening_balance=Decimal(opening),
        lines=lines,
        holds=holds,
        ytd=YearToDate(Decimal(0), Decimal(0), Decimal(0), Decimal(0)),
    )


def test_create_derives_every_total_from_the_lines() -> None:
    s = statement(
        [
            line("a", "800.00"),
            line("b", "-50.00", LineKind.clawback),
            line("c", "12.34", LineKind.adjustment),
            line("d", "40.00", LineKind.margin, component="deal-registration"),
            payout_line("-100.00"),
        ],
        opening="100.00",
    )
    assert s.earnings_total == Decimal("800.00")
    assert s.clawbacks_total == Decimal("-50.00")
    assert s.adjustments_total == Decimal("12.34")
    assert s.margin_earned_total == Decimal("40.00")
    assert s.payouts_total == Decimal("-100.00")
    assert s.closing_balance == Decimal("762.34")
    assert s.amount_payable == Decimal("762.34")
    assert s.carry_forward == Decimal("0.00")
    assert [(t.component, t.payable, t.amount) for t in s.subtotals] == [
        ("resale-tier-commission", True, Decimal("762.34")),
        ("deal-registration", False, Decimal("40.00")),
    ]


def test_a_resale_margin_is_shown_but_never_payable() -> None:
    s = statement([line("m", "40.00", LineKind.margin)])
    assert s.margin_earned_total == Decimal("40.00")
    assert s.amount_payable == Decimal("0.00")


def test_lines_are_ordered_by_date_source_component_and_id_whatever_the_input_order() -> None:
    lines = [
        line("z", "1.00", day=3),
        line("b", "1.00", day=2, source="invoice:INV-2"),
        line("a", "1.00", day=2, source="invoice:INV-2"),
        line("c", "1.00", day=2, source="invoice:INV-1"),
    ]
    assert [x.line_id for x in statement(lines).lines] == ["c", "a", "b", "z"]
    assert statement(lines) == statement(list(reversed(lines)))


def test_a_hold_carries_the_whole_balance_forward() -> None:
    s = statement(
        [line("a", "30.00")], holds=(Hold("below_minimum", "below minimum payout 50.00"),)
    )
    assert s.amount_payable == Decimal("0.00")
    assert s.carry_forward == Decimal("30.00")


def test_a_negative_balance_is_carried_forward_and_nothing_is_payable() -> None:
    s = statement([line("a", "-80.00", LineKind.clawback)], opening="20.00")
    assert s.closing_balance == Decimal("-60.00")
    assert s.amount_payable == Decimal("0.00")
    assert s.carry_forward == Decimal("-60.00")


def test_issued_on_is_the_period_end_not_the_clock() -> None:
    assert statement([]).issued_on == date(2026, 3, 31)


def test_an_empty_statement_has_zero_totals_at_minor_precision() -> None:
    s = statement([])
    assert str(s.earnings_total) == "0.00"
    assert str(s.amount_payable) == "0.00"


def test_a_yen_statement_has_no_decimals() -> None:
    s = statement([line("a", "800")], currency="JPY")
    assert str(s.amount_payable) == "800"


def test_totals_that_do_not_add_up_are_refused_listing_every_problem() -> None:
    good = statement([line("a", "800.00")])
    with pytest.raises(StatementInvalid) as caught:
        replace(good, earnings_total=Decimal("900.00"), amount_payable=Decimal("1.00"))
    problems = caught.value.problems
    assert any(p.startswith("earnings_total is 900.00") for p in problems)
    assert any(p.startswith("closing_balance") for p in problems)
    assert any(p.startswith("amount_payable") for p in problems)


def test_an_amount_finer_than_the_minor_unit_is_refused_not_rounded() -> None:
    with pytest.raises(StatementInvalid, match="not an exact payout-currency amount"):
        statement([line("a", "800.005")])


def test_a_float_amount_is_refused() -> None:
    bad = replace(line("a", "1.00"), amount=0.1)  # type: ignore[arg-type]
    with pytest.raises(StatementInvalid):
        statement([bad])


def test_a_margin_line_marked_payable_is_refused() -> None:
    bad = replace(line("m", "40.00", LineKind.margin), payable=True)
    with pytest.raises(StatementInvalid, match="must have payable=False"):
        statement([bad])


def test_a_positive_clawback_is_refused() -> None:
    with pytest.raises(StatementInvalid, match="cannot be positive"):
        statement([line("a", "5.00", LineKind.clawback)])


def test_a_line_dated_before_the_period_needs_a_prior_period() -> None:
    early = replace(line("a", "5.00"), date=date(2026, 1, 15))
    with pytest.raises(StatementInvalid, match="without prior_period"):
        statement([early])
    assert statement([replace(early, prior_period="2026-01")]).earnings_total == Decimal("5.00")


def test_the_same_line_id_twice_is_refused() -> None:
    with pytest.raises(StatementInvalid, match="appears twice"):
        statement([line("a", "1.00"), line("a", "2.00", source="invoice:INV-9")])


def test_plan_versions_list_every_version_named_by_a_line() -> None:
    s = synthetic_statement(30)
    assert set(s.plan_versions) >= {x.plan_version for x in s.lines}
    assert list(s.plan_versions) == sorted(set(s.plan_versions))


_amounts = st.decimals(
    min_value=Decimal("-99999.99"), max_value=Decimal("99999.99"), places=2, allow_nan=False
)


@st.composite
def random_lines(draw: st.DrawFn) -> list[StatementLine]:
    count = draw(st.integers(min_value=0, max_value=25))
    result = []
    for index in range(count):
        kind = draw(st.sampled_from(list(LineKind)))
        amount = draw(_amounts)
        if kind in (LineKind.clawback, LineKind.payout):
            amount = -abs(amount)
        result.append(
            replace(
                line(f"L{index}", "0.00", kind, day=draw(st.integers(1, 31))),
                amount=amount,
                base_amount=draw(_amounts),
                rate=draw(st.none() | st.decimals(0, 1, places=4)),
                customer=draw(st.none() | st.text(max_size=12)),
            )
        )
    return result


@settings(max_examples=60, deadline=None)
@given(lines=random_lines(), opening=_amounts, on_hold=st.booleans())
def test_totals_always_equal_the_sums_of_their_lines(
    lines: list[StatementLine], opening: Decimal, on_hold: bool
) -> None:
    holds = (Hold("partner_on_hold", "partner on hold"),) if on_hold else ()
    s = statement(lines, opening=str(opening), holds=holds)

    def total(kind: LineKind) -> Decimal:
        return sum((x.amount for x in lines if x.line_kind is kind), Decimal(0))

    assert s.earnings_total == total(LineKind.earning)
    assert s.clawbacks_total == total(LineKind.clawback)
    assert s.adjustments_total == total(LineKind.adjustment)
    assert s.margin_earned_total == total(LineKind.margin)
    assert s.payouts_total == total(LineKind.payout)
    assert s.closing_balance == opening + s.activity_total + s.payouts_total
    assert s.amount_payable + s.carry_forward == s.closing_balance
    assert s.amount_payable >= 0
    assert sum((t.amount for t in s.subtotals), Decimal(0)) == (
        s.activity_total + s.margin_earned_total
    )

    def refuse(text: str) -> Decimal:
        raise AssertionError(f"float {text} in canonical JSON")

    json.loads(canonical_json(s), parse_float=refuse)


def test_many_synthetic_lines_validate_quickly() -> None:
    lines = synthetic_lines(2000, seed=3)
    s = statement([replace(x, date=PERIOD_START + timedelta(days=x.date.day - 1)) for x in lines])
    assert len(s.lines) == 2000
