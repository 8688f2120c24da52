"""Earning: one calculated ledger line with everything needed to defend it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import NamedTuple

from plans.line_kinds import LineKind


class Earning(NamedTuple):
    """One line, rounded once: ``amount`` is ``unrounded`` rounded by the plan's rule.

    Immutable. A ``NamedTuple`` rather than a frozen dataclass on purpose: a
    frozen dataclass's ``__init__`` sets each of these 22 fields through
    ``object.__setattr__`` (about 3.5 us a line measured here), a NamedTuple is
    built in about 0.5 us, which matters at a million lines a batch. Use
    ``line._replace(...)`` for a modified copy.

    ``base_amount``/``base_currency`` is what the rate or fixed amount applied to
    (the invoice, the deal price, the rebate volume, or for a clawback the
    amount paid earlier); ``unrounded`` and ``amount`` are in ``currency``, the
    payout currency, after FX conversion at ``fx_rate`` from ``fx_source``.
    """

    partner_id: str
    plan_id: str
    plan_version: int
    component_id: str
    component_kind: str
    line_kind: LineKind
    payable: bool
    source_fact: str
    fact_date: date
    customer_id: str | None
    deal_id: str | None
    invoice_id: str | None
    base_amount: Decimal
    base_currency: str
    rate: Decimal | None
    fixed_amount: Decimal | None
    fx_rate: Decimal | None
    fx_source: str | None
    currency: str
    unrounded: Decimal
    amount: Decimal
    explanation: tuple[str, ...]

    @property
    def line_key(self) -> str:
        """Stable identity of a line within a plan version, for idempotent ledger writes."""
        return "|".join(
            (
                self.plan_id,
                str(self.plan_version),
                self.component_id,
                self.line_kind.value,
                self.source_fact,
                self.invoice_id or "",
            )
        )
