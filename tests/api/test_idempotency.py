"""`Idempotency-Key`: one effect per key, the stored answer replayed, misuse refused."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import func, select

from payouts.access import IdempotencyRecord
from payouts.audit import AuditEntry
from payouts.db import unit_of_work
from payouts.facts.models import Invoice
from tests.api.support import Api, running_api

INVOICE = {
    "id": "INV-1",
    "customer_id": "C-1",
    "issue_date": "2026-01-15",
    "amount": "100.00",
    "currency": "USD",
}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with running_api(tmp_path) as api:
        api.key("billing", "billing")
        api.key("other-billing", "billing")
        api.ok("billing", "POST", "/facts/customers", json={"id": "C-1", "name": "One"})
        yield api


def count(api: Api, query: object) -> int:
    with unit_of_work(api.engine) as session:
        return int(session.scalar(query))  # type: ignore[call-overload]


def test_twenty_concurrent_identical_posts_with_one_key_have_one_effect(api: Api) -> None:
    start = threading.Barrier(20)

    def send(_: int) -> httpx2.Response:
        start.wait()
        return api.post(
            "billing", "/facts/invoices", json=INVOICE, headers={"Idempotency-Key": "k-1"}
        )

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(send, range(20)))

    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    assert responses[0].json()["inserted"] == ["INV-1"]
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 19
    assert count(api, select(func.count()).select_from(Invoice)) == 1
    assert count(api, select(func.count()).select_from(IdempotencyRecord)) == 1
    ingests = select(func.count()).where(AuditEntry.action == "invoices.ingest")
    assert count(api, ingests) == 1


def test_the_same_key_and_body_replays_the_stored_status_and_body(api: Api) -> None:
    first = api.post("billing", "/facts/invoices", json=INVOICE, headers={"Idempotency-Key": "k-2"})
    # Same content, other key order and spacing: the same request.
    again = api.post(
        "billing",
        "/facts/invoices",
        content=b'{"currency": "USD", "amount": "100.00", "issue_date": "2026-01-15",'
        b' "customer_id": "C-1", "id": "INV-1"}',
        headers={"Idempotency-Key": "k-2", "Content-Type": "application/json"},
    )
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    # Without the key, the repeat is still harmless, but it is a new request: 200 unchanged.
    plain = api.post("billing", "/facts/invoices", json=INVOICE)
    assert (plain.status_code, plain.json()["unchanged"]) == (200, ["INV-1"])


def test_the_same_key_with_another_body_is_a_409_problem(api: Api) -> None:
    api.post("billing", "/facts/invoices", json=INVOICE, headers={"Idempotency-Key": "k-3"})
    other = api.post(
        "billing",
        "/facts/invoices",
        json={**INVOICE, "id": "INV-2"},
        headers={"Idempotency-Key": "k-3"},
    )
    assert other.status_code == 409
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["type"] == "https://partner-payouts.dev/problems/idempotency-key-reused"
    assert count(api, select(func.count()).select_from(Invoice)) == 1
    elsewhere = api.post("billing", "/facts/payments", json={}, headers={"Idempotency-Key": "k-3"})
    assert elsewhere.status_code == 409


def test_keys_are_scoped_to_the_api_key_that_used_them(api: Api) -> None:
    mine = api.post("billing", "/facts/invoices", json=INVOICE, headers={"Idempotency-Key": "k-4"})
    theirs = api.post(
        "other-billing",
        "/facts/invoices",
        json={**INVOICE, "id": "INV-9"},
        headers={"Idempotency-Key": "k-4"},
    )
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert theirs.json()["inserted"] == ["INV-9"]


def test_a_failed_request_is_not_stored_so_its_key_can_be_retried(api: Api) -> None:
    refused = api.post(
        "billing",
        "/facts/invoices",
        json={**INVOICE, "customer_id": "C-404"},
        headers={"Idempotency-Key": "k-5"},
    )
    assert refused.status_code == 422
    api.ok("billing", "POST", "/facts/customers", json={"id": "C-404", "name": "Late"})
    retried = api.post(
        "billing",
        "/facts/invoices",
        json={**INVOICE, "customer_id": "C-404"},
        headers={"Idempotency-Key": "k-5"},
    )
    assert retried.status_code == 201


def test_an_ingestion_is_audited_under_its_key_and_a_refused_one_writes_nothing(
    api: Api,
) -> None:
    ingests = select(AuditEntry).where(AuditEntry.action == "invoices.ingest")
    refused = api.post("billing", "/facts/invoices", json={**INVOICE, "customer_id": "C-404"})
    assert refused.status_code == 422
    assert count(api, select(func.count()).select_from(Invoice)) == 0
    assert count(api, select(func.count()).select_from(ingests.subquery())) == 0

    assert api.post("billing", "/facts/invoices", json=INVOICE).status_code == 201
    with unit_of_work(api.engine) as session:
        [entry] = session.scalars(ingests)
    assert entry.actor == f"key:{api.key_ids['billing']}:billing"
    assert entry.after == {"inserted": 1, "amended": 0, "unchanged": 0}
