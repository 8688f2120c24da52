"""The 1099-NEC reporting threshold, year by year, each figure with its source.

A payer files a Form 1099-NEC for a payee whose nonemployee compensation in a
calendar year reaches the threshold ("$600 or more" until 2025). Section 70433 of the
One Big Beautiful Bill Act (Public Law 119-21, 2025) raised it to $2,000 for payments
made after 31 December 2025, indexed for inflation from 2027 (rounded to a multiple of
$100): the IRS publishes each later year's figure, which finance then gives as
`--threshold` until it is added here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from payouts.errors import PayoutsError


@dataclass(frozen=True, slots=True)
class Threshold:
    amount: Decimal
    """In US dollars: a payee whose year's payments reach it is reported."""
    source: str


OLD_RULE = Threshold(
    Decimal("600.00"),
    "26 U.S.C. 6041(a) before P.L. 119-21: payments of $600 or more (through 2025-12-31)",
)
OBBBA = Threshold(
    Decimal("2000.00"),
    "P.L. 119-21 (One Big Beautiful Bill Act) sec. 70433: $2,000 for payments made after "
    "2025-12-31",
)
LAST_KNOWN_YEAR = 2026
"""From 2027 the figure is indexed for inflation and published by the IRS each year."""


class NoThresholdForYear(PayoutsError):
    """A year whose figure is not in the table (and none was given)."""

    code = "no-threshold-for-year"
    status = 422


def nec_threshold(year: int, given: Decimal | None = None) -> Threshold:
    """The 1099-NEC threshold for payments made in `year` (`given` overrides the table)."""
    if given is not None:
        return Threshold(given, "given with --threshold")
    if year <= 2025:
        return OLD_RULE
    if year <= LAST_KNOWN_YEAR:
        return OBBBA
    raise NoThresholdForYear(
        f"the 1099-NEC threshold for {year} is indexed for inflation and not in the table "
        "yet: give the IRS figure with --threshold"
    )
