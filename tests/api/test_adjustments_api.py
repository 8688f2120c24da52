"""Manual adjustments over HTTP: problems for bad input, maker-checker by holder, and the
same service as the command line and the console."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.support import Api, running_api

PROBLEMS = "https://partner-payouts.dev/problems/"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with running_api(tmp_path_factory.mktemp("adjustments-api")) as api:
        api.key("alice", "finance")
        api.key("bob", "finance")
        api.key("bill", "billing")
        api.ok(
            "bill",
            "POST",
            "/facts/partners",
            json={"id": "P-ADJ", "name": "Adjusted", "type": "reseller", "payout_currency": "EUR"},
        )
        yield api


def _propose(api: Api, **overrides: str) -> dict[str, object]:
    body = {"partner_id": "P-ADJ", "amount": "19.99", "currency": "EUR", "reason": "late deal"}
    response = api.post("alice", "/adjustments", json={**body, **overrides})
    return {**response.json(), "http": response.status_code}


def test_a_proposal_is_pending_until_another_holder_decides_it(api: Api) -> None:
    made = _propose(api)
    assert made["http"] == 201
    assert made["amount"] == "19.99"
    assert made["status"] == "pending"
    own = api.post("alice", f"/adjustments/{made['id']}/approval", json={})
    assert own.status_code == 403
    assert own.headers["content-type"] == "application/problem+json"
    assert own.json()["type"] == f"{PROBLEMS}adjustment-maker-checker"
    approved = api.post("bob", f"/adjustments/{made['id']}/approval", json={})
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    assert approved.json()["decided_by"].endswith(":bob")
    again = api.post("bob", f"/adjustments/{made['id']}/refusal", json={"reason": "late"})
    assert again.status_code == 409
    listed = api.ok("bob", "GET", "/adjustments?status=approved")
    assert [a["id"] for a in listed["items"]] == [made["id"]]


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"amount": "1.999"}, "too precise"),
        ({"amount": "0.00"}, "zero"),
        ({"amount": "1e3"}, "not a plain decimal"),
        ({"currency": "USD"}, "paid in EUR"),
        ({"partner_id": "P-NONE"}, "no partner"),
        ({"amount": "123456789012"}, "too large"),
        ({"reason": "   "}, "say why"),
        ({"statement_period": "2026-01", "line_id": "2026-01-1"}, "no statement for 2026-01"),
    ],
)
def test_bad_input_is_a_problem_and_changes_nothing(
    api: Api, overrides: dict[str, str], words: str
) -> None:
    before = len(api.ok("bob", "GET", "/adjustments")["items"])
    made = _propose(api, **overrides)
    assert made["http"] == 422
    assert made["type"] in (f"{PROBLEMS}adjustment-refused", f"{PROBLEMS}validation-failed")
    assert words in str(made["detail"])
    assert len(api.ok("bob", "GET", "/adjustments")["items"]) == before


def test_a_refusal_needs_a_reason(api: Api) -> None:
    made = _propose(api)
    bare = api.post("bob", f"/adjustments/{made['id']}/refusal", json={})
    assert bare.status_code == 422
    refused = api.post("bob", f"/adjustments/{made['id']}/refusal", json={"reason": "duplicate"})
    assert refused.json()["status"] == "refused"
