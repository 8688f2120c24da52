"""The effective-dated FX rate table, read into the calculator's pure lookup."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from payouts.facts.models import FxRate as FxRateRow
from plans.facts import FxRate, FxTable


def table(session: Session) -> FxTable:
    """Every recorded rate (the table is small: a few currencies a day at most)."""
    rows = session.scalars(select(FxRateRow))
    return FxTable(
        FxRate(
            from_currency=row.from_currency,
            to_currency=row.to_currency,
            on=row.date,
            rate=Decimal(row.rate),
            source=f"{row.source} {row.date.isoformat()} ({row.id})",
        )
        for row in rows
    )
