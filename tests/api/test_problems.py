"""Errors are RFC 9457 problem+json with a stable type, listing every error at once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from api.limits import MAX_BODY_BYTES
from api.routers.facts import MAX_BULK
from tests.api.support import Api, running_api

PROBLEMS = "https://partner-payouts.dev/problems/"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with running_api(tmp_path_factory.mktemp("problems")) as api:
        api.key("billing", "billing")
        api.key("finance", "finance")
        api.ok("billing", "POST", "/facts/customers", json={"id": "C-1", "name": "One"})
        yield api


def problem(response: httpx2.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == PROBLEMS + code
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    return body


def test_every_refused_record_of_a_bulk_request_is_listed_with_index_id_and_path(
    api: Api,
) -> None:
    records = [
        {
            "id": "INV-1",
            "customer_id": "C-1",
            "issue_date": "2026-01-15",
            "amount": "1.00",
            "currency": "USD",
        },
        {
            "id": "INV-2",
            "customer_id": "C-404",
            "issue_date": "2026-01-15",
            "amount": "1.00",
            "currency": "USD",
        },
        {
            "id": "INV-3",
            "customer_id": "C-1",
            "issue_date": "2026-02-30",
            "amount": "1.001",
            "currency": "USD",
        },
        {
            "id": "INV-4",
            "customer_id": "C-1",
            "issue_date": "2026-01-15",
            "amount": 1.5,
            "currency": "USD",
        },
    ]
    body = problem(api.post("billing", "/facts/invoices/bulk", json=records), 422, "facts-refused")
    by_index: dict[int, list[dict[str, Any]]] = {}
    for error in body["errors"]:
        by_index.setdefault(error["index"], []).append(error)
    assert sorted(by_index) == [2, 3, 4]
    assert by_index[2] == [
        {"index": 2, "id": "INV-2", "message": "unknown customer 'C-404'", "conflict": False}
    ]
    assert {e["path"] for e in by_index[3]} == {"issue_date"}
    assert "float" in by_index[4][0]["message"]
    assert by_index[4][0]["path"] == "amount"
    # All or nothing: the valid first record was not stored either.
    again = api.post("billing", "/facts/invoices", json=records[0])
    assert again.status_code == 201


def test_a_changed_record_under_a_stored_id_is_a_fact_conflict(api: Api) -> None:
    body = problem(
        api.post("billing", "/facts/customers", json={"id": "C-1", "name": "Renamed"}),
        409,
        "fact-conflict",
    )
    assert body["errors"][0]["conflict"] is True
    assert body["errors"][0]["id"] == "C-1"


def test_request_validation_lists_every_field_at_once(api: Api) -> None:
    body = problem(
        api.post("billing", "/quotes", json={"requested_price": 60.5, "surprise": 1}),
        422,
        "request-invalid",
    )
    paths = {error["path"] for error in body["errors"]}
    assert {"body.deal_id", "body.partner_id", "body.requested_price", "body.surprise"} <= paths


def test_an_invalid_plan_lists_every_error_with_its_path(api: Api) -> None:
    document = {"plan_id": "p", "version": 1, "name": "Broken", "effective_from": "2026-13-01"}
    body = problem(
        api.post(
            "finance",
            "/plans",
            content=json.dumps({**document, "components": [{"kind": "nope"}]}),
            headers={"Content-Type": "application/json"},
        ),
        422,
        "plan-invalid",
    )
    assert len(body["errors"]) >= 2
    assert all(error["message"] for error in body["errors"])
    unsupported = api.post(
        "finance", "/plans", content="plan", headers={"Content-Type": "text/plain"}
    )
    problem(unsupported, 415, "unsupported-media-type")


def test_domain_errors_keep_their_status_and_type(api: Api) -> None:
    problem(api.get("finance", "/plans/no-such-plan"), 404, "plan-not-found")
    problem(api.get("finance", "/batches/2026-01"), 404, "batch-not-found")
    problem(
        api.post("billing", "/quotes", json={"deal_id": "D-0", "partner_id": "P-0"}),
        404,
        "deal-not-found",
    )
    problem(api.get("finance", "/no/such/route"), 404, "not-found")
    problem(api.get("finance", "/batches/2026-13"), 422, "request-invalid")


def test_bodies_over_the_size_limit_are_refused_with_413(api: Api) -> None:
    big = b"[" + b" " * MAX_BODY_BYTES + b"]"
    declared = api.post(
        "billing",
        "/facts/customers/bulk",
        content=big,
        headers={"Content-Type": "application/json"},
    )
    problem(declared, 413, "payload-too-large")

    def chunks() -> Iterator[bytes]:
        yield b"["
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b" " * 65536
        yield b"]"

    streamed = api.post(
        "billing",
        "/facts/customers/bulk",
        content=chunks(),
        headers={"Content-Type": "application/json"},
    )
    problem(streamed, 413, "payload-too-large")


def test_bulk_requests_are_limited_to_the_documented_number_of_records(api: Api) -> None:
    records = [{"id": f"C-{n}", "name": "x"} for n in range(MAX_BULK + 1)]
    body = problem(
        api.post("billing", "/facts/customers/bulk", json=records), 422, "request-invalid"
    )
    assert str(MAX_BULK) in body["errors"][0]["message"]


def test_lists_are_paged_with_a_maximum_page_size(api: Api) -> None:
    api.ok(
        "billing",
        "POST",
        "/facts/partners/bulk",
        json=[
            {"id": f"P-{n}", "name": f"Partner {n}", "type": "reseller", "payout_currency": "EUR"}
            for n in range(5)
        ],
    )
    page = api.ok("finance", "GET", "/partners", params={"limit": 2, "offset": 1})
    assert [p["id"] for p in page["items"]] == ["P-1", "P-2"]
    assert (page["total"], page["limit"], page["offset"]) == (5, 2, 1)
    problem(api.get("finance", "/partners", params={"limit": 501}), 422, "request-invalid")


@pytest.mark.parametrize(
    "amount",
    ["99999999999999999999999.00", "1e100", "1" * 30, 10**30, 100, "1E+2", "1_000.00"],
)
def test_an_amount_not_in_the_documented_form_is_refused_with_the_reason(
    api: Api, amount: object
) -> None:
    """`1e100`, 30 digits or a JSON integer 10**30 answered 500; `1E+2` was stored."""
    record = {
        "id": "INV-ODD",
        "customer_id": "C-1",
        "issue_date": "2026-01-15",
        "amount": amount,
        "currency": "USD",
    }
    # Sent as raw JSON: a client's serialiser would write 10**30 as a plain integer too.
    body = problem(
        api.post(
            "billing",
            "/facts/invoices",
            content=json.dumps(record),
            headers={"Content-Type": "application/json"},
        ),
        422,
        "facts-refused",
    )
    [error] = body["errors"]
    assert error["path"] == "amount"
    assert "decimal string" in error["message"] or "12 digits" in error["message"]


def test_the_openapi_document_says_fact_amounts_and_rates_are_decimal_strings(api: Api) -> None:
    schemas = api.ok(None, "GET", "/openapi.json")["paths"]
    invoice = schemas["/facts/invoices"]["post"]["requestBody"]["content"]["application/json"]
    amount = invoice["schema"]["properties"]["amount"]
    assert amount["type"] == "string"
    assert amount["pattern"] == "^[0-9]{1,12}(\\.[0-9]{1,3})?$"
    fx = schemas["/facts/fx_rates"]["post"]["requestBody"]["content"]["application/json"]
    assert fx["schema"]["properties"]["rate"]["type"] == "string"
    assert fx["schema"]["properties"]["rate"]["pattern"] == "^[0-9]{1,7}(\\.[0-9]{1,12})?$"
