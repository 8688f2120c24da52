"""The draft's storage: forked workers, COPY text, and the digest a close checks."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from payouts.batch import draft
from payouts.batch import service as batch
from payouts.batch.models import DraftLine, RepCreditLine
from payouts.ledger import LedgerEntry
from tests.conftest import ON_POSTGRES
from tests.payouts.program import Program

# Backslashes are legal in ids; "\N" is COPY's NULL and "\t" its separator once unescaped.
TRICKY = ("P\\N", "P\\t\\\\", "P-plain")


@pytest.fixture
def program(session: Session) -> Program:
    program = Program(session)
    plan = program.plan("referral", minimum_payout="0")
    for number, partner_id in enumerate(TRICKY, start=1):
        program.partner(partner_id, plan, kind="referral")
        program.deal(partner_id, "referral", day="2026-01-02", customer=f"C-{number}")
        program.invoice(None, f"{number}00.00", "2026-01-15", customer=f"C-{number}")
        program.invoice(None, f"{number}0.00", "2026-01-20", customer=f"C-{number}")
    return program


def test_the_encoded_columns_are_exactly_the_tables_columns() -> None:
    # copy_text and rep_copy_text write these columns by position.
    assert set(draft.COLUMNS) == {c.name for c in DraftLine.__table__.c} - {"id"}
    assert len(draft.COLUMNS) == len(set(draft.COLUMNS)) == 23
    assert set(draft.REP_COLUMNS) == {c.name for c in RepCreditLine.__table__.c} - {"id"}
    assert len(draft.REP_COLUMNS) == len(set(draft.REP_COLUMNS)) == 12


def test_copy_text_escapes_what_copy_would_misread() -> None:
    assert draft._escape("P\\N") == "P\\\\N"
    assert draft._escape("a\tb\nc\rd\\") == "a\\tb\\nc\\rd\\\\"
    assert draft._escape(None) == draft._plain(None) == "\\N"
    assert draft._escape("plain") == "plain"


def test_tricky_ids_are_stored_exactly_and_the_close_accepts_the_digest(
    program: Program,
) -> None:
    result = batch.run(program.session, "2026-01", actor="alice", workers=2)
    stored = set(program.session.scalars(select(DraftLine.partner_id).distinct()))
    assert stored == set(TRICKY)
    assert draft.stored_digest(program.session, "2026-01") == result.draft_hash
    batch.approve(program.session, "2026-01", actor="bob")
    closed = batch.close(program.session, "2026-01", actor="bob")
    assert closed.posted == result.lines
    posted = set(program.session.scalars(select(LedgerEntry.partner_id).distinct()))
    assert posted == set(TRICKY)


@pytest.mark.as_owner
def test_a_draft_changed_in_the_database_no_longer_matches_its_digest(program: Program) -> None:
    result = batch.run(program.session, "2026-01", actor="alice")
    line = program.session.scalars(select(DraftLine).limit(1)).one()
    line.explanation += " (edited)"
    program.session.flush()
    assert draft.stored_digest(program.session, "2026-01") != result.draft_hash


@pytest.mark.skipif(not ON_POSTGRES, reason="COPY is PostgreSQL's")
def test_the_run_copies_on_postgresql(program: Program) -> None:
    assert batch._can_copy(program.session)
