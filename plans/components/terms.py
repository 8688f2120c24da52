"""Terms shared by every component: rates, amounts, ids and the pay basis."""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from plans.accounting import Accounting
from plans.errors import InvalidAmount
from plans.money import format_rate, parse_decimal, parse_rate


class Problems(ValueError):
    """Several problems found by one validator, each at a path relative to the validated value.

    ``loading`` expands them into separate ``PlanError``s, e.g. the field
    ``tiers`` with relative path ``[1].rate`` -> ``components[0].tiers[1].rate``.
    """

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self.items = items
        super().__init__(
            "; ".join(f"{path}: {message}" if path else message for path, message in items)
        )


def _rate_input(value: Any) -> Decimal:
    try:
        return parse_rate(value)
    except InvalidAmount as exc:
        raise ValueError(str(exc)) from None


def _rate_range(value: Decimal) -> Decimal:
    if not Decimal(0) <= value <= Decimal(1):
        raise ValueError(f"rate must be between 0% and 100%, got {format_rate(value)}")
    return value


def _amount_input(value: Any) -> Decimal:
    try:
        return parse_decimal(value)
    except InvalidAmount as exc:
        raise ValueError(str(exc)) from None


def _non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError(f"amount must not be negative, got {value}")
    return value


def _canonical_decimal(value: Decimal) -> str:
    """Decimals are serialised normalised so ``"8%"`` and ``"0.080"`` hash the same."""
    return f"{value.normalize():f}"


Rate = Annotated[
    Decimal,
    BeforeValidator(_rate_input),
    AfterValidator(_rate_range),
    PlainSerializer(_canonical_decimal, when_used="json"),
]
"""A fraction in 0..1, written "8%", "12.5%" or "0.08"."""

Amount = Annotated[
    Decimal,
    BeforeValidator(_amount_input),
    AfterValidator(_non_negative),
    PlainSerializer(_canonical_decimal, when_used="json"),
]
"""A non-negative amount in the plan currency, written exactly (never a float)."""

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]


class Basis(enum.StrEnum):
    """What a percentage applies to: the invoiced amount (on issue) or the paid one (on payment)."""

    invoiced = "invoiced"
    paid = "paid"


class Term(BaseModel):
    """Base of every plan model: immutable, and unknown fields are errors (typos lose money)."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)


class ComponentBase(Term):
    id: Slug
    description: str | None = None
    accounting: Accounting | None = None  # how the journal books it; None: an expense
