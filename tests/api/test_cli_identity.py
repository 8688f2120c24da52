"""Who acts on the command line is an API key, never a name typed there."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from payouts.audit import AuditEntry
from payouts.batch.models import Batch
from payouts.db import make_engine, unit_of_work
from tests.api.cli import ROOT, key_for, payouts

EXAMPLES = ROOT / "plans" / "examples"

PARTNERS = "id,name,type,payout_currency,iban\nP-1,Refer Co,referral,USD,DE89370400440532013000\n"
CUSTOMERS = "id,name\nC-1,Customer One\n"
DEALS = "id,customer_id,list_amount,net_amount,currency,close_date\n"
ROLES = "id,deal_id,partner_id,role\n"
INVOICES = "id,customer_id,deal_id,issue_date,amount,currency\n"


def write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def program(migrated_url: str, tmp_path: Path) -> dict[str, str]:
    """A referral partner with one invoice in each of January to March, and keys."""
    keys = {
        "alice": key_for(migrated_url, "alice"),
        "bob": key_for(migrated_url, "bob"),
        "alice-2": key_for(migrated_url, "Alice"),  # the same person, a second key
        "billing": key_for(migrated_url, "billing-system", role="billing"),
    }
    files = {
        "partners": PARTNERS,
        "customers": CUSTOMERS,
        "deals": DEALS + "D-1,C-1,100.00,100.00,USD,2026-01-02\n",
        "deal_roles": ROLES + "DR-1,D-1,P-1,referral\n",
        "invoices": INVOICES
        + "".join(f"INV-{m},C-1,,2026-0{m}-15,100.00,USD\n" for m in (1, 2, 3)),
    }
    for kind, text in files.items():
        run = payouts(
            "facts",
            "import",
            kind,
            write(tmp_path, f"{kind}.csv", text),
            database_url=migrated_url,
            key=keys["billing"],
        )
        assert run.code == 0, run.err
    loaded = payouts(
        "plans", "load", EXAMPLES / "referral.yaml", database_url=migrated_url, key=keys["alice"]
    )
    assert loaded.code == 0, loaded.err
    assigned = payouts(
        "plans",
        "assign",
        "referral",
        "--partner",
        "P-1",
        "--from",
        "2026-01-01",
        database_url=migrated_url,
        key=keys["alice"],
    )
    assert assigned.code == 0, assigned.err
    return {"url": migrated_url, **keys}


def test_a_command_that_changes_money_without_a_key_is_refused_and_changes_nothing(
    program: dict[str, str],
) -> None:
    url = program["url"]
    run = payouts("batch", "run", "2026-01", database_url=url)
    assert run.code == 1
    assert run.err.strip().startswith("error: this command acts for an API key (finance)")
    assert "PAYOUTS_API_KEY" in run.err
    typed = payouts("batch", "run", "2026-01", "--as", "alice", database_url=url)
    assert typed.code == 2  # there is no such option any more
    with unit_of_work(make_engine(url), read_only=True) as session:
        assert session.scalars(select(Batch)).all() == []


def test_a_billing_key_imports_facts_but_runs_no_batch_and_amends_no_partner(
    program: dict[str, str], tmp_path: Path
) -> None:
    url = program["url"]
    run = payouts("batch", "run", "2026-01", database_url=url, key=program["billing"])
    assert run.code == 1
    assert "a billing key may not do this" in run.err
    amended = write(
        tmp_path,
        "amend.csv",
        PARTNERS.replace("DE89370400440532013000", "FR1420041010050500013M02606"),
    )
    refused = payouts(
        "facts", "import", "partners", amended, "--amend", database_url=url, key=program["billing"]
    )
    assert refused.code == 1
    assert "amendments need a finance key" in refused.err
    done = payouts(
        "facts", "import", "partners", amended, "--amend", database_url=url, key=program["bob"]
    )
    assert done.code == 0, done.err


def test_the_audit_log_names_the_key_and_one_person_cannot_approve_with_a_second_key(
    program: dict[str, str],
) -> None:
    url = program["url"]
    assert payouts("batch", "run", "2026-01", database_url=url, key=program["alice"]).code == 0
    second = payouts("batch", "approve", "2026-01", database_url=url, key=program["alice-2"])
    assert second.code == 1
    assert "cannot also approve it" in second.err
    assert payouts("batch", "approve", "2026-01", database_url=url, key=program["bob"]).code == 0
    with unit_of_work(make_engine(url), read_only=True) as session:
        actors = dict(
            session.execute(
                select(AuditEntry.action, AuditEntry.actor).where(
                    AuditEntry.action.in_(("batch.run", "batch.approve", "api_key.create"))
                )
            ).all()
        )
    assert actors["batch.run"].startswith("key:")
    assert actors["batch.run"].endswith(":alice")
    assert actors["batch.approve"].startswith("key:")
    assert actors["batch.approve"].endswith(":bob")
    assert actors["api_key.create"].startswith(("db-owner:", "local:"))


def test_a_revoked_key_acts_no_more(program: dict[str, str]) -> None:
    url = program["url"]
    key_id = program["bob"].split("_")[1]
    assert payouts("keys", "revoke", key_id, database_url=url).code == 0
    run = payouts("batch", "run", "2026-01", database_url=url, key=program["bob"])
    assert run.code == 1
    assert "revoked" in run.err


def test_catch_up_closes_past_months_in_order_with_two_people(program: dict[str, str]) -> None:
    url = program["url"]
    same = payouts(
        "batch",
        "catch-up",
        "2026-02",
        "--approver-key",
        program["alice-2"],
        database_url=url,
        key=program["alice"],
    )
    assert same.code == 1
    assert "cannot also approve it" in same.err
    done = payouts(
        "batch",
        "catch-up",
        "2026-02",
        "--approver-key",
        program["bob"],
        database_url=url,
        key=program["alice"],
    )
    assert done.code == 0, done.err
    lines = done.out.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["2026-01", "2026-02"]
    assert all("approved, closed" in line for line in lines)
    with unit_of_work(make_engine(url), read_only=True) as session:
        states = dict(session.execute(select(Batch.period, Batch.status)).all())
    assert states == {"2026-01": "closed", "2026-02": "closed"}
    nothing = payouts(
        "batch",
        "catch-up",
        "2026-02",
        "--approver-key",
        program["bob"],
        database_url=url,
        key=program["alice"],
    )
    assert "nothing to close" in nothing.out
