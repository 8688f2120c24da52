"""A whole month through the HTTP API only, each step with the key that may do it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from payouts.audit import AuditEntry
from payouts.db import unit_of_work
from tests.api.support import EXAMPLES, Api, running_api


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with running_api(tmp_path) as api:
        api.key("billing-sync", "billing")
        api.key("alice", "finance")
        api.key("bob", "finance")
        yield api


def ingest_january(api: Api) -> None:
    post = api.ok
    post(
        "billing-sync",
        "POST",
        "/facts/partners/bulk",
        json=[
            {"id": "P-1", "name": "Acme Resale", "type": "reseller", "payout_currency": "USD"},
            {"id": "P-2", "name": "Beta Resale", "type": "reseller", "payout_currency": "USD"},
        ],
    )
    post("billing-sync", "POST", "/facts/customers", json={"id": "C-1", "name": "Customer One"})
    post(
        "billing-sync",
        "POST",
        "/facts/deals",
        json={
            "id": "D-1",
            "customer_id": "C-1",
            "list_amount": "10000.00",
            "net_amount": "10000.00",
            "currency": "USD",
            "close_date": "2026-01-10",
            "independence": "independent",
        },
    )
    post(
        "billing-sync",
        "POST",
        "/facts/deal_roles",
        json={"id": "DR-1", "deal_id": "D-1", "partner_id": "P-1", "role": "sourced"},
    )
    post(
        "billing-sync",
        "POST",
        "/facts/invoices",
        json={
            "id": "INV-1",
            "customer_id": "C-1",
            "deal_id": "D-1",
            "issue_date": "2026-01-15",
            "amount": "10000.00",
            "currency": "USD",
        },
    )


def test_a_month_from_ingestion_to_a_closed_batch_through_the_api_only(api: Api) -> None:
    ingest_january(api)
    yaml_text = (EXAMPLES / "independent_reseller.yaml").read_text(encoding="utf-8")
    saved = api.post("alice", "/plans", content=yaml_text, headers={"Content-Type": "text/yaml"})
    assert saved.status_code == 201, saved.text
    plan_id = saved.json()["plan"]["plan_id"]
    assert saved.json()["plan"]["label"].startswith(f"{plan_id}@v1#")
    again = api.post("alice", "/plans", content=yaml_text, headers={"Content-Type": "text/yaml"})
    assert (again.status_code, again.json()["created"]) == (200, False)
    assigned = api.post(
        "alice",
        f"/plans/{plan_id}/assignments",
        json={"partner_id": "P-1", "effective_from": "2026-01-01"},
    )
    assert assigned.status_code == 201, assigned.text

    quote = api.ok("billing-sync", "POST", "/quotes", json={"deal_id": "D-1", "partner_id": "P-1"})
    assert quote["buy_price"] == {"amount": "8000.00", "currency": "USD"}
    assert quote["margin"] == {"amount": "2000.00", "currency": "USD"}
    assert quote["plan_label"].startswith(f"{plan_id}@v1#")
    assert quote["explanation"]

    run = api.ok("alice", "POST", "/batches/2026-01/run")
    assert run["partners"] >= 1
    assert run["lines"] >= 1
    same_key = api.post("alice", "/batches/2026-01/approve")
    assert same_key.status_code == 403
    assert same_key.json()["type"] == "https://partner-payouts.dev/problems/maker-checker"
    approved = api.ok("bob", "POST", "/batches/2026-01/approve")
    assert approved["status"] == "approved"
    assert approved["calculated_by"] == f"key:{api.key_ids['alice']}:alice"
    assert approved["approved_by"] == f"key:{api.key_ids['bob']}:bob"
    closed = api.ok("bob", "POST", "/batches/2026-01/close")
    assert closed["posted"] >= 1
    assert closed["payable"] == [{"amount": "2000.00", "currency": "USD"}]
    assert api.ok("alice", "GET", "/batches/2026-01")["status"] == "closed"

    with unit_of_work(api.engine) as session:
        actors = {
            entry.action: entry.actor
            for entry in session.scalars(
                select(AuditEntry).where(AuditEntry.subject_id == "2026-01")
            )
        }
    assert actors["batch.run"] == f"key:{api.key_ids['alice']}:alice"
    assert actors["batch.approve"] == f"key:{api.key_ids['bob']}:bob"
    assert actors["batch.close"] == f"key:{api.key_ids['bob']}:bob"

    api.key("acme", "partner", partner_id="P-1")
    listed = api.ok("acme", "GET", "/partners/P-1/statements")
    assert [item["period"] for item in listed["items"]] == ["2026-01"]
    pdf = api.get("acme", "/partners/P-1/statements/2026-01/pdf")
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    verified = api.ok("acme", "GET", "/partners/P-1/statements/2026-01/verify")
    assert verified["match"] is True
    document = api.ok("acme", "GET", "/partners/P-1/statements/2026-01")
    assert document["content_hash"] == verified["stored_hash"]
    lines = api.get("acme", "/partners/P-1/statements/2026-01/csv")
    assert lines.status_code == 200
    assert lines.headers["content-type"].startswith("text/csv")


def test_finance_downloads_the_payout_file_of_a_closed_month(api: Api) -> None:
    ingest_january(api)
    yaml_text = (EXAMPLES / "independent_reseller.yaml").read_text(encoding="utf-8")
    plan_id = api.ok(
        "alice", "POST", "/plans", content=yaml_text, headers={"Content-Type": "text/yaml"}
    )["plan"]["plan_id"]
    api.ok(
        "alice",
        "POST",
        f"/plans/{plan_id}/assignments",
        json={"partner_id": "P-1", "effective_from": "2026-01-01"},
    )
    api.ok("alice", "POST", "/batches/2026-01/run")
    api.ok("bob", "POST", "/batches/2026-01/approve")
    api.ok("bob", "POST", "/batches/2026-01/close")
    exported = api.get("alice", "/batches/2026-01/export", params={"format": "csv"})
    assert exported.status_code == 200, exported.text
    assert "attachment" in exported.headers["content-disposition"]
    assert b"P-1" in exported.content
