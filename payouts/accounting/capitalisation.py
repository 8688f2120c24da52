"""Capitalised costs of obtaining contracts: amortisation schedules and the waterfall.

Each month's capitalised lines of a component form a layer, amortised straight-line
over the component's months starting with the month it is booked. The schedule
rounds cumulatively (month k carries floor(A*k/N) - floor(A*(k-1)/N) minor units),
so a layer amortises to exactly zero, cent for cent, and no month differs from
another by more than one minor unit. A clawback of a capitalised cost is a negative
layer, amortised the same way.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy.orm import Session

from payouts.accounting import sources
from payouts.periods import Month
from plans.money import from_minor


def schedule(amount_minor: int, months: int) -> list[int]:
    """`amount_minor` spread over `months` months; the parts add up to it exactly."""
    if months < 1:
        raise ValueError("a schedule needs at least one month")
    return [
        (amount_minor * (k + 1)) // months - (amount_minor * k) // months for k in range(months)
    ]


@dataclass(frozen=True, slots=True)
class Layer:
    """A month's capitalised cost of one component in one currency."""

    period: str
    component_id: str | None
    component_kind: str | None
    currency: str
    amount_minor: int
    months: int

    def amortisation(self, period: str) -> int:
        """What this layer amortises in `period` (0 before it starts or after it ends)."""
        start = Month.parse(self.period)
        month = Month.parse(period)
        index = (month.year - start.year) * 12 + month.month - start.month
        if not 0 <= index < self.months:
            return 0
        return schedule(self.amount_minor, self.months)[index]


def layers(session: Session, through: str) -> list[Layer]:
    known = sources.treatments(session)
    grouped: dict[tuple[str, str | None, str | None, str, int], int] = defaultdict(int)
    for period, group in sources.capitalised_groups(session, through, known):
        months = sources.treatment_of(known, group).months or 1
        key = (period, group.component_id, group.component_kind, group.currency, months)
        grouped[key] += group.amount_minor
    return [
        Layer(p, cid, kind, ccy, amount, months)
        for (p, cid, kind, ccy, months), amount in sorted(
            grouped.items(), key=lambda item: tuple(str(x) for x in item[0])
        )
        if amount
    ]


@dataclass(frozen=True, slots=True)
class WaterfallRow:
    period: str
    currency: str
    opening_minor: int
    additions_minor: int
    amortisation_minor: int
    closing_minor: int


def waterfall(session: Session, through: str) -> list[WaterfallRow]:
    """Per month and currency from the first capitalised cost through `through`:
    opening balance, additions, amortisation, closing balance (minor units)."""
    through = str(Month.parse(through))
    found = layers(session, through)
    return waterfall_of(found, through)


def waterfall_of(found: list[Layer], through: str) -> list[WaterfallRow]:
    if not found:
        return []
    rows: list[WaterfallRow] = []
    for currency in sorted({layer.currency for layer in found}):
        mine = [layer for layer in found if layer.currency == currency]
        month, last = Month.parse(min(layer.period for layer in mine)), Month.parse(through)
        balance = 0
        while month <= last:
            period = str(month)
            added = sum(layer.amount_minor for layer in mine if layer.period == period)
            amortised = sum(layer.amortisation(period) for layer in mine)
            closing = balance + added - amortised
            rows.append(WaterfallRow(period, currency, balance, added, amortised, closing))
            balance = closing
            month = month.next()
    return rows


WATERFALL_COLUMNS = ("period", "currency", "opening", "additions", "amortisation", "closing")


def waterfall_csv(rows: list[WaterfallRow]) -> bytes:
    """The waterfall as CSV: plain decimal amounts at each currency's precision."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(WATERFALL_COLUMNS)
    for r in rows:
        writer.writerow(
            [r.period, r.currency]
            + [
                str(from_minor(v, r.currency))
                for v in (r.opening_minor, r.additions_minor, r.amortisation_minor, r.closing_minor)
            ]
        )
    return out.getvalue().encode("utf-8")
