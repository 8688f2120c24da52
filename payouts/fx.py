"""The effective-dated FX rate table: what a plausible rate is, and the lookup a run uses.

A rate is the units of `to_currency` one unit of `from_currency` buys, written like an
amount: a plain decimal string, here with at most 7 digits before the point and 12
after it, between one millionth (0.000001) and one million (1000000). Every pair of
currencies money is paid in lies inside at official rates (the widest, a Gulf dinar
against the Iranian rial or the Lebanese pound, are in the hundreds of thousands); a
rate outside is a typing or unit mistake (`1e30`, a rate in the wrong unit), refused
at ingestion.

A rate already stored outside these bounds (by hand, or before they existed) does not
crash a run: the run that meets it stops with `FxRateUnusable`, naming the fact, and
finance corrects it with an amendment while its month is open.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from payouts.errors import PayoutsError
from payouts.facts.models import FxRate as FxRateRow
from plans.errors import InvalidAmount
from plans.facts import FxRate, FxTable
from plans.money import parse_plain_decimal

MIN_RATE = Decimal("0.000001")
MAX_RATE = Decimal(1_000_000)
RATE_INTEGER_DIGITS = 7
RATE_DECIMALS = 12
RATE_PATTERN = rf"^[0-9]{{1,{RATE_INTEGER_DIGITS}}}(\.[0-9]{{1,{RATE_DECIMALS}}})?$"


def parse_rate(value: object) -> Decimal:
    """The rate written as `value`, or InvalidAmount saying why it is refused."""
    rate = parse_plain_decimal(
        value, "rate", integer_digits=RATE_INTEGER_DIGITS, decimals=RATE_DECIMALS
    )
    if not MIN_RATE <= rate <= MAX_RATE:
        raise InvalidAmount(
            f"rate {value!r} is not a plausible exchange rate: a rate lies between "
            f"{MIN_RATE} and {MAX_RATE}"
        )
    return rate


class FxRateUnusable(PayoutsError):
    """A stored FX rate that a run needs cannot be used; finance must amend it."""

    code = "fx-rate-unusable"
    status = 409


class CheckedFxTable(FxTable):
    """The FX table of a run: meeting an unusable stored rate raises FxRateUnusable.

    An unusable rate stays in the table (with a placeholder) rather than being left
    out: left out, a lookup would silently fall back to the pair's previous rate."""

    __slots__ = ("_unusable",)

    def __init__(self, rates: Iterable[FxRate], unusable: dict[tuple[str, str, date], str]):
        super().__init__(rates)
        self._unusable = unusable

    def __call__(self, from_currency: str, to_currency: str, on: date) -> FxRate:
        rate = super().__call__(from_currency, to_currency, on)
        if self._unusable:
            problem = self._unusable.get((from_currency, to_currency, rate.on))
            if problem is not None:
                raise FxRateUnusable(problem)
        return rate


def table(session: Session) -> FxTable:
    """Every recorded rate (the table is small: a few currencies a day at most)."""
    rates: list[FxRate] = []
    unusable: dict[tuple[str, str, date], str] = {}
    for row in session.scalars(select(FxRateRow)):
        try:
            value = parse_rate(row.rate)
        except InvalidAmount as exc:
            value = Decimal(0)
            unusable[(row.from_currency, row.to_currency, row.date)] = (
                f"FX rate {row.id} ({row.from_currency}->{row.to_currency} on "
                f"{row.date.isoformat()}) cannot be used: {exc}. Correct it with "
                "`payouts facts import fx_rates FILE --amend` (or POST "
                "/facts/fx_rates?amend=true) while its month is open"
            )
        rates.append(
            FxRate(
                from_currency=row.from_currency,
                to_currency=row.to_currency,
                on=row.date,
                rate=value,
                source=f"{row.source} {row.date.isoformat()} ({row.id})",
            )
        )
    return CheckedFxTable(rates, unusable)
