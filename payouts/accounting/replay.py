"""Prove a closed month: recalculate it from its facts as they stood at its close.

The calculation is the batch's own (`gather`, `calculate_partner`), run unchanged on
a view of the database as of the month's close: inside a savepoint that is always
rolled back, each table of recorded inputs (facts, plan versions, plan assignments,
tier evaluations) is shadowed by a temporary table of the same name holding only
the rows recorded (`ingested_at`, `loaded_at`, `assigned_at`, `evaluated_at`) by
the close. Both backends resolve an unqualified table name to the temporary table
first (PostgreSQL searches `pg_temp` before the schema, SQLite `temp` before
`main`), so the calculation needs no parameter to read the past, and nothing is
written.

Every recalculated line is then compared with what the close posted: payable lines
with the month's ledger entries (payouts and payout reversals aside), resale margin
with the margin lines, partner by partner in order, every column but the line
number (a failed payout's reversal may have shifted the numbers after it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from payouts.accounting import sources
from payouts.base import Base
from payouts.batch import draft
from payouts.batch.calculation import PartnerWork, calculate_partner
from payouts.batch.gathering import gather
from payouts.batch.models import DraftLine
from payouts.ledger import LedgerEntry, MarginLine
from payouts.periods import Month, Period
from plans.model import PlanVersion

AS_RECORDED: dict[str, str] = {
    "deals": "ingested_at",
    "deal_roles": "ingested_at",
    "deal_registrations": "ingested_at",
    "invoices": "ingested_at",
    "payments": "ingested_at",
    "refunds": "ingested_at",
    "cancellations": "ingested_at",
    "certifications": "ingested_at",
    "campaigns": "ingested_at",
    "fx_rates": "ingested_at",
    "plan_versions": "loaded_at",
    "plan_assignments": "assigned_at",
    "tier_history": "evaluated_at",
}
"""The tables of recorded inputs and the column saying when each row was recorded."""

Lines = dict[tuple[str, str], list[dict[str, Any]]]
"""(partner, "ledger" or "margin") -> its lines in order, each the COMPARED columns."""

COMPARED = tuple(f for f in draft.LINE_FIELDS if f not in ("period", "partner_id", "line_no"))
"""The columns compared: everything a line says, but where it is numbered."""


@dataclass(frozen=True, slots=True)
class LineDifference:
    partner_id: str
    position: int
    """The line's position among the partner's posted (or margin) lines, from 1."""
    table: str
    posted: dict[str, Any] | None
    replayed: dict[str, Any] | None

    def describe(self) -> str:
        what = self.posted or self.replayed or {}
        where = (
            f"{self.partner_id} {self.table} line {self.position} "
            f"({what.get('source_fact')}, {what.get('component_id') or what.get('entry_kind')})"
        )
        if self.posted is None:
            return f"{where}: not posted, replay gives {_amount(self.replayed)}"
        if self.replayed is None:
            return f"{where}: posted {_amount(self.posted)}, replay gives no such line"
        changed = [
            f"{field} posted {self.posted.get(field)!r}, replay {self.replayed.get(field)!r}"
            for field in COMPARED
            if self.posted.get(field) != self.replayed.get(field)
        ]
        return f"{where}: " + "; ".join(changed)


@dataclass(frozen=True, slots=True)
class Replay:
    period: str
    closed_at: datetime
    lines: int
    differences: list[LineDifference]

    @property
    def identical(self) -> bool:
        return not self.differences


def replay(session: Session, period: str) -> Replay:
    """Recalculate a closed month as of its close and compare it line by line."""
    month = sources.closed_month(session, period)
    closed_at = month.closed_at
    posted = _posted(session, month.period)
    with as_of(session, closed_at):
        row = session.get(Period, month.period)
        work = gather(session, month.period, row.fact_revision if row else 0)
        replayed = _calculated(month.period, work.partners)
    differences = compare(posted, replayed)
    count = sum(len(lines) for lines in replayed.values())
    return Replay(month.period, closed_at, count, differences)


@dataclass(frozen=True, slots=True)
class LineSimulation:
    period: str
    compared_with: str  # "closed ledger", "draft" or "nothing yet"
    lines: int
    differences: list[LineDifference]


def simulate_lines(session: Session, period: str, candidate: PlanVersion) -> LineSimulation:
    """What-if at the level of lines: the month under a candidate plan (today's facts),
    compared line by line with its closed ledger or its draft. Writes nothing."""
    period = str(Month.parse(period))
    # As saved: a version's decimals are normalised (a rate "10%" is stored as 0.1), and
    # explanations print them.
    candidate = PlanVersion.model_validate(candidate.canonical())
    row = session.get(Period, period)
    work = gather(session, period, row.fact_revision if row else 0, candidate=candidate)
    proposed = _calculated(period, work.partners)
    if row is not None and row.status == "closed":
        compared, current = "closed ledger", _posted(session, period)
    else:
        current = _drafted(session, period)
        compared = "draft" if current else "nothing yet"
    count = sum(len(lines) for lines in proposed.values())
    # The candidate is another version by definition: its label is not a difference.
    for lines in (*proposed.values(), *current.values()):
        for line in lines:
            line["plan_label"] = None
    return LineSimulation(period, compared, count, compare(current, proposed))


def compare(
    posted: Lines,
    replayed: Lines,
) -> list[LineDifference]:
    differences: list[LineDifference] = []
    for key in sorted(set(posted) | set(replayed)):
        mine, theirs = posted.get(key, []), replayed.get(key, [])
        for index in range(max(len(mine), len(theirs))):
            a = mine[index] if index < len(mine) else None
            b = theirs[index] if index < len(theirs) else None
            if a != b:
                differences.append(LineDifference(key[0], index + 1, key[1], a, b))
    return differences


@contextmanager
def as_of(session: Session, moment: datetime) -> Iterator[None]:
    """The recorded inputs as they stood at `moment`, within a savepoint rolled back
    on leaving (the temporary tables go with it)."""
    nested = session.begin_nested()
    try:
        connection = session.connection()
        schema = "public" if connection.dialect.name == "postgresql" else "main"
        for table, recorded in AS_RECORDED.items():
            column = _column(table, recorded)
            connection.execute(
                text(
                    f"CREATE TEMPORARY TABLE {table} AS "  # noqa: S608 - fixed names
                    f"SELECT * FROM {schema}.{table} WHERE {recorded} <= :moment"
                ).bindparams(bindparam("moment", moment, type_=column.type))
            )
            # The real table's keys and indexes, so the calculation's plans stay as fast.
            keyed = Base.metadata.tables[table]
            keys = [tuple(keyed.primary_key.columns.keys())]
            keys += [tuple(c.name for c in index.columns) for index in keyed.indexes]
            for number, names in enumerate(dict.fromkeys(k for k in keys if k)):
                prefix = "" if schema == "public" else "temp."
                connection.execute(
                    text(
                        f"CREATE INDEX {prefix}as_of_{table}_{number} "
                        f"ON {table} ({', '.join(names)})"
                    )
                )
        yield
    finally:
        nested.rollback()


def _column(table: str, name: str) -> Any:
    return Base.metadata.tables[table].c[name]


def _calculated(period: str, partners: list[PartnerWork]) -> Lines:
    found: Lines = {}
    for partner in partners:
        for values in draft.rows_of(period, partner.partner_id, calculate_partner(partner)):
            record = dict(zip(draft.COLUMNS, values, strict=True))
            table = "ledger" if record.pop("payable") else "margin"
            found.setdefault((partner.partner_id, table), []).append(_compared(record))
    return found


def _drafted(session: Session, period: str) -> Lines:
    """A draft's lines in the same shape as posted ones: payable as the ledger will
    hold them, the rest as margin."""
    found: Lines = {}
    columns = [getattr(DraftLine, f) for f in draft.COLUMNS]
    query = (
        select(*columns)
        .where(DraftLine.period == period)
        .order_by(DraftLine.partner_id, DraftLine.line_no)
    )
    for values in session.execute(query):
        record = dict(zip(draft.COLUMNS, values, strict=True))
        table = "ledger" if record.pop("payable") else "margin"
        found.setdefault((record["partner_id"], table), []).append(_compared(record))
    return found


def _posted(session: Session, period: str) -> Lines:
    found: Lines = {}
    for model, table, where in (
        (
            LedgerEntry,
            "ledger",
            LedgerEntry.entry_kind.not_in(("payout", "payout_reversal")),
        ),
        (MarginLine, "margin", MarginLine.period == period),
    ):
        columns = [getattr(model, f) for f in draft.LINE_FIELDS]
        query = (
            select(*columns)
            .where(model.period == period, where)
            .order_by(model.partner_id, model.line_no)
        )
        for values in session.execute(query):
            record = dict(zip(draft.LINE_FIELDS, values, strict=True))
            found.setdefault((record["partner_id"], table), []).append(_compared(record))
    return found


def _compared(record: dict[str, Any]) -> dict[str, Any]:
    return {field: record[field] for field in COMPARED}


def _amount(record: dict[str, Any] | None) -> str:
    if record is None:
        return "nothing"
    return f"{record['amount_minor']} minor units {record['currency']}"
