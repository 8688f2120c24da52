"""Statements built a slice of partners at a time are those built one partner at a time.

Over months of the demo's program (holds, carry-forward, tiers, payouts, several
currencies), run, approved, closed and issued through the services."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from demo import program as generator
from payouts import issued, tiers
from payouts.batch import service as batch
from statements import rendering
from statements.builder import (
    build,
    partners_of_period,
    payout_state,
    self_billed,
    statements_of_period,
)
from statements.canonical import content_hash, seal
from statements.issue import issue_period

MONTHS = 3


@pytest.fixture
def closed_months(session: Session) -> list[str]:
    """The demo's first months for 40 partners, each closed and its statements issued."""
    program = generator.build(40, MONTHS, seed=42)
    generator.load(session, program.reference, actor="loader")
    generator.load_plans(session, program, actor="loader")
    for index, period in enumerate(program.periods):
        generator.load(session, program.monthly[index], actor="loader")
        tiers.evaluate(session, period, actor="finance")
        batch.run(session, period, actor="calculator")
        batch.approve(session, period, actor="approver")
        batch.close(session, period, actor="approver")
        issue_period(session, period, actor="approver")
    return [str(p) for p in program.periods]


def test_statements_built_a_slice_at_a_time_equal_those_built_one_partner_at_a_time(
    session: Session, closed_months: list[str]
) -> None:
    for period in closed_months:
        partners = partners_of_period(session, period)
        assert len(partners) > 7  # several slices of 7 below
        one_by_one = [build(session, partner_id, period) for partner_id in partners]
        sliced = list(statements_of_period(session, period, size=7))
        assert sliced == one_by_one
        for statement in sliced:
            stored = issued.issued(session, statement.partner_id, period)
            assert stored is not None
            assert content_hash(statement) == stored.content_hash


def _one_by_one(session: Session, period: str, out: Path) -> dict[str, bytes]:
    """The files as rendering drew them before slices: each partner's statement,
    payout and documents built on its own, then drawn."""
    out.mkdir()
    for partner_id in partners_of_period(session, period):
        rendering._write(
            seal(build(session, partner_id, period)),
            out,
            payout_state(session, partner_id, period),
            self_billed(session, partner_id, period),
        )
    return {path.name: path.read_bytes() for path in sorted(out.iterdir())}


def test_rendering_in_slices_writes_the_bytes_of_statements_built_one_by_one(
    session: Session, closed_months: list[str], tmp_path: Path
) -> None:
    period = closed_months[-1]
    expected = _one_by_one(session, period, tmp_path / "one-by-one")
    for workers in (1, 2):
        out = tmp_path / f"workers-{workers}"
        rendered = rendering.render_period(session, period, out, workers=workers)
        assert len(rendered) == len(expected) // 2
        assert {path.name: path.read_bytes() for path in sorted(out.iterdir())} == expected


def test_statements_issued_by_worker_processes_are_those_issued_in_this_one(
    session: Session, closed_months: list[str]
) -> None:
    for period in closed_months:
        by_workers = issue_period(session, period, actor="approver", workers=2, slice_size=7)
        assert len(by_workers) == len(partners_of_period(session, period))
        for partner_id, digest in by_workers.items():
            stored = issued.issued(session, partner_id, period)
            assert stored is not None
            assert digest == stored.content_hash


def test_render_workers_are_renewed_and_draw_the_bytes_of_one_process(
    session: Session, closed_months: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker draws RENEW_AFTER slices at most, then a fresh process takes over: the
    files are still complete and byte for byte those drawn in this process."""
    period = closed_months[-1]
    expected = _one_by_one(session, period, tmp_path / "one-by-one")
    monkeypatch.setattr(rendering, "WORKER_SLICE", 3)
    monkeypatch.setattr(rendering, "RENEW_AFTER", 1)
    slices = -(-len(expected) // 2 // 3)
    assert slices >= 6
    workers: set[int] = set()
    counted: list[int] = []

    def progress(done: int, total: int) -> None:
        counted.append(done)
        workers.update(child.pid for child in multiprocessing.active_children() if child.pid)

    out = tmp_path / "renewed"
    rendered = rendering.render_period(session, period, out, workers=2, progress=progress)
    assert len(rendered) == len(expected) // 2
    assert counted == list(range(1, len(rendered) + 1))
    # Two slices a generation (one a worker): a generation's workers are new processes.
    assert len(workers) >= -(-slices // 2)
    assert {path.name: path.read_bytes() for path in sorted(out.iterdir())} == expected
