"""volume_rebate: a rebate on a rebate period's resale volume, by brackets.

``retroactive``: the whole volume at the rate of the highest bracket reached.
``marginal``: each slice of volume at its own bracket's rate ("2% on a
quarter's volume above 50,000" is brackets 0 -> 0%, 50,000 -> 2%, marginal).
Brackets start at 0, rise strictly and their rates never fall, so a marginal
rebate never exceeds the retroactive one on the same volume.

Computed only when ``PartnerFacts.rebate_volume`` is given and the period
ends on the last day of a rebate period; payouts supplies the volume (in the
plan currency) of that whole rebate period.
"""

from __future__ import annotations

import enum
import itertools
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, field_validator

from plans.calendar import RebatePeriod, rebate_period_bounds, rebate_period_label
from plans.components.terms import Amount, ComponentBase, Problems, Rate, Term
from plans.earnings import Earning
from plans.money import format_amount, format_rate
from plans.period import Period, show


class RebateMode(enum.StrEnum):
    retroactive = "retroactive"
    marginal = "marginal"


class Bracket(Term):
    from_amount: Amount
    rate: Rate


class VolumeRebate(ComponentBase):
    kind: Literal["volume_rebate"] = "volume_rebate"
    period: RebatePeriod = RebatePeriod.quarter
    brackets: Annotated[tuple[Bracket, ...], Field(min_length=1)]
    mode: RebateMode = RebateMode.marginal

    @field_validator("brackets")
    @classmethod
    def _brackets_ordered(cls, brackets: tuple[Bracket, ...]) -> tuple[Bracket, ...]:
        problems: list[tuple[str, str]] = []
        if brackets[0].from_amount != 0:
            problems.append(("[0].from_amount", "the first bracket must start at 0"))
        for index, (lower, upper) in enumerate(itertools.pairwise(brackets), start=1):
            if upper.from_amount <= lower.from_amount:
                problems.append(
                    (
                        f"[{index}].from_amount",
                        f"{format_amount(upper.from_amount)} is not above "
                        f"{format_amount(lower.from_amount)}: brackets are listed lowest first "
                        f"and must not overlap",
                    )
                )
            if upper.rate < lower.rate:
                problems.append(
                    (
                        f"[{index}].rate",
                        f"{format_rate(upper.rate)} is below {format_rate(lower.rate)}: "
                        f"a higher bracket may not pay a lower rate",
                    )
                )
        if problems:
            raise Problems(problems)
        return brackets


def rebate(component: VolumeRebate, volume: Decimal) -> tuple[Decimal, Decimal | None, list[str]]:
    """(unrounded rebate, rate for retroactive mode, steps) for a volume in the plan currency."""
    if volume <= 0:
        return Decimal(0), Decimal(0), ["no volume, no rebate"]
    brackets = component.brackets
    if component.mode is RebateMode.retroactive:
        reached = brackets[0]
        for bracket in brackets:
            if bracket.from_amount <= volume:
                reached = bracket
        return (
            volume * reached.rate,
            reached.rate,
            [
                f"bracket from {format_amount(reached.from_amount)} reached: "
                f"whole volume at {format_rate(reached.rate)} (retroactive)"
            ],
        )
    total = Decimal(0)
    steps = []
    for index, bracket in enumerate(brackets):
        if bracket.from_amount >= volume:
            break
        upper = brackets[index + 1].from_amount if index + 1 < len(brackets) else None
        top = volume if upper is None or volume < upper else upper
        slice_ = top - bracket.from_amount
        total += slice_ * bracket.rate
        steps.append(
            f"slice {format_amount(bracket.from_amount)}..{format_amount(top)}: "
            f"{format_amount(slice_)} x {format_rate(bracket.rate)}"
        )
    return total, None, steps


def earn(component: VolumeRebate, period: Period) -> list[Earning]:
    volume = period.facts.rebate_volume
    if volume is None:
        return []
    _, last_day = rebate_period_bounds(component.period, period.end)
    if last_day != period.end:
        return []
    label = rebate_period_label(component.period, period.end)
    currency = period.plan.currency
    value, rate, steps = rebate(component, volume)
    return [
        period.line(
            component_id=component.id,
            component_kind=component.kind,
            source_fact=f"rebate:{label}",
            fact_date=period.end,
            base_amount=volume,
            base_currency=currency,
            value=value,
            calculation=(
                f"{component.mode.value} rebate on {label} volume {show(volume, currency)}"
            ),
            context=tuple(steps),
            rate=rate,
        )
    ]
