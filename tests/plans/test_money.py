from __future__ import annotations

from decimal import Decimal

import pytest

from plans.errors import InvalidAmount, UnknownCurrency
from plans.money import (
    Rounding,
    currency_problem,
    format_amount,
    format_rate,
    from_minor,
    is_payable_currency,
    minor_exponent,
    parse_rate,
    round_money,
    to_minor,
)


@pytest.mark.parametrize(("currency", "exponent"), [("JPY", 0), ("USD", 2), ("EUR", 2), ("KWD", 3)])
def test_minor_units_follow_iso_4217(currency: str, exponent: int) -> None:
    assert minor_exponent(currency) == exponent


def test_unknown_currencies_are_refused() -> None:
    assert not is_payable_currency("ZZZ")
    assert not is_payable_currency("usd")
    assert currency_problem("usd") == "'usd' is not an ISO 4217 currency code"
    with pytest.raises(UnknownCurrency):
        minor_exponent("ZZZ")


@pytest.mark.parametrize(
    "code",
    [
        *("XAU", "XAG", "XPT", "XPD", "XTS", "XXX", "XDR", "XBA", "XBB", "XBC", "XBD", "XSU"),
        *("XUA", "USN", "USS", "BOV", "CLF", "COU", "MXV", "UYI", "UYW", "CHE", "CHW", "CNH"),
        "DEM",
    ],
)
def test_codes_money_is_not_paid_in_are_not_payable_currencies(code: str) -> None:
    assert not is_payable_currency(code)
    problem = currency_problem(code)
    assert problem is not None
    assert problem.startswith(f"{code!r} is not a currency money is paid in")
    with pytest.raises(UnknownCurrency):
        minor_exponent(code)


@pytest.mark.parametrize("code", ["USD", "EUR", "JPY", "KWD", "BHD", "CHF", "XOF", "XAF", "XCD"])
def test_currencies_in_circulation_are_payable(code: str) -> None:
    assert is_payable_currency(code)
    assert currency_problem(code) is None


def test_half_up_is_the_default_and_half_even_is_available() -> None:
    assert round_money(Decimal("2.345"), "USD") == Decimal("2.35")
    assert round_money(Decimal("2.345"), "USD", Rounding.half_even) == Decimal("2.34")
    assert round_money(Decimal("-2.345"), "USD") == Decimal("-2.35")
    assert round_money(Decimal("1234.5"), "JPY") == Decimal("1235")
    assert round_money(Decimal("1.2345"), "KWD") == Decimal("1.235")


def test_minor_units_round_trip_only_at_minor_precision() -> None:
    assert to_minor(Decimal("12.34"), "USD") == 1234
    assert to_minor(Decimal("12.3"), "USD") == 1230
    assert from_minor(1234, "USD") == Decimal("12.34")
    assert from_minor(1234, "JPY") == Decimal("1234")
    with pytest.raises(InvalidAmount):
        to_minor(Decimal("12.345"), "USD")


@pytest.mark.parametrize(
    ("written", "rate"),
    [("8%", "0.08"), ("12.5%", "0.125"), ("0.08", "0.08"), (Decimal("0.2"), "0.2"), (1, "1")],
)
def test_rates_are_read_as_percentages_or_fractions(
    written: str | Decimal | int, rate: str
) -> None:
    assert parse_rate(written) == Decimal(rate)


def test_float_rates_are_refused() -> None:
    with pytest.raises(InvalidAmount, match="binary float"):
        parse_rate(0.08)  # type: ignore[arg-type]


def test_amounts_and_rates_read_well_in_explanations() -> None:
    assert format_amount(Decimal("10000.00")) == "10,000.00"
    assert format_rate(Decimal("0.08")) == "8%"
    assert format_rate(Decimal("0.125")) == "12.5%"
    assert format_rate(Decimal("1")) == "100%"
