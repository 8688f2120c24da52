"""A run split over processes by partner range gives the draft one process gives.

The demo program is used because it has what a split must not lose: deals shared by
partners of different ranges, referral customers, refunds and cancellations clawing
back earlier months, late facts, two currencies and FX.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Engine, delete, select, text
from sqlalchemy.orm import Session

from demo import program as demo
from payouts import snapshots, tiers
from payouts.batch import draft, parallel
from payouts.batch import service as batch
from payouts.batch.gathering import gather
from payouts.batch.models import DraftLine
from payouts.batch.repository import PartnerRange, PartnerRanges
from payouts.db import make_engine, unit_of_work
from payouts.facts.ingest import FactsRefused, ingest
from payouts.facts.models import Deal, DealRole, FxRate
from payouts.periods import Period
from payouts.reference.models import Partner
from plans.errors import MissingFxRate
from tests.conftest import ON_POSTGRES, owner_url_for
from tests.payouts.program import Program

PARTNERS, MONTHS = 60, 4


def _program(session: Session) -> str:
    """The demo program with every month but the last closed; returns the last month."""
    program = demo.generate(session, PARTNERS, MONTHS, seed=5, start="2026-01")
    for period in program.periods[:-1]:
        _close(session, period)
    last = program.periods[-1]
    tiers.evaluate(session, last, actor="finance")
    return last


def _close(session: Session, period: str) -> None:
    tiers.evaluate(session, period, actor="finance")
    batch.run(session, period, actor="alice")
    batch.approve(session, period, actor="bob")
    batch.close(session, period, actor="bob")


def test_partner_ranges_gathered_apart_give_the_lines_of_the_whole(session: Session) -> None:
    period = _program(session)
    revision = session.get(Period, period)
    assert revision is not None
    whole = gather(session, period, revision.fact_revision)
    ranges = PartnerRange.split(list(session.scalars(select(Partner.id))), 4)
    assert len(ranges) == 4
    parts = [gather(session, period, revision.fact_revision, partners=r) for r in ranges]

    assert [w.partner_id for p in parts for w in p.partners] == [
        w.partner_id for w in whole.partners
    ]
    texts = [draft.calculate_slice(n, period, p.partners, True).text for n, p in enumerate(parts)]
    assert b"".join(texts) == draft.calculate_slice(0, period, whole.partners, True).text
    # The month holds what a split could lose.
    assert any(w.refunds for w in whole.partners)
    assert any(w.cancellations for w in whole.partners)
    assert any(w.customers for w in whole.partners)  # referred customers
    range_of = {w.partner_id: i for i, p in enumerate(parts) for w in p.partners}
    assert any(
        len({range_of[r.partner_id] for r in deal.roles if r.partner_id in range_of}) > 1
        for w in whole.partners
        for deal in w.deals.values()
    )


def test_a_referrer_in_another_range_still_gets_its_customers_invoices(session: Session) -> None:
    # The customer's invoices are on a deal the referrer has no role on, or on none.
    program = Program(session)
    program.partner("A-ref", program.plan("referral", minimum_payout="0"), kind="referral")
    program.partner("Z-res", program.plan("tiered_reseller"))
    program.deal("A-ref", "referral", day="2026-01-02", customer="C-1")
    sold = program.deal("Z-res", "sourced", day="2026-01-10", customer="C-1")
    on_deal = program.invoice(sold, "1000.00", "2026-01-15", customer="C-1")
    no_deal = program.invoice(None, "200.00", "2026-01-20", customer="C-1")

    whole = gather(session, "2026-01", 0)
    parts = [gather(session, "2026-01", 0, partners=PartnerRange(p, p)) for p in ("A-ref", "Z-res")]
    assert [w.partner_id for p in parts for w in p.partners] == ["A-ref", "Z-res"]
    assert {on_deal, no_deal} <= set(parts[0].partners[0].invoices)
    texts = [
        draft.calculate_slice(n, "2026-01", p.partners, True).text for n, p in enumerate(parts)
    ]
    assert b"".join(texts) == draft.calculate_slice(0, "2026-01", whole.partners, True).text
    assert f"invoice:{no_deal}".encode() in texts[0]


def test_slices_are_dealt_to_the_workers_in_turn() -> None:
    slices = PartnerRange.split([f"P-{n:02d}" for n in range(10)], 5)
    assert parallel._shares(slices, 2) == [
        [(0, slices[0]), (2, slices[2]), (4, slices[4])],
        [(1, slices[1]), (3, slices[3])],
    ]
    assert parallel._shares(slices[:1], 2) == [[(0, slices[0])]]  # no empty share


def test_a_share_of_ranges_holds_the_ids_of_its_ranges_only(session: Session) -> None:
    share = PartnerRanges((PartnerRange("B", "C"), PartnerRange("F", "G"), PartnerRange("K", "K")))
    inside = ["B", "Bz", "C", "F", "G", "K"]
    outside = ["A", "Cz", "D", "E", "Gz", "J", "Ka", "Z", "b"]
    assert all(p in share for p in inside)
    assert not any(p in share for p in outside)
    assert 1 not in share
    # The same in SQL, on the database's own comparison of ids.
    session.add_all(
        Partner(id=p, name=p, type="reseller", payout_currency="USD") for p in inside + outside
    )
    session.flush()
    chosen = session.scalars(select(Partner.id).where(share.where(session, Partner.id)))
    assert sorted(chosen) == inside


def test_a_range_compares_ids_as_python_does(session: Session) -> None:
    # "Beta" < "acme" for Python (and for bytes), not for an en-US collation.
    assert PartnerRange.split(["acme", "Beta", "P-9", "P-10"], 2) == [
        PartnerRange("Beta", "P-10"),
        PartnerRange("P-9", "acme"),
    ]
    assert "P-1" in PartnerRange("Beta", "P-10")
    assert "b" not in PartnerRange("Beta", "P-10")
    assert PartnerRange.split([], 4) == []  # a program without partners yet
    assert PartnerRange.split(["P-1"], 4) == [PartnerRange("P-1", "P-1")]


# Real worker processes read committed data through an exported snapshot: PostgreSQL.


@pytest.fixture
def committed(migrated_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Engine, str]]:
    """The demo program committed in a fresh database, and ranges small enough to split."""
    if not ON_POSTGRES:
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
    monkeypatch.setattr(parallel, "MIN_WORKER_PARTNERS", 5)
    monkeypatch.setattr(parallel, "SLICE_PARTNERS", 7)
    engine = make_engine(migrated_url)
    with unit_of_work(engine) as session:
        program = demo.generate(session, PARTNERS, MONTHS, seed=5, start="2026-01")
    for period in program.periods[:-1]:
        with unit_of_work(engine) as session:
            _close(session, period)
    with unit_of_work(engine) as session:
        tiers.evaluate(session, program.periods[-1], actor="finance")
    yield engine, program.periods[-1]
    engine.dispose()


def _in_one_process(engine: Engine, period: str) -> tuple[str, int]:
    with unit_of_work(engine) as session:
        result = batch.run(session, period, actor="alice", workers=1)
    return result.draft_hash, result.lines


@pytest.mark.postgres_only
def test_worker_processes_store_the_draft_one_process_stores(
    committed: tuple[Engine, str],
) -> None:
    engine, period = committed
    expected = _in_one_process(engine, period)

    with unit_of_work(engine) as session:
        assert snapshots.untouched(session)
        revision = session.get(Period, period)
        assert revision is not None
        with parallel.calculation(
            session, period, revision.fact_revision, workers=2, as_copy=True
        ) as calculated:
            slices = sorted(calculated.slices, key=lambda s: s.order)
            reps = [line for chunk in calculated.rep_lines() for line in chunk]
        assert len(slices) == -(-PARTNERS // 7)  # the split really happened
        assert reps
    with unit_of_work(engine) as session:
        one = parallel.calculation(session, period, revision.fact_revision, workers=1, as_copy=True)
        with one as calculated:
            assert b"".join(s.text for s in slices) == b"".join(s.text for s in calculated.slices)

    with unit_of_work(engine) as session:
        result = batch.run(session, period, actor="alice", workers=2)
    assert (result.draft_hash, result.lines) == expected
    with unit_of_work(engine) as session:
        assert draft.stored_digest(session, period) == result.draft_hash
        # Slices from both workers were written in partner order: the table's rows lie
        # in the order of its key (what makes its index cheap to build).
        stored = session.execute(
            select(DraftLine.partner_id, DraftLine.line_no)
            .where(DraftLine.period == period)
            .order_by(text("ctid"))
        ).all()
        assert len({p for p, _ in stored}) > 7  # rows of more than one slice
        assert [tuple(r) for r in stored] == sorted(tuple(r) for r in stored)
        batch.approve(session, period, actor="bob")
        # The close hashes the stored draft again and accepts it.
        assert batch.close(session, period, actor="bob").posted > 0


@pytest.mark.postgres_only
def test_facts_written_earlier_in_the_runs_transaction_are_in_its_draft(
    committed: tuple[Engine, str],
) -> None:
    # Workers read through a snapshot, which cannot see this transaction's own writes:
    # such a run must not be split, and its draft must include the new invoice.
    engine, period = committed
    before = _in_one_process(engine, period)
    results = []
    for workers in (1, 2):
        with Session(engine) as session:
            deal_id, customer_id, currency = session.execute(
                select(Deal.id, Deal.customer_id, Deal.currency)
                .join(DealRole, DealRole.deal_id == Deal.id)
                .where(Deal.accounting_period == period, DealRole.role == "sourced")
                .order_by(Deal.id)
                .limit(1)
            ).one()
            assert snapshots.untouched(session)
            ingest(
                session,
                "invoices",
                [
                    {
                        "id": "INV-UNCOMMITTED",
                        "customer_id": customer_id,
                        "deal_id": deal_id,
                        "issue_date": f"{period}-20",
                        "amount": "1000.00",
                        "currency": currency,
                    }
                ],
                actor="billing",
            )
            assert not snapshots.untouched(session)
            result = batch.run(session, period, actor="alice", workers=workers)
            stored = session.scalars(
                select(DraftLine.invoice_id).where(DraftLine.invoice_id == "INV-UNCOMMITTED")
            ).all()
            session.rollback()
        assert stored  # the new invoice earned something
        results.append((result.draft_hash, result.lines))
    assert results[0] == results[1]
    assert results[0][1] > before[1]


@pytest.mark.postgres_only
def test_an_error_in_a_worker_fails_the_run_and_writes_nothing(
    committed: tuple[Engine, str],
) -> None:
    engine, period = committed
    expected = _in_one_process(engine, period)
    # No FX rate at all (facts are never deleted by the service: the owner does it here).
    owner = make_engine(owner_url_for(engine.url.render_as_string(hide_password=False)))
    with unit_of_work(owner) as session:
        session.execute(delete(FxRate))
    owner.dispose()
    for workers in (1, 2):
        with pytest.raises(MissingFxRate), unit_of_work(engine) as session:
            batch.run(session, period, actor="carol", workers=workers)
    with unit_of_work(engine) as session:
        stored = session.scalar(
            select(text("count(*)")).select_from(DraftLine).where(DraftLine.period == period)
        )
        assert stored == expected[1]
        assert draft.stored_digest(session, period) == expected[0]


def test_errors_keep_their_type_and_details_across_processes() -> None:
    # Both take other arguments than their message, so default unpickling would fail.
    missing = MissingFxRate("EUR", "USD", date(2026, 1, 31))
    back = pickle.loads(pickle.dumps(parallel.Failure.of(missing))).rebuilt()
    assert type(back) is MissingFxRate
    assert (str(back), back.code, back.on) == (str(missing), "missing-fx-rate", missing.on)
    refused = FactsRefused("invoices", [])
    again = pickle.loads(pickle.dumps(parallel.Failure.of(refused))).rebuilt()
    assert type(again) is FactsRefused
    assert (again.message, again.kind, again.status) == (refused.message, "invoices", 422)


def test_an_error_that_cannot_travel_arrives_as_its_message() -> None:
    class Local(Exception):  # a class pickle cannot find by name
        pass

    back = pickle.loads(pickle.dumps(parallel.Failure.of(Local("no rate for EUR")))).rebuilt()
    assert type(back) is RuntimeError
    assert str(back) == "Local: no rate for EUR"
