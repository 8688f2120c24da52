"""What an approval covers is frozen with it: the draft and the payee details it pays.

And who approved is a record nobody rewrites: the database refuses an approval by the
person who calculated the batch, a batch marked approved or closed without an
approval, any change to a closed batch, and a second outcome of a payout.
"""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from payouts import audit
from payouts.batch import exports, payments, review
from payouts.batch import service as batch
from payouts.batch.errors import AlreadyApproved, DraftChanged, MakerCheckerViolation
from payouts.batch.models import BatchApproval, PayoutInstruction
from payouts.facts.ingest import ingest
from tests.payouts.program import Program

OLD_IBAN = "DE89370400440532013000"
NEW_IBAN = "FR1420041010050500013M02606"


@pytest.fixture
def program(session: Session) -> Program:
    program = Program(session)
    plan = program.plan("referral", minimum_payout="0")
    program.partner(
        "P-1",
        plan,
        kind="referral",
        currency="USD",
        iban=OLD_IBAN,
        account_holder="Acme GmbH",
    )
    program.deal("P-1", "referral", day="2026-01-02", customer="C-2")
    program.invoice(None, "100.00", "2026-01-15", customer="C-2")
    return program


def amend_payee(session: Session, iban: str, holder: str) -> None:
    ingest(
        session,
        "partners",
        [
            {
                "id": "P-1",
                "name": "Partner P-1",
                "type": "referral",
                "payout_currency": "USD",
                "iban": iban,
                "account_holder": holder,
            }
        ],
        actor="key:k9:mallory",
        amend=True,
    )


def exported(session: Session, period: str) -> list[dict[str, str]]:
    file = exports.export(session, period, "csv", actor="key:k2:bob")
    return list(csv.DictReader(io.StringIO(file.content.decode())))


def test_a_closed_month_pays_the_approved_account_after_the_partner_is_amended(
    program: Program,
) -> None:
    session = program.session
    program.close_month("2026-01")
    amend_payee(session, NEW_IBAN, "Someone Else SARL")

    rows = exported(session, "2026-01")
    assert [(r["partner_id"], r["iban"], r["account_holder"]) for r in rows] == [
        ("P-1", OLD_IBAN, "Acme GmbH")
    ]
    change = audit.history(session, "partners", "P-1")[-1]
    assert change.action == "partners.amend"
    assert change.actor == "key:k9:mallory"
    assert change.after is not None
    assert change.after["payout_details"]["iban"] == NEW_IBAN


def test_an_amendment_after_the_run_reaches_the_next_run_not_the_approved_draft(
    program: Program,
) -> None:
    session = program.session
    batch.run(session, "2026-01", actor="key:k1:alice")
    amend_payee(session, NEW_IBAN, "Acme SARL")
    batch.approve(session, "2026-01", actor="key:k2:bob")
    batch.close(session, "2026-01", actor="key:k2:bob")
    assert [r["iban"] for r in exported(session, "2026-01")] == [OLD_IBAN]

    program.invoice(None, "50.00", "2026-02-10", customer="C-2")
    program.close_month("2026-02")
    assert [r["iban"] for r in exported(session, "2026-02")] == [NEW_IBAN]


def test_changed_payee_details_in_the_draft_are_refused_at_close(program: Program) -> None:
    session = program.session
    batch.run(session, "2026-01", actor="key:k1:alice")
    batch.approve(session, "2026-01", actor="key:k2:bob")
    # What the service's role may do to an open month's payees (it may not UPDATE them).
    session.execute(text("DELETE FROM draft_payees WHERE partner_id = 'P-1'"))
    session.execute(
        text(
            "INSERT INTO draft_payees (period, partner_id, name, account_holder, iban) "
            "VALUES ('2026-01', 'P-1', 'Partner P-1', 'Acme GmbH', :iban)"
        ),
        {"iban": NEW_IBAN},
    )
    with pytest.raises(DraftChanged, match="payee details"):
        batch.close(session, "2026-01", actor="key:k2:bob")


def test_one_person_holding_two_keys_cannot_approve_what_they_ran(program: Program) -> None:
    session = program.session
    batch.run(session, "2026-01", actor="key:k1:Alice")
    with pytest.raises(MakerCheckerViolation):
        batch.approve(session, "2026-01", actor="key:k7:alice")
    approved = batch.approve(session, "2026-01", actor="key:k2:bob")
    assert approved.approved_by == "key:k2:bob"
    with pytest.raises(AlreadyApproved, match="already approved by key:k2:bob"):
        batch.approve(session, "2026-01", actor="key:k3:carol")


def test_a_rerun_leaves_the_approval_behind_and_needs_a_new_one(program: Program) -> None:
    session = program.session
    batch.run(session, "2026-01", actor="key:k1:alice")
    batch.approve(session, "2026-01", actor="key:k2:bob")
    rerun = batch.run(session, "2026-01", actor="key:k1:alice")
    assert rerun.voided_approval
    current = batch.get(session, "2026-01")
    assert (current.status, current.run_no, current.approval) == ("draft", 2, None)
    assert len(session.scalars(select(BatchApproval)).all()) == 1  # kept, as history


def refused(session: Session, statement: str, **params: object) -> str:
    savepoint = session.begin_nested()
    try:
        session.execute(text(statement), params)
    except DBAPIError as exc:
        return str(exc.orig)
    finally:
        savepoint.rollback()
    return ""


@pytest.mark.as_owner
def test_the_database_refuses_to_rewrite_or_skip_an_approval(program: Program) -> None:
    session = program.session
    batch.run(session, "2026-01", actor="key:k1:alice")
    draft_hash = batch.get(session, "2026-01").draft_hash
    assert "batch approval refused" in refused(
        session,
        "INSERT INTO batch_approvals (period, run_no, draft_hash, approved_by, approved_at) "
        "VALUES ('2026-01', 1, :hash, 'key:k5:ALICE', CURRENT_TIMESTAMP)",
        hash=draft_hash,
    )
    assert "approval" in refused(session, "UPDATE batches SET status = 'approved'")
    batch.approve(session, "2026-01", actor="key:k2:bob")
    assert "append-only" in refused(session, "UPDATE batch_approvals SET approved_by = 'x'")
    assert "append-only" in refused(session, "DELETE FROM batch_approvals")
    batch.close(session, "2026-01", actor="key:k2:bob")
    assert "batches" in refused(session, "UPDATE batches SET closed_by = 'mallory'")
    assert "batches" in refused(session, "DELETE FROM batches")


@pytest.mark.as_owner
def test_a_payout_has_one_outcome_and_its_instruction_never_changes(program: Program) -> None:
    session = program.session
    program.close_month("2026-01")
    instruction = session.scalars(select(PayoutInstruction)).one()
    reference = instruction.end_to_end_id
    paid = payments.mark_paid(
        session, "2026-01", [{"end_to_end_id": reference, "status": "paid"}], actor="key:k2:bob"
    )
    assert paid.paid == [reference]
    session.expire_all()
    with pytest.raises(Exception, match="already recorded as paid"):
        payments.mark_paid(
            session,
            "2026-01",
            [{"end_to_end_id": reference, "status": "failed", "reason": "x"}],
            actor="key:k2:bob",
        )
    assert "payout_results" in refused(
        session,
        "INSERT INTO payout_results (instruction_id, status, reason, recorded_by, recorded_at) "
        "VALUES (:id, 'failed', 'bounced', 'mallory', CURRENT_TIMESTAMP)",
        id=instruction.id,
    )
    assert "append-only" in refused(session, "UPDATE payout_results SET status = 'failed'")
    for statement in (
        "UPDATE payout_instructions SET iban = 'GB00MALLORY'",
        "DELETE FROM payout_instructions",
    ):
        assert "append-only" in refused(session, statement)


def test_the_review_shows_who_is_paid_to_other_bank_details_than_last_time(
    program: Program,
) -> None:
    session = program.session
    program.close_month("2026-01")
    amend_payee(session, NEW_IBAN, "Acme SARL")
    program.invoice(None, "50.00", "2026-02-10", customer="C-2")
    batch.run(session, "2026-02", actor="key:k1:alice")
    changes = review.review(session, "2026-02").payee_changes
    assert [(c.partner_id, c.last_paid_period, c.changed) for c in changes] == [
        ("P-1", "2026-01", ("account_holder", "iban"))
    ]
