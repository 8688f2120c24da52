"""What remains of an invoice: never paid or refunded past its amount.

Checked by the code under a lock (concurrent requests, each its own transaction) and,
as the last line, by the database itself (a hand-typed INSERT is refused).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import IntegrityError

from payouts.db import make_engine, unit_of_work
from payouts.facts import models as m
from payouts.facts.ingest import FactsRefused, ingest
from tests.payouts.test_concurrency import at_once

TRIALS = 5
RACERS = 4


@pytest.fixture
def engine(migrated_url: str) -> Iterator[Engine]:
    engine = make_engine(migrated_url)
    with unit_of_work(engine) as session:
        ingest(session, "customers", [{"id": "C-1", "name": "Customer One"}], actor="crm")
        ingest(
            session,
            "invoices",
            [
                {
                    "id": f"INV-{trial}",
                    "customer_id": "C-1",
                    "issue_date": "2026-01-15",
                    "amount": "100.00",
                    "currency": "USD",
                }
                for trial in range(TRIALS)
            ],
            actor="billing",
        )
    yield engine
    engine.dispose()


def money_fact(kind: str, ident: str, invoice_id: str, amount: str = "100.00") -> dict[str, Any]:
    day = "refund_date" if kind == "refunds" else "paid_date"
    return {
        "id": ident,
        "invoice_id": invoice_id,
        day: "2026-01-20",
        "amount": amount,
        "currency": "USD",
    }


def total_minor(engine: Engine, model: Any, invoice_id: str) -> int:
    with unit_of_work(engine, read_only=True) as session:
        total = session.scalar(
            select(func.coalesce(func.sum(model.amount_minor), 0)).where(
                model.invoice_id == invoice_id
            )
        )
    return int(total or 0)


@pytest.mark.parametrize(("kind", "model"), [("refunds", m.Refund), ("payments", m.Payment)])
def test_concurrent_full_amounts_on_one_invoice_are_accepted_once(
    engine: Engine, kind: str, model: Any
) -> None:
    """Four concurrent 100.00 facts with different ids on a 100.00 invoice: one is
    stored, three are refused with the reason, in every trial."""
    for trial in range(TRIALS):
        invoice_id = f"INV-{trial}"

        def post(i: int, invoice_id: str = invoice_id, trial: int = trial) -> list[str]:
            with unit_of_work(engine) as session:
                record = money_fact(kind, f"{kind}-{trial}-{i}", invoice_id)
                return ingest(session, kind, [record], actor="billing").inserted

        results = at_once(RACERS, post)
        stored = [r for r in results if isinstance(r, list)]
        refused = [r for r in results if isinstance(r, FactsRefused)]
        unexpected = [r for r in results if not isinstance(r, list | FactsRefused)]
        assert not unexpected, unexpected
        assert len(stored) == 1, f"trial {trial}: {results}"
        assert len(refused) == RACERS - 1
        assert all("more than what remains" in str(r) for r in refused)
        assert total_minor(engine, model, invoice_id) == 10_000


@pytest.mark.parametrize(("kind", "model"), [("refunds", m.Refund), ("payments", m.Payment)])
def test_concurrent_partial_amounts_never_exceed_the_invoice(
    engine: Engine, kind: str, model: Any
) -> None:
    """Four concurrent 40.00 facts on a 100.00 invoice: exactly two fit."""

    def post(i: int) -> list[str]:
        with unit_of_work(engine) as session:
            record = money_fact(kind, f"{kind}-part-{i}", "INV-0", "40.00")
            return ingest(session, kind, [record], actor="billing").inserted

    results = at_once(RACERS, post)
    assert len([r for r in results if isinstance(r, list)]) == 2, results
    assert len([r for r in results if isinstance(r, FactsRefused)]) == 2
    assert total_minor(engine, model, "INV-0") == 8_000


def raw_insert(engine: Engine, table: str, rows: list[tuple[str, int]]) -> None:
    """INSERT straight into the table, as a script or a hand-typed statement would."""
    day, kind, kind_value = (
        ("refund_date", ", kind", ", 'refund'") if table == "refunds" else ("paid_date", "", "")
    )
    values = ", ".join(
        f"('{ident}', 'INV-1', '2026-01-20', {amount}, 'USD', 'x', '2026-01', "
        f"CURRENT_TIMESTAMP{kind_value})"
        for ident, amount in rows
    )
    with engine.begin() as conn:
        conn.execute(
            text(
                f"INSERT INTO {table} (id, invoice_id, {day}, amount_minor, currency, "
                f"fingerprint, accounting_period, ingested_at{kind}) VALUES {values}"
            )
        )


@pytest.mark.parametrize(("table", "model"), [("refunds", m.Refund), ("payments", m.Payment)])
def test_the_database_refuses_an_insert_past_what_remains_of_the_invoice(
    engine: Engine, table: str, model: Any
) -> None:
    raw_insert(engine, table, [(f"{table}-a", 6_000)])
    with pytest.raises(IntegrityError, match="past its amount"):
        raw_insert(engine, table, [(f"{table}-b", 4_001)])
    # Rows of one statement count together.
    with pytest.raises(IntegrityError, match="past its amount"):
        raw_insert(engine, table, [(f"{table}-c", 3_000), (f"{table}-d", 1_001)])
    raw_insert(engine, table, [(f"{table}-e", 3_000), (f"{table}-f", 1_000)])
    assert total_minor(engine, model, "INV-1") == 10_000
