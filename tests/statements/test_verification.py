"""Verifying an issued statement says what differs, not only that a hash does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from payouts import issued
from payouts.db import make_engine, unit_of_work
from statements import issue
from statements.builder import build
from statements.canonical import content_hash
from tests.api.cli import payouts
from tests.api.support import running_api
from tests.conftest import owner_url_for
from tests.payouts.program import Program
from tests.statements.months import PARTNER, PERIOD, closed_referral_month, referral_month
from tests.statements.tampering import change_line, line_no, slip_in_line


@pytest.fixture
def program(session: Session) -> Program:
    return closed_referral_month(session)


def test_an_untouched_statement_matches_with_nothing_to_report(program: Program) -> None:
    result = issue.verify(program.session, PARTNER, PERIOD)
    assert result.match
    assert result.differences == ()


@pytest.mark.as_owner
def test_a_changed_line_is_named_with_its_field_and_both_values(program: Program) -> None:
    session = program.session
    number = line_no(session, PARTNER, PERIOD, "revenue-share")
    original = build(session, PARTNER, PERIOD).lines
    before = next(line for line in original if line.line_id == f"{PERIOD}-{number}")
    change_line(session, PARTNER, PERIOD, number, explanation="forged", source_fact="INV-X")
    result = issue.verify(session, PARTNER, PERIOD)
    assert not result.match
    assert result.problem is None
    assert result.computed_hash != result.stored_hash
    assert result.differences == (
        f"line {PERIOD}-{number} explanation: issued {before.explanation!r}, "
        "the ledger now gives 'forged'",
        f"line {PERIOD}-{number} source_fact: issued {before.source_fact!r}, "
        "the ledger now gives 'INV-X'",
    )


@pytest.mark.as_owner
def test_a_line_slipped_into_the_ledger_is_named(program: Program) -> None:
    number = slip_in_line(
        program.session, PARTNER, PERIOD, amount_minor=0, base_minor=0, source_fact="INV-FORGED"
    )
    result = issue.verify(program.session, PARTNER, PERIOD)
    assert not result.match
    assert result.differences[0] == (
        f"line {PERIOD}-{number} (signing-bounty, INV-FORGED, 0.00): in the ledger now, "
        "not in the statement issued"
    )


@pytest.mark.as_owner
def test_a_statement_the_ledger_can_no_longer_build_gives_the_reason(program: Program) -> None:
    number = line_no(program.session, PARTNER, PERIOD, "revenue-share")
    change_line(program.session, PARTNER, PERIOD, number, amount_minor=1)
    result = issue.verify(program.session, PARTNER, PERIOD)
    assert not result.match
    assert result.problem == (
        f"statement of {PARTNER} for {PERIOD} does not agree with the ledger: "
        "payable 250.01 vs paid 260.00"
    )


@pytest.mark.as_owner
def test_a_statement_issued_before_its_content_was_kept_can_only_compare_hashes(
    session: Session,
) -> None:
    program = referral_month(session)
    program.close_month(PERIOD)  # closed, but issued as schema revision 0012 did: a hash only
    digest = content_hash(build(session, PARTNER, PERIOD))
    issued.record(session, PARTNER, PERIOD, digest, None, "bob")
    number = line_no(session, PARTNER, PERIOD, "revenue-share")
    change_line(session, PARTNER, PERIOD, number, explanation="forged")
    result = issue.verify(session, PARTNER, PERIOD)
    assert not result.match
    assert result.differences == (
        "what differs cannot be told: the statement's content was not kept when it was "
        "issued (before schema revision 0013), only its hash",
    )


@pytest.fixture
def committed(migrated_url: str) -> Iterator[Engine]:
    """The closed month committed to its own database, for the command line and HTTP."""
    engine = make_engine(migrated_url)
    with unit_of_work(engine) as session:
        closed_referral_month(session)
    try:
        yield engine
    finally:
        engine.dispose()


def test_the_command_prints_what_differs_and_the_reason_a_statement_cannot_be_rebuilt(
    migrated_url: str, committed: Engine
) -> None:
    matched = payouts("statements", "verify", PARTNER, PERIOD, database_url=migrated_url)
    assert (matched.code, matched.out.split()[:3]) == (0, ["match:", PARTNER, PERIOD])

    owner = make_engine(owner_url_for(migrated_url))  # tampering needs the owner's credentials
    with unit_of_work(owner) as session:
        number = line_no(session, PARTNER, PERIOD, "revenue-share")
        change_line(session, PARTNER, PERIOD, number, explanation="forged")
    changed = payouts("statements", "verify", PARTNER, PERIOD, database_url=migrated_url)
    assert changed.code == 1
    assert f"line {PERIOD}-{number} explanation: issued " in changed.out
    assert "the ledger now gives 'forged'" in changed.out
    assert changed.err.strip().splitlines() == [
        f"error: MISMATCH for {PARTNER} {PERIOD}: the ledger no longer gives the statement "
        "issued (1 difference)"
    ]

    with unit_of_work(owner) as session:
        change_line(session, PARTNER, PERIOD, number, amount_minor=1)
    owner.dispose()
    broken = payouts("statements", "verify", PARTNER, PERIOD, database_url=migrated_url)
    assert broken.code == 1
    assert broken.err.strip() == (
        f"error: MISMATCH for {PARTNER} {PERIOD}: the statement cannot be rebuilt from the "
        f"ledger: statement of {PARTNER} for {PERIOD} does not agree with the ledger: "
        "payable 250.01 vs paid 260.00"
    )


def test_the_api_answers_what_differs(tmp_path: Path) -> None:
    with running_api(tmp_path) as api:
        api.key("finance", "finance")
        with api.as_owner() as session:  # tampering needs the owner's credentials
            closed_referral_month(session)
            number = line_no(session, PARTNER, PERIOD, "revenue-share")
            change_line(session, PARTNER, PERIOD, number, explanation="forged")
        body = api.ok("finance", "GET", f"/partners/{PARTNER}/statements/{PERIOD}/verify")
    assert body["match"] is False
    assert body["problem"] is None
    assert len(body["differences"]) == 1
    assert body["differences"][0].startswith(f"line {PERIOD}-{number} explanation: issued ")
