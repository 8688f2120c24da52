"""PlanVersion: one immutable version of a commission plan.

A saved version is identified by ``content_hash()``, the SHA-256 of its
canonical JSON (sorted keys, decimals as normalised strings), so loading the
same document twice is recognisably the same version.
"""

from __future__ import annotations

import enum
import hashlib
import json
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import Field, field_validator, model_validator

from plans.components import Component
from plans.components.terms import Amount, Problems, Slug, Term
from plans.money import Rounding, currency_problem


def duplicate_ids(ids: list[object]) -> list[tuple[str, str]]:
    """Problems for component ids used more than once (each later use is reported)."""
    seen: set[object] = set()
    problems = []
    for index, cid in enumerate(ids):
        if cid in seen:
            problems.append((f"[{index}].id", f"component id {cid!r} is used more than once"))
        seen.add(cid)
    return problems


def dates_disordered(effective_from: date, effective_to: date) -> str:
    return (
        f"effective_to {effective_to.isoformat()} must be after "
        f"effective_from {effective_from.isoformat()}"
    )


class FxDate(enum.StrEnum):
    """Which day's FX rate converts a line: the fact's own date or the period's last day."""

    fact_date = "fact_date"
    period_end = "period_end"


class PlanVersion(Term):
    plan_id: Slug
    version: Annotated[int, Field(ge=1)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: str | None = None
    effective_from: date
    effective_to: date | None = None
    currency: str
    rounding: Rounding = Rounding.half_up
    fx_date: FxDate = FxDate.fact_date
    minimum_payout: Amount = Decimal(0)
    pay_terminated: bool = False
    clawback_window_days: Annotated[int, Field(ge=0, le=3660)] = 90
    components: tuple[Component, ...]

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, value: str) -> str:
        problem = currency_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("components")
    @classmethod
    def _unique_ids(cls, components: tuple[Component, ...]) -> tuple[Component, ...]:
        if not components:
            raise ValueError("a plan needs at least one component")
        problems = duplicate_ids([c.id for c in components])
        if problems:
            raise Problems(problems)
        return components

    @model_validator(mode="after")
    def _dates_ordered(self) -> Self:
        if self.effective_to is not None and self.effective_to <= self.effective_from:
            raise Problems(
                [("effective_to", dates_disordered(self.effective_from, self.effective_to))]
            )
        return self

    def in_effect_on(self, day: date) -> bool:
        """Effective from ``effective_from`` (inclusive) until ``effective_to`` (exclusive)."""
        return self.effective_from <= day and (self.effective_to is None or day < self.effective_to)

    def canonical(self, *, include_version: bool = True) -> dict[str, Any]:
        """The normalised document: JSON types only, decimals as normalised strings."""
        data: dict[str, Any] = self.model_dump(mode="json")
        # A component without an accounting treatment is written as before treatments
        # existed, so every version saved earlier keeps its content hash.
        for component in data["components"]:
            if component.get("accounting", ...) is None:
                del component["accounting"]
        if not include_version:
            del data["version"]
        return data

    def canonical_json(self, *, include_version: bool = True) -> str:
        return json.dumps(
            self.canonical(include_version=include_version),
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )

    def content_hash(self, *, include_version: bool = True) -> str:
        """SHA-256 hex of the canonical JSON; identifies a saved version.

        ``include_version=False`` hashes the content alone, to tell whether a
        loaded document changes anything compared with the latest saved version.
        """
        payload = self.canonical_json(include_version=include_version).encode("utf-8")
        return hashlib.sha256(payload).hexdigest()
