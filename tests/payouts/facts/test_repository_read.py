"""`repository.read`: the rows a batch reads in bulk, the same through the driver as
through SQLAlchemy Core, on both backends."""

from __future__ import annotations

from datetime import UTC, date

import pytest
from sqlalchemy import BigInteger, Select, func, literal, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from payouts.facts import models as m
from payouts.facts import repository
from tests.conftest import ON_POSTGRES
from tests.payouts.program import Program


def _program(session: Session) -> Program:
    program = Program(session)
    plan = program.plan("mssp", effective_from="2025-12-01")
    for partner in ("P-1", "P-2"):
        program.partner(partner, plan, kind="mssp", since="2025-12-01")
    for number, (partner, day) in enumerate(
        [("P-1", "2026-01-05"), ("P-2", "2026-01-20"), ("P-1", "2026-02-02")]
    ):
        deal = program.deal(partner, "sourced", day=day, customer=f"C-{number + 1}")
        program.invoice(deal, f"{100 + number}.25", day, customer=f"C-{number + 1}")
    return program


def _core(session: Session, query: Select[*tuple[object, ...]]) -> list[tuple[object, ...]]:
    return [tuple(row) for row in session.connection().execute(query).all()]


QUERIES = {
    "plain columns, an IN list and a date": lambda: select(
        m.Invoice.id, m.Invoice.issue_date, m.Invoice.amount_minor, m.Invoice.currency
    ).where(
        m.Invoice.customer_id.in_(["C-1", "C-3", "C-9"]), m.Invoice.issue_date >= date(2026, 1, 1)
    ),
    "an aggregate cast, a subquery and a NULL": lambda: (
        select(
            m.DealRole.partner_id,
            func.count().cast(BigInteger),
            func.max(m.Deal.close_date),
            literal(None).label("absent"),
        )
        .join(m.Deal, m.Deal.id == m.DealRole.deal_id)
        .where(m.DealRole.deal_id.in_(select(m.Invoice.deal_id)))
        .group_by(m.DealRole.partner_id)
    ),
    # A UTCDateTime column needs SQLAlchemy's conversion: read through Core.
    "a timestamp column": lambda: select(m.Invoice.id, m.Invoice.ingested_at),
}


@pytest.mark.parametrize("name", QUERIES)
def test_read_gives_the_rows_core_gives(session: Session, name: str) -> None:
    _program(session)
    query = QUERIES[name]()
    rows = repository.read(session, query)
    assert rows, "the program has rows for every query"
    assert sorted(map(tuple, rows), key=repr) == sorted(_core(session, query), key=repr)


def test_timestamps_come_back_in_utc_as_the_model_converts_them(session: Session) -> None:
    _program(session)
    stamps = [stamp for _, stamp in repository.read(session, QUERIES["a timestamp column"]())]
    assert stamps
    assert all(stamp.tzinfo is UTC for stamp in stamps)


@pytest.mark.skipif(not ON_POSTGRES, reason="the driver's own rows are read on PostgreSQL")
def test_on_postgresql_plain_rows_come_straight_from_the_driver(session: Session) -> None:
    _program(session)
    rows = repository.read(session, QUERIES["plain columns, an IN list and a date"]())
    assert rows
    assert all(type(row) is tuple for row in rows)


def test_a_failing_read_raises_as_sqlalchemy_does(session: Session) -> None:
    _program(session)
    with pytest.raises(DBAPIError):
        repository.read(session, select(m.Invoice.id).where(func.no_such_function(1) == 1))
