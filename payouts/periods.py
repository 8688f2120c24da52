"""Accounting periods (months, `YYYY-MM`) and their open/closed state.

A fact is accounted in its own month while that month is open, else in the next
open one: that is how a late fact for a closed month becomes a prior-period
adjustment, and why a closed month never changes. `fact_revision` counts facts
accounted in a period, so a batch can tell that facts arrived after its draft.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import cast

from sqlalchemy import BigInteger, CheckConstraint, String, Table, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql.dml import Insert

from payouts.base import Base
from payouts.errors import PayoutsError

PERIOD_PATTERN = re.compile(r"^([12]\d{3})-(0[1-9]|1[0-2])$")


class InvalidPeriod(PayoutsError):
    code = "invalid-period"
    status = 422


class Period(Base):
    __tablename__ = "periods"
    __table_args__ = (CheckConstraint("status IN ('open', 'closed')", name="status"),)

    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    status: Mapped[str] = mapped_column(String(8), default="open")
    fact_revision: Mapped[int] = mapped_column(
        BigInteger, default=0, doc="Bumped by every ingestion that accounts facts here."
    )


@dataclass(frozen=True, slots=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        match = PERIOD_PATTERN.match(text.strip())
        if not match:
            raise InvalidPeriod(f"period {text!r} is not a month of the form YYYY-MM (1000-2999)")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @property
    def start(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def end(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def next(self) -> Month:
        return Month(self.year + (self.month == 12), self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def plus(self, months: int) -> Month:
        index = self.year * 12 + (self.month - 1) + months
        return Month(index // 12, index % 12 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def ensure(session: Session, periods: set[str]) -> None:
    """Create the period rows that do not exist yet (open), race-free on both backends."""
    if not periods:
        return
    rows = [{"period": p, "status": "open", "fact_revision": 0} for p in sorted(periods)]
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert(Period).values(rows).on_conflict_do_nothing(index_elements=["period"]))


@cache
def _account_in(dialect: str) -> Insert:
    """Create-or-bump one period row and return its status (built once per dialect)."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = cast(Table, Period.__table__)
    return (
        insert(table)
        .values(period=bindparam("period"), status="open", fact_revision=1)
        .on_conflict_do_update(
            index_elements=["period"],
            set_={"fact_revision": table.c.fact_revision + 1},
        )
        .returning(table.c.status)
    )


def assign_accounting_periods(session: Session, months: set[str]) -> dict[str, str]:
    """Map each fact month to the month it is accounted in: itself, or the next open one.

    One statement per month creates the period row if needed, bumps its
    `fact_revision` (which voids drafts calculated before) and returns its status,
    holding the row lock until commit; so a concurrent batch close, which locks the
    same row, cannot close a month between this check and the commit of the facts
    put in it. (Bumping a closed month's revision is harmless: nothing reads it.)
    """
    statement = _account_in(session.get_bind().dialect.name)
    mapping: dict[str, str] = {}
    for fact_month in sorted(months):
        month = Month.parse(fact_month)
        while True:
            if session.execute(statement, {"period": str(month)}).scalar_one() != "closed":
                break
            month = month.next()
        mapping[fact_month] = str(month)
    return mapping


def revise_open_from(session: Session, month: Month) -> list[str]:
    """Bump `fact_revision` of every open period from `month` on; returns them.

    For a change that can reach the drafts of those months without being accounted in
    one (an FX rate applies from its day until the pair's next rate): a draft
    calculated before is void, as if a fact had arrived. Row by row in period order,
    the order `assign_accounting_periods` locks them in, so the two never deadlock."""
    revised = list(
        session.scalars(
            select(Period.period)
            .where(Period.period >= str(month), Period.status == "open")
            .order_by(Period.period)
        )
    )
    for period in revised:
        session.execute(
            update(Period)
            .where(Period.period == period)
            .values(fact_revision=Period.fact_revision + 1)
        )
    return revised
