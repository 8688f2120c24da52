"""Concurrency with real commits: one effect, clean refusals.

Ingestion races run on both backends; the batch races need PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from payouts.batch import service as batch
from payouts.batch.errors import BatchBusy, PeriodClosed
from payouts.db import make_engine, unit_of_work
from payouts.facts import models as m
from payouts.facts.ingest import ingest
from tests.payouts.program import Program


def at_once(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run `work(i)` in `count` threads released together; results or exceptions."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:  # collected for the assertions
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.fixture
def engine_with_month(migrated_url: str) -> Any:
    engine = make_engine(migrated_url)
    with unit_of_work(engine) as session:
        program = Program(session)
        plan = program.plan("referral", minimum_payout="0")
        program.partner("P-1", plan, kind="referral")
        program.deal("P-1", "referral", day="2026-01-02", customer="C-2")
        for day in range(1, 29):
            program.invoice(None, "100.00", f"2026-01-{day:02d}", customer="C-2")
    yield engine
    engine.dispose()


def test_fifty_concurrent_ingestions_of_one_fact_make_one_row(engine_with_month: Any) -> None:
    record = {
        "id": "INV-RACE",
        "customer_id": "C-2",
        "issue_date": "2026-01-30",
        "amount": "42.00",
        "currency": "USD",
    }

    def post(_: int) -> list[str]:
        with unit_of_work(engine_with_month) as session:
            return ingest(session, "invoices", [record], actor="billing").inserted

    results = at_once(50, post)
    assert not [r for r in results if isinstance(r, Exception)]
    assert sum(len(r) for r in results) == 1
    with unit_of_work(engine_with_month) as session:
        count = session.scalar(select(func.count()).where(m.Invoice.id == "INV-RACE"))
    assert count == 1


@pytest.mark.postgres_only
def test_a_second_concurrent_batch_run_is_refused_cleanly(engine_with_month: Any) -> None:
    def run(i: int) -> str:
        with unit_of_work(engine_with_month) as session:
            return batch.run(session, "2026-01", actor=f"calc-{i}").draft_hash

    results = at_once(2, run)
    hashes = [r for r in results if isinstance(r, str)]
    refused = [r for r in results if isinstance(r, BatchBusy)]
    assert len(hashes) + len(refused) == 2
    assert hashes  # at least one ran
    assert all("another batch operation on 2026-01" in str(r) for r in refused)


@pytest.mark.postgres_only
def test_two_concurrent_closes_give_exactly_one_close(engine_with_month: Any) -> None:
    with unit_of_work(engine_with_month) as session:
        batch.run(session, "2026-01", actor="alice")
        batch.approve(session, "2026-01", actor="bob")

    def close(_: int) -> int:
        with unit_of_work(engine_with_month) as session:
            return batch.close(session, "2026-01", actor="bob").posted

    results = at_once(2, close)
    closed = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, BatchBusy | PeriodClosed)]
    assert len(closed) == 1
    assert len(refused) == 1
    with unit_of_work(engine_with_month) as session:
        from payouts.ledger import LedgerEntry

        lines = session.scalar(select(func.count()).select_from(LedgerEntry))
    assert lines == closed[0] + 1  # the posted lines and one payout


@pytest.mark.postgres_only
def test_ingestion_during_a_batch_run_is_either_in_the_draft_or_voids_it(
    engine_with_month: Any,
) -> None:
    """The run locks the month: a fact lands before it (and is calculated) or after it
    (and the draft is stale: approval is refused). Never half in, never lost."""
    from payouts.batch.errors import DraftChanged
    from payouts.batch.models import Batch, DraftLine
    from payouts.periods import Period

    def work(i: int) -> object:
        if i == 0:
            with unit_of_work(engine_with_month) as session:
                return batch.run(session, "2026-01", actor="alice").lines
        for n in range(15):
            with unit_of_work(engine_with_month) as session:
                ingest(
                    session,
                    "invoices",
                    [
                        {
                            "id": f"INV-LIVE-{n}",
                            "customer_id": "C-2",
                            "issue_date": "2026-01-29",
                            "amount": "10.00",
                            "currency": "USD",
                        }
                    ],
                    actor="billing",
                )
        return "ingested"

    results = at_once(2, work)
    assert not [r for r in results if isinstance(r, Exception)]
    with unit_of_work(engine_with_month) as session:
        draft = session.get(Batch, "2026-01")
        period = session.get(Period, "2026-01")
        assert draft is not None
        assert period is not None
        in_draft = set(
            session.scalars(
                select(DraftLine.invoice_id).where(DraftLine.invoice_id.like("INV-LIVE-%"))
            )
        )
        stored = set(session.scalars(select(m.Invoice.id).where(m.Invoice.id.like("INV-LIVE-%"))))
        assert len(stored) == 15
        if period.fact_revision == draft.fact_revision:
            assert in_draft == stored
        else:
            assert in_draft < stored
            with pytest.raises(DraftChanged):
                batch.approve(session, "2026-01", actor="bob")
