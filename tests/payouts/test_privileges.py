"""What the service's database role may do is written down for every table."""

from __future__ import annotations

from payouts import migrations, privileges
from payouts.schema import metadata


def test_every_table_has_its_privileges_written_down() -> None:
    assert set(privileges.SERVICE_PRIVILEGES) == {*metadata.tables, "alembic_version"}


def test_no_table_of_money_history_may_be_updated_or_deleted_by_the_service() -> None:
    history = (
        "audit_log",
        "batch_approvals",
        "inquiries",
        "inquiry_messages",
        "sign_in_attempts",
        "invoices",
        "issued_statements",
        "ledger_entries",
        "margin_lines",
        "payments",
        "payout_holds",
        "payout_instructions",
        "payout_results",
        "refunds",
    )
    for table in history:
        granted = privileges.SERVICE_PRIVILEGES[table]
        assert "UPDATE" not in granted, table
        assert "DELETE" not in granted, table


def test_the_service_role_is_the_user_of_database_url_when_it_is_not_the_owner() -> None:
    owner = "postgresql://payouts_owner@db/payouts"
    assert migrations.service_role(owner, "postgresql://payouts_app@db/payouts") == "payouts_app"
    assert migrations.service_role(owner, owner) is None
    assert migrations.service_role("sqlite:///x.db", "sqlite:///x.db") is None


def test_the_service_may_change_only_a_users_password_and_a_links_use() -> None:
    granted = privileges.SERVICE_PRIVILEGES
    assert granted["web_users"] == ("SELECT", "UPDATE (password_hash, password_set_at)")
    assert granted["user_tokens"] == ("SELECT", "UPDATE (used_at)")
    assert "INSERT" not in granted["web_users"]  # users are the owner's to invite
    assert "INSERT" not in granted["user_tokens"]
