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


def _program_of(
    session: Session, partner_ids: tuple[str, ...], *, second_invoice: bool = False
) -> Program:
    """A referral partner each, on a deal of their own invoiced in January 2026 (twice
    with `second_invoice`)."""
    program = Program(session)
    plan = program.plan("referral", minimum_payout="0")
    for number, partner_id in enumerate(partner_ids, start=1):
        program.partner(partner_id, plan, kind="referral")
        program.deal(partner_id, "referral", day="2026-01-02", customer=f"C-{number}")
        program.invoice(None, f"{number}00.00", "2026-01-15", customer=f"C-{number}")
        if second_invoice:
            program.invoice(None, f"{number}0.00", "2026-01-20", customer=f"C-{number}")
    return program


@pytest.fixture
def program(session: Session) -> Program:
    return _program_of(session, TRICKY, second_invoice=True)


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


@pytest.mark.skipif(not ON_POSTGRES, reason="the server writes COPY text on PostgreSQL only")
def test_the_servers_copy_text_of_the_draft_hashes_as_the_lines_encoded_here(
    session: Session,
) -> None:
    program = _program_of(session, ("P-1", "P-2", "P-3"))
    result = batch.run(program.session, "2026-01", actor="alice")
    copied = draft.copied_lines_digest(program.session, "2026-01")
    encoded, manual = draft._encoded_lines_digest(program.session, "2026-01")
    assert copied is not None
    assert copied.hexdigest() == encoded.hexdigest()
    assert manual == []
    assert draft.stored_digest(program.session, "2026-01") == result.draft_hash


# COPY writes backspace, vertical tab and form feed as \b, \v and \f, where the draft's
# encoder (and so the approved hash) keeps them as they are; and the encoder writes a
# backslash, tab or carriage return as is outside free text, where COPY escapes them.
ESCAPED_OTHERWISE = ("a\bb", "a\vb", "a\fb", "a\\b", "a\tb", "a\rb")


@pytest.mark.skipif(not ON_POSTGRES, reason="the server writes COPY text on PostgreSQL only")
@pytest.mark.as_owner
@pytest.mark.parametrize("text", ESCAPED_OTHERWISE)
def test_text_the_server_would_escape_otherwise_is_hashed_as_encoded_here(
    session: Session, text: str
) -> None:
    program = _program_of(session, ("P-1", "P-2"))
    batch.run(program.session, "2026-01", actor="alice")
    line = program.session.scalars(select(DraftLine).limit(1)).one()
    line.explanation += f" ({text})"
    program.session.flush()
    assert draft.copied_lines_digest(program.session, "2026-01") is None
    assert draft.stored_digest(program.session, "2026-01") == draft.stored_digest(
        program.session, "2026-01", server_text=False
    )
