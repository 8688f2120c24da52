"""Tampering with a closed month's ledger (or facts) as only its owner could: triggers off.

The append-only and closed-period triggers refuse every change to `ledger_entries`;
these helpers lift them for one change (PostgreSQL: DISABLE TRIGGER, SQLite: drop and
recreate them), as an attacker holding the schema owner's credentials would.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Table, insert, select, text, update
from sqlalchemy.orm import Session

from payouts.ledger import LedgerEntry

LEDGER: Table = LedgerEntry.__table__  # type: ignore[assignment]


@contextmanager
def ledger_unguarded(session: Session) -> Iterator[None]:
    with unguarded(session, "ledger_entries"):
        yield


@contextmanager
def unguarded(session: Session, table: str) -> Iterator[None]:
    """`table` with its triggers lifted for the duration (the owner's power)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        yield
        session.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
        return
    triggers = session.execute(
        text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
        {"t": table},
    ).all()
    for name, _ in triggers:
        session.execute(text(f'DROP TRIGGER "{name}"'))
    yield
    for _, sql in triggers:
        session.execute(text(sql))


def line_no(session: Session, partner_id: str, period: str, component_id: str) -> int:
    return session.scalars(
        select(LedgerEntry.line_no).where(
            LedgerEntry.partner_id == partner_id,
            LedgerEntry.period == period,
            LedgerEntry.component_id == component_id,
        )
    ).one()


def change_line(session: Session, partner_id: str, period: str, number: int, **values: Any) -> None:
    with ledger_unguarded(session):
        session.execute(
            update(LEDGER)
            .where(
                LEDGER.c.partner_id == partner_id,
                LEDGER.c.period == period,
                LEDGER.c.line_no == number,
            )
            .values(**values)
        )


def slip_in_line(session: Session, partner_id: str, period: str, **values: Any) -> int:
    """A copy of the partner's last earning of the period, numbered after its last line
    and changed by `values`; returns its number."""
    of_period = (LEDGER.c.partner_id == partner_id, LEDGER.c.period == period)
    last = (
        session.execute(
            select(LEDGER)
            .where(*of_period, LEDGER.c.entry_kind == "earning")
            .order_by(LEDGER.c.line_no.desc())
            .limit(1)
        )
        .mappings()
        .one()
    )
    number = session.scalars(select(LEDGER.c.line_no).where(*of_period)).all()
    row = {k: v for k, v in last.items() if k != "id"}
    row.update(line_no=max(number) + 1, **values)
    with ledger_unguarded(session):
        session.execute(insert(LEDGER).values(**row))
    return int(row["line_no"])
