"""With the service's own database credentials, money cannot move behind its back.

The service connects as a role that owns nothing (`payouts.privileges`). Each
tampering below was possible when the service's role owned its tables; now the
database itself refuses it, whatever the code does. Real commits on a database of
their own, as the service role, after a month was run, approved, closed and paid.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError

from payouts import privileges
from payouts.batch import payments
from payouts.batch import service as batch
from payouts.batch.models import PayoutInstruction
from payouts.db import make_engine, unit_of_work
from tests.conftest import SERVICE_ROLE, migrated_copy, owner_url_for
from tests.payouts.program import Program

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        SERVICE_ROLE is None and os.environ.get("CI") != "true",
        reason="needs a service role: set DATABASE_OWNER_URL to another role (.ci/run does)",
    ),
]


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """January closed and paid (P-1 paid, P-2 failed); February drafted and approved."""
    assert SERVICE_ROLE is not None, "CI runs the tests with a service role (.ci/run)"
    with migrated_copy(tmp_path_factory.mktemp("role")) as url:
        engine = make_engine(url)
        try:
            _pay_january_and_approve_february(engine)
            _web_user(url)
            yield engine
        finally:
            engine.dispose()


def _pay_january_and_approve_february(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        program = Program(session)
        plan = program.plan("referral", minimum_payout="0")
        for partner, customer in (("P-1", "C-2"), ("P-2", "C-3")):
            program.partner(partner, plan, kind="referral")
            program.deal(partner, "referral", day="2026-01-02", customer=customer)
            program.invoice(None, "100.00", "2026-01-15", customer=customer)
        program.close_month("2026-01")
        payments.mark_paid(
            session,
            "2026-01",
            [
                {"end_to_end_id": "PP-2026-01-P-1", "status": "paid"},
                {"end_to_end_id": "PP-2026-01-P-2", "status": "failed", "reason": "closed"},
            ],
            actor="key:k2:bob",
        )
        program.invoice(None, "40.00", "2026-02-10", customer="C-2")
    with unit_of_work(engine) as session:
        batch.run(session, "2026-02", actor="key:k1:alice")
        batch.approve(session, "2026-02", actor="key:k2:bob")


def _web_user(url: str) -> None:
    """A partner user (invited by the owner) who used its link and signed in."""
    from payouts import sign_in, users

    owner = make_engine(owner_url_for(url))
    try:
        with unit_of_work(owner) as session:
            link = users.invite(
                session, email="pat@p1.example", role="partner", partner_id="P-1", actor="owner"
            )
            users.set_password(session, link.secret, "a long passphrase", "a long passphrase")
            sign_in.sign_in(session, "pat@p1.example", "a long passphrase", "192.0.2.1")
    finally:
        owner.dispose()


def refusal(engine: Engine, statement: str) -> str:
    """The database's error for `statement` as the service's role, or "" if it ran."""
    with engine.connect() as connection:
        try:
            connection.execute(text(statement))
        except DBAPIError as exc:
            return str(exc.orig).splitlines()[0]
        finally:
            connection.rollback()
    return ""


TAMPERING = {
    "mark a failed payout paid": (
        "INSERT INTO payout_results (instruction_id, status, recorded_by, recorded_at) "
        "SELECT id, 'paid', 'mallory', now() FROM payout_instructions "
        "WHERE end_to_end_id = 'PP-2026-01-P-2'"
    ),
    "rewrite a payout's outcome": "UPDATE payout_results SET status = 'paid'",
    "turn a paid payout into a failure": (
        "INSERT INTO payout_results (instruction_id, status, reason, recorded_by, recorded_at) "
        "SELECT id, 'failed', 'bounced', 'mallory', now() FROM payout_instructions "
        "WHERE end_to_end_id = 'PP-2026-01-P-1'"
    ),
    "change a payout's reference": "UPDATE payout_instructions SET end_to_end_id = 'PP-X'",
    "rewrite a payout's bank account": "UPDATE payout_instructions SET iban = 'GB00MALLORY'",
    "delete a payout instruction": "DELETE FROM payout_instructions",
    "rewrite approved_by": "UPDATE batch_approvals SET approved_by = 'key:k1:alice'",
    "forget an approval": "DELETE FROM batch_approvals",
    "reopen a closed batch": "UPDATE batches SET status = 'draft' WHERE period = '2026-01'",
    "reopen a closed month": "UPDATE periods SET status = 'open' WHERE period = '2026-01'",
    "drop a closed month's draft partition": "DROP TABLE draft_lines_2026_01",
    "swap a closed month's draft": "SELECT draft_partition_install('2026-01')",
    "start a new draft of a closed month": "SELECT draft_partition_begin('2026-01')",
    "delete a closed month's draft lines": "DELETE FROM draft_lines WHERE period = '2026-01'",
    "edit an invoice of a closed month": "UPDATE invoices SET amount_minor = 1",
    "delete a payment": "DELETE FROM payments",
    "edit a posted ledger line": "UPDATE ledger_entries SET amount_minor = amount_minor * 10",
    "post into a closed month": (
        "INSERT INTO ledger_entries SELECT * FROM ledger_entries WHERE period = '2026-01' LIMIT 1"
    ),
    "disable the ledger triggers": "ALTER TABLE ledger_entries DISABLE TRIGGER USER",
    "disable the invoice triggers": "ALTER TABLE invoices DISABLE TRIGGER ALL",
    "rewrite the audit log": "UPDATE audit_log SET actor = 'mallory'",
    "mint an API key": (
        "INSERT INTO api_keys (id, name, role, secret_hash, created_by, created_at) "
        "VALUES ('k', 'mallory', 'finance', 'x', 'mallory', now())"
    ),
    "invite a web user": (
        "INSERT INTO web_users (email, role, created_by, created_at) "
        "VALUES ('mallory@example.com', 'finance', 'mallory', now())"
    ),
    "make a partner user a finance user": "UPDATE web_users SET role = 'finance'",
    "take over a user by its e-mail": "UPDATE web_users SET email = 'mallory@example.com'",
    "re-enable a disabled user": "UPDATE web_users SET disabled_at = NULL",
    "mint a password link": (
        "INSERT INTO user_tokens (user_id, purpose, secret_hash, created_by, created_at, "
        "expires_at) SELECT id, 'reset', 'x', 'mallory', now(), now() FROM web_users LIMIT 1"
    ),
    "use a password link again": "UPDATE user_tokens SET used_at = NULL",
    "extend a password link": "UPDATE user_tokens SET expires_at = expires_at + interval '1 year'",
    "move a session to another user": "UPDATE web_sessions SET user_id = user_id + 1",
    "extend a session": "UPDATE web_sessions SET expires_at = expires_at + interval '1 year'",
    "forget failed sign-ins": "DELETE FROM sign_in_attempts",
    "rewrite a sign-in's outcome": "UPDATE sign_in_attempts SET outcome = 'success'",
    "rewrite an inquiry's line": "UPDATE inquiries SET line_id = 'other'",
    "delete an inquiry's message": "DELETE FROM inquiry_messages",
    "rewrite finance's answer": "UPDATE inquiry_messages SET body = 'never said'",
    "create a table": "CREATE TABLE mallory (n int)",
    "replace a trigger function": (
        "CREATE OR REPLACE FUNCTION refuse_append_only_change() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$"
    ),
}


@pytest.mark.parametrize("statement", TAMPERING.values(), ids=TAMPERING.keys())
def test_the_database_refuses_the_service_role_to(month: Engine, statement: str) -> None:
    reason = refusal(month, statement)
    assert reason, "the database let the service role do it"
    assert any(
        word in reason
        for word in ("permission denied", "must be owner", "append-only", "duplicate key")
    ), reason


def test_the_service_role_still_does_its_whole_month(month: Engine) -> None:
    """Least privilege is not no privilege: February closes as the service role."""
    with unit_of_work(month) as session:
        result = batch.close(session, "2026-02", actor="key:k2:bob")
        paid = session.scalars(
            select(PayoutInstruction.partner_id).where(PayoutInstruction.period == "2026-02")
        ).all()
    assert result.posted > 0
    assert sorted(paid) == ["P-1", "P-2"]  # P-2's failed January payout is paid again


def test_the_service_role_owns_nothing_and_can_create_nothing(month: Engine) -> None:
    assert SERVICE_ROLE is not None
    owner = make_engine(owner_url_for(month.url.render_as_string(hide_password=False)))
    try:
        with owner.connect() as connection:
            assert privileges.findings(connection, SERVICE_ROLE) == []
    finally:
        owner.dispose()


def test_db_check_warns_when_the_service_runs_as_a_role_that_owns_the_schema(
    month: Engine,
) -> None:
    from tests.api.cli import payouts

    service_url = month.url.render_as_string(hide_password=False)
    as_service = payouts("db", "check", database_url=service_url)
    assert as_service.code == 0, as_service.err
    assert "warning" not in as_service.err
    as_owner = payouts("db", "check", database_url=owner_url_for(service_url))
    assert as_owner.code == 0
    assert "warning: the service's database role it owns" in as_owner.err
