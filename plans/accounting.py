"""How finance books a component's cost: the accounting treatment, in the plan language.

A component's lines are a cost of the vendor. Most are an expense of the month they
are earned (`expense`, the default). Incremental costs of obtaining a contract (ASC
340-40 / IFRS 15.91, for example a referral fee) are capitalised as an asset and
amortised over the contract's expected life (`capitalise`, with `months`); the
one-year practical expedient (ASC 340-40-25-4, IFRS 15.94) lets an entity expense
them at once when that life is a year or less (`practical_expedient: true`).
Consideration payable to a customer, such as a rebate to a reseller that buys from
us, reduces revenue (`contra_revenue`, IFRS 15.70 / ASC 606-10-32-25).

The treatment only decides where the journal books a line; it never changes what a
line is worth, so a plan's calculation is the same with or without it.
"""

from __future__ import annotations

import enum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

PRACTICAL_EXPEDIENT_MONTHS = 12
"""The practical expedient covers amortisation periods of one year or less."""


class Treatment(enum.StrEnum):
    expense = "expense"
    capitalise = "capitalise"
    contra_revenue = "contra_revenue"


class Accounting(BaseModel):
    """`accounting:` on a component: its treatment, and for `capitalise` its months.

    (A plain model with the plan terms' settings, not a `Term`: the component terms
    refer to it, so it cannot refer back to them.)"""

    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)

    treatment: Treatment = Treatment.expense
    months: Annotated[int, Field(ge=1, le=240)] | None = None
    practical_expedient: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems: list[str] = []
        capitalised = self.treatment is Treatment.capitalise
        if capitalised and self.months is None:
            problems.append("months is required when treatment is capitalise")
        if not capitalised and self.months is not None:
            problems.append("months is only allowed when treatment is capitalise")
        if self.practical_expedient and not capitalised:
            problems.append("practical_expedient applies to treatment capitalise only")
        if (
            self.practical_expedient
            and self.months is not None
            and self.months > PRACTICAL_EXPEDIENT_MONTHS
        ):
            problems.append(
                f"the practical expedient allows {PRACTICAL_EXPEDIENT_MONTHS} months or "
                f"fewer, not {self.months}"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def booked_as(self) -> Treatment:
        """Where a line is booked: a capitalised cost under the expedient is an expense."""
        if self.treatment is Treatment.capitalise and self.practical_expedient:
            return Treatment.expense
        return self.treatment


EXPENSE = Accounting()
