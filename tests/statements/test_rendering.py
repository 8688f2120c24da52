"""Statement files: one pair per partner, never overwritten, only for a closed month."""

from __future__ import annotations

from pathlib import Path

import pypdf
import pytest
from sqlalchemy.orm import Session

from payouts.batch import service as batch
from payouts.batch.errors import BatchNotFound
from statements import issue, rendering
from tests.api.cli import payouts
from tests.payouts.program import Program

LOOKALIKES = ("Z+1", "Z_1", "Z#1")  # the same once unsafe characters become '_'


@pytest.fixture
def program(session: Session) -> Program:
    return Program(session)


def referral_partners(program: Program, *partner_ids: str) -> None:
    plan = program.plan("referral")
    for customer, partner_id in enumerate(partner_ids, start=1):
        program.partner(partner_id, plan, kind="referral")
        program.deal(partner_id, "referral", day="2026-01-02", customer=f"C-{customer}")
        program.invoice(None, f"{customer}00.00", "2026-01-15", customer=f"C-{customer}")


def close(program: Program, period: str) -> None:
    batch.run(program.session, period, actor="alice")
    batch.approve(program.session, period, actor="bob")
    batch.close(program.session, period, actor="bob")
    issue.issue_period(program.session, period, actor="bob")


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(path).pages)


def test_partners_whose_ids_look_alike_once_made_safe_each_get_their_own_files(
    program: Program, tmp_path: Path
) -> None:
    referral_partners(program, *LOOKALIKES)
    close(program, "2026-01")
    rendered = rendering.render_period(program.session, "2026-01", tmp_path, workers=1)
    assert sorted(r.partner_id for r in rendered) == sorted(LOOKALIKES)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 2 * len(LOOKALIKES), files
    for r in rendered:
        assert f"Partner {r.partner_id}" in pdf_text(r.pdf)
    assert len({r.csv.read_bytes() for r in rendered}) == len(LOOKALIKES)  # each its own
    # A partner id that is safe as it stands keeps its plain name.
    assert "statement-Z_1-2026-01.pdf" in files


def test_rendering_where_a_statement_file_exists_refuses_names_it_and_overwrites_nothing(
    program: Program, tmp_path: Path
) -> None:
    referral_partners(program, "P-1", "P-2")
    close(program, "2026-01")
    first = rendering.render_period(program.session, "2026-01", tmp_path, workers=1)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(rendering.StatementFileExists) as refused:
        rendering.render_period(program.session, "2026-01", tmp_path, workers=1)
    assert str(first[0].pdf) in refused.value.message
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_rendering_a_month_that_is_not_closed_is_refused(program: Program, tmp_path: Path) -> None:
    referral_partners(program, "P-1")
    batch.run(program.session, "2026-01", actor="alice")
    with pytest.raises(rendering.PeriodNotClosed, match="2026-01 is not closed"):
        rendering.render_period(program.session, "2026-01", tmp_path / "out", workers=1)
    with pytest.raises(BatchNotFound):
        rendering.render_period(program.session, "2026-02", tmp_path / "out", workers=1)
    assert not (tmp_path / "out").exists()


def test_the_command_refuses_a_month_without_a_closed_batch(
    migrated_url: str, tmp_path: Path
) -> None:
    run = payouts("statements", "render", "2026-05", "--out", tmp_path, database_url=migrated_url)
    assert run.code == 1
    assert "statement(s)" not in run.out
    assert run.err.startswith("error: no batch for 2026-05")
