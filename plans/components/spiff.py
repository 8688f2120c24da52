"""spiff: a fixed amount per qualifying event.

Events: new logo, approved deal registration, certification earned.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from plans.components.terms import Amount, ComponentBase, Problems, Term
from plans.earnings import Earning
from plans.facts import SpiffKind
from plans.period import Period


class SpiffAmount(Term):
    event: SpiffKind
    amount: Amount


class Spiff(ComponentBase):
    kind: Literal["spiff"] = "spiff"
    pays: Annotated[tuple[SpiffAmount, ...], Field(min_length=1)]

    @field_validator("pays")
    @classmethod
    def _one_amount_per_event(cls, pays: tuple[SpiffAmount, ...]) -> tuple[SpiffAmount, ...]:
        problems: list[tuple[str, str]] = []
        seen: set[SpiffKind] = set()
        for index, pay in enumerate(pays):
            if pay.event in seen:
                problems.append((f"[{index}].event", f"event {pay.event.value} is listed twice"))
            seen.add(pay.event)
        if problems:
            raise Problems(problems)
        return pays


def earn(component: Spiff, period: Period) -> list[Earning]:
    amounts = {p.event: p.amount for p in component.pays}
    currency = period.plan.currency
    events = sorted(
        (
            e
            for e in period.facts.events
            if e.partner_id == period.partner_id and period.in_period(e.date) and e.kind in amounts
        ),
        key=lambda e: (e.date, e.event_id),
    )
    return [
        period.line(
            component_id=component.id,
            component_kind=component.kind,
            source_fact=f"event:{event.event_id}",
            fact_date=event.date,
            base_amount=amounts[event.kind],
            base_currency=currency,
            value=amounts[event.kind],
            calculation=f"spiff for {event.kind.value.replace('_', ' ')} {event.event_id}",
            fixed_amount=amounts[event.kind],
            customer_id=event.customer_id,
        )
        for event in events
    ]
