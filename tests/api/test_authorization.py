"""Every route x every role: the exact status, and partner A never sees partner B."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from api.app import create_app
from payouts.access import ApiKey
from payouts.base import utcnow
from payouts.batch.models import PayoutInstruction
from payouts.db import unit_of_work
from payouts.facts.ingest import KINDS
from tests.api.support import EXAMPLES, Api, running_api

A, B = "PA-4417", "PB-7731"
ROLES = ("anonymous", "partner_a", "sales_ops", "billing", "finance")
KEYS = {"partner_a": "partner-a", "sales_ops": "ops", "billing": "bill", "finance": "fin"}
PROBLEM = "application/problem+json"


def _deal(ident: str, partner: str, customer: str) -> list[tuple[str, Any]]:
    return [
        (
            "deals",
            {
                "id": ident,
                "customer_id": customer,
                "list_amount": "1000.00",
                "net_amount": "1000.00",
                "currency": "USD",
                "close_date": "2026-01-10",
                "independence": "independent",
            },
        ),
        (
            "deal_roles",
            {"id": f"{ident}-R", "deal_id": ident, "partner_id": partner, "role": "sourced"},
        ),
        (
            "invoices",
            {
                "id": f"{ident}-INV",
                "customer_id": customer,
                "deal_id": ident,
                "issue_date": "2026-01-20",
                "amount": "1000.00",
                "currency": "USD",
            },
        ),
    ]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with running_api(tmp_path_factory.mktemp("authz")) as api:
        api.key("fin", "finance")
        api.key("fin-setup", "finance")
        api.key("bill", "billing")
        api.key("ops", "sales_ops")
        setup: list[tuple[str, Any]] = [
            (
                "partners",
                {"id": A, "name": "Alpha Partner", "type": "reseller", "payout_currency": "USD"},
            ),
            (
                "partners",
                {"id": B, "name": "Bravo Partner", "type": "reseller", "payout_currency": "USD"},
            ),
            ("customers", {"id": "C-A", "name": "Customer of A"}),
            ("customers", {"id": "C-B", "name": "Customer of B"}),
            *_deal("D-A", A, "C-A"),
            *_deal("D-B", B, "C-B"),
        ]
        for kind, record in setup:
            api.ok("bill", "POST", f"/facts/{kind}", json=record)
        yaml_text = (EXAMPLES / "independent_reseller.yaml").read_text(encoding="utf-8")
        api.ok(
            "fin-setup", "POST", "/plans", content=yaml_text, headers={"Content-Type": "text/yaml"}
        )
        for partner in (A, B):
            api.ok(
                "fin-setup",
                "POST",
                "/plans/independent-reseller/assignments",
                json={"partner_id": partner, "effective_from": "2026-01-01"},
            )
        api.ok("fin-setup", "POST", "/batches/2026-01/run")
        api.ok("fin", "POST", "/batches/2026-01/approve")
        api.ok("fin", "POST", "/batches/2026-01/close")
        api.ok("fin-setup", "POST", "/batches/2026-02/run")
        api.key("partner-a", "partner", partner_id=A)
        api.key("partner-b", "partner", partner_id=B)
        for reason in ("to approve", "to refuse"):  # adjustments 1 and 2, not fin's own
            api.ok(
                "fin-setup",
                "POST",
                "/adjustments",
                json={"partner_id": A, "amount": "5.00", "currency": "USD", "reason": reason},
            )
        yield api


def expect(anonymous: int = 401, others: int = 403, **allowed: int) -> dict[str, int]:
    out = dict.fromkeys(ROLES, others)
    out["anonymous"] = anonymous
    out.update(allowed)
    return out


def partner_routes(
    partner: str, a_status: int
) -> list[tuple[str, str, dict[str, Any], dict[str, int]]]:
    base = f"/partners/{partner}"
    both = {"finance": 200, "partner_a": a_status}
    return [
        ("GET", base, {}, expect(**both)),
        ("GET", f"{base}/tier", {}, expect(**both)),
        ("GET", f"{base}/statements", {}, expect(**both)),
        ("GET", f"{base}/statements/2026-01", {}, expect(**both)),
        ("GET", f"{base}/statements/2026-01/pdf", {}, expect(**both)),
        ("GET", f"{base}/statements/2026-01/csv", {}, expect(**both)),
        ("GET", f"{base}/statements/2026-01/verify", {}, expect(**both)),
    ]


def routes(api: Api) -> list[tuple[str, str, dict[str, Any], dict[str, int]]]:
    with unit_of_work(api.engine) as session:
        e2e = session.scalars(
            select(PayoutInstruction.end_to_end_id).where(
                PayoutInstruction.period == "2026-01", PayoutInstruction.partner_id == A
            )
        ).one()
    var_yaml = (EXAMPLES / "var.yaml").read_text(encoding="utf-8")
    customer = {"id": "C-M1", "name": "Matrix Customer"}
    table: list[tuple[str, str, dict[str, Any], dict[str, int]]] = [
        ("GET", "/health", {}, dict.fromkeys(ROLES, 200)),
        # Ingestion: billing stores, finance then finds it unchanged.
        ("POST", "/facts/customers", {"json": customer}, expect(billing=201, finance=200)),
        ("POST", "/facts/customers/bulk", {"json": [customer]}, expect(billing=200, finance=200)),
        (
            "POST",
            "/facts/customers?amend=true",
            {"json": {**customer, "name": "Renamed"}},
            expect(billing=403, finance=200),
        ),
        (
            "POST",
            "/quotes",
            {"json": {"deal_id": "D-A", "partner_id": A}},
            expect(billing=200, finance=200),
        ),
        ("GET", "/plans", {}, expect(finance=200)),
        (
            "POST",
            "/plans",
            {"content": var_yaml, "headers": {"Content-Type": "text/yaml"}},
            expect(finance=201),
        ),
        ("GET", "/plans/independent-reseller", {}, expect(finance=200)),
        ("GET", "/plans/independent-reseller?version=1", {}, expect(finance=200)),
        ("GET", "/plans/independent-reseller/versions", {}, expect(finance=200)),
        ("GET", "/plans/independent-reseller/diff?a=1&b=1", {}, expect(finance=200)),
        (
            "POST",
            "/plans/var/assignments",
            {"json": {"partner_id": A, "effective_from": "2026-06-01"}},
            expect(finance=201),
        ),
        ("GET", "/batches/2026-01", {}, expect(finance=200)),
        ("GET", "/batches/2026-02/review", {}, expect(finance=200)),
        ("POST", "/batches/2026-02/approve", {}, expect(finance=200)),
        ("POST", "/batches/2026-02/close", {}, expect(finance=200)),
        ("POST", "/batches/2026-03/run", {}, expect(finance=200)),
        ("GET", "/batches/2026-01/export?format=csv", {}, expect(finance=200)),
        (
            "POST",
            "/batches/2026-01/payments",
            {"json": {"rows": [{"end_to_end_id": e2e, "status": "paid", "bank_reference": "B-1"}]}},
            expect(finance=200),
        ),
        ("GET", "/partners", {}, expect(finance=200)),
        *partner_routes(A, 200),
        *partner_routes(B, 404),
        ("GET", "/rep-credit/2026-01", {}, expect(sales_ops=200, finance=200)),
        ("GET", "/rep-credit/2026-01/csv", {}, expect(sales_ops=200, finance=200)),
        ("GET", "/inquiries", {}, expect(finance=200)),
        ("GET", "/adjustments", {}, expect(finance=200)),
        ("GET", "/adjustments/1", {}, expect(finance=200)),
        ("POST", "/adjustments/1/approval", {"json": {}}, expect(finance=200)),
        ("POST", "/adjustments/2/refusal", {"json": {"reason": "no"}}, expect(finance=200)),
        (
            "POST",
            "/adjustments",
            {"json": {"partner_id": B, "amount": "-1", "currency": "USD", "reason": "matrix"}},
            expect(finance=201),
        ),
        # The proposer (fin, adjustment 3 just made) cannot approve its own.
        ("POST", "/adjustments/3/approval", {"json": {}}, expect(finance=403)),
    ]
    # Every other fact kind: an empty record passes authorization and fails validation.
    for kind in KINDS:
        if kind != "customers":
            table.append(("POST", f"/facts/{kind}", {"json": {}}, expect(billing=422, finance=422)))
            table.append(
                ("POST", f"/facts/{kind}/bulk", {"json": [{}]}, expect(billing=422, finance=422))
            )
    return table


def test_every_route_answers_every_role_exactly_and_partner_a_never_sees_b(api: Api) -> None:
    seen_by_a: list[str] = []
    mismatches: list[str] = []
    for method, path, kwargs, expected in routes(api):
        for role in ROLES:  # finance last: only its calls change anything
            response = api.request(KEYS.get(role), method, path, **kwargs)
            if response.status_code != expected[role]:
                mismatches.append(
                    f"{role} {method} {path}: {response.status_code} != {expected[role]} "
                    f"{response.text[:200]}"
                )
            if response.status_code >= 400:
                assert response.headers["content-type"] == PROBLEM, (role, path)
            if role == "partner_a":
                seen_by_a.append(f"{response.headers}\n{response.content!r}")
    assert mismatches == []
    assert not [text for text in seen_by_a if B in text or "Bravo" in text]


def test_another_partners_id_looks_exactly_like_an_unknown_id(api: Api) -> None:
    for suffix in ("", "/tier", "/statements", "/statements/2026-01/pdf"):
        other = api.get("partner-a", f"/partners/{B}{suffix}")
        unknown = api.get("partner-a", f"/partners/PZ-0000{suffix}")
        assert other.status_code == unknown.status_code == 404
        assert other.json() == unknown.json()


def test_a_partner_key_cannot_run_approve_or_close_a_batch(api: Api) -> None:
    for step in ("run", "approve", "close"):
        response = api.post("partner-a", f"/batches/2026-04/{step}")
        assert response.status_code == 403
        assert response.json()["type"] == "https://partner-payouts.dev/problems/forbidden"


def test_missing_malformed_revoked_and_expired_keys_are_refused(api: Api) -> None:
    from api.principals import revoke_key

    assert api.get(None, "/plans").status_code == 401
    bad = api.client.get("/plans", headers={"Authorization": "Bearer ppk_nope_nope"})
    assert bad.status_code == 401
    assert bad.headers["www-authenticate"] == "Bearer"
    forged = api.tokens["fin"][:-4] + "AAAA"
    assert (
        api.client.get("/plans", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    )

    api.key("old", "finance")
    api.key("gone", "finance")
    with api.as_owner() as session:
        session.get_one(ApiKey, api.key_ids["old"]).expires_at = utcnow() - timedelta(seconds=1)
        revoke_key(session, api.key_ids["gone"], actor="test")
    for label, why in (("old", "expired"), ("gone", "revoked")):
        response = api.get(label, "/plans")
        assert response.status_code == 401
        assert why in response.json()["detail"]


def test_only_a_hash_of_the_secret_is_stored(api: Api) -> None:
    with unit_of_work(api.engine) as session:
        stored = session.get_one(ApiKey, api.key_ids["fin"])
    secret = api.tokens["fin"].split("_", 2)[2]
    assert secret not in stored.secret_hash
    assert len(stored.secret_hash) == 64


def test_the_openapi_document_lists_every_route_with_its_problems(api: Api) -> None:
    spec = create_app(api.engine).openapi()
    assert "/facts/invoices/bulk" in spec["paths"]
    invoice = spec["paths"]["/facts/invoices"]["post"]["requestBody"]["content"]["application/json"]
    assert invoice["schema"]["properties"]["amount"]["type"] == "string"
    assert (
        "application/problem+json"
        in spec["paths"]["/quotes"]["post"]["responses"]["422"]["content"]
    )
    # Every route that takes a key documents the throttling of repeated bad keys.
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            if "401" in operation["responses"]:
                assert "429" in operation["responses"], (method, path)
