"""DESIGN.md worked examples for quotes and tiers, through the shipped YAML plans."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from payouts import fx, plan_book, quotes, tiers
from payouts.facts import repository
from payouts.facts.ingest import ingest
from plans.errors import MarginBelowProtected
from plans.loading import load_plan

EXAMPLES = Path(__file__).resolve().parents[2] / "plans" / "examples"


def load(session: Session, name: str) -> str:
    plan = load_plan(EXAMPLES / f"{name}.yaml")
    return plan_book.save(session, plan, actor="finance").record.plan_id


@pytest.fixture
def program(session: Session) -> Session:
    ingest(
        session,
        "partners",
        [
            {"id": f"P-{n}", "name": f"Partner {n}", "type": "reseller", "payout_currency": "USD"}
            for n in range(1, 5)
        ],
        actor="crm",
    )
    ingest(session, "customers", [{"id": "C-1", "name": "Customer"}], actor="crm")
    plan_id = load(session, "tiered_reseller")
    for n in range(1, 5):
        plan_book.assign(
            session,
            plan_id=plan_id,
            partner_id=f"P-{n}",
            effective_from=date(2025, 1, 1),
            actor="finance",
        )
    return session


def deal(session: Session, ident: str, list_amount: str, net: str, **extra: Any) -> None:
    ingest(
        session,
        "deals",
        [
            {
                "id": ident,
                "customer_id": "C-1",
                "list_amount": list_amount,
                "net_amount": net,
                "currency": "USD",
                "close_date": "2026-02-10",
                **extra,
            }
        ],
        actor="crm",
    )


def role(session: Session, deal_id: str, partner_id: str, name: str) -> None:
    ingest(
        session,
        "deal_roles",
        [
            {
                "id": f"{deal_id}-{partner_id}-{name}",
                "deal_id": deal_id,
                "partner_id": partner_id,
                "role": name,
            }
        ],
        actor="crm",
    )


def register(session: Session, deal_id: str, partner_id: str, expires: str) -> None:
    ingest(
        session,
        "deal_registrations",
        [
            {
                "id": f"REG-{deal_id}",
                "deal_id": deal_id,
                "partner_id": partner_id,
                "status": "approved",
                "approved_at": "2026-01-05",
                "expires_at": expires,
            }
        ],
        actor="crm",
    )


def test_registered_deal_at_100_list_costs_the_partner_60(program: Session) -> None:
    deal(program, "D-1", "100.00", "100.00")
    role(program, "D-1", "P-1", "sourced")
    register(program, "D-1", "P-1", "2026-06-30")
    result = quotes.quote_deal(program, "D-1", "P-1")
    assert result.quote.buy_price == Decimal("60.00")
    assert result.quote.margin == Decimal("40.00")
    assert result.quote.rule.value == "deal_registration"
    assert result.plan_label.startswith("tiered-reseller@v1#")


def test_fulfilment_deal_negotiated_at_80_costs_the_partner_76(program: Session) -> None:
    deal(program, "D-2", "100.00", "80.00")
    role(program, "D-2", "P-1", "fulfilment")
    result = quotes.quote_deal(program, "D-2", "P-1")
    assert result.quote.buy_price == Decimal("76.00")
    assert result.quote.rule.value == "fulfilment"


def test_an_expired_registration_falls_back_to_standard_resale(program: Session) -> None:
    deal(program, "D-3", "100.00", "100.00")
    role(program, "D-3", "P-1", "sourced")
    register(program, "D-3", "P-1", "2026-01-31")  # expired before the 2026-02-10 close
    result = quotes.quote_deal(program, "D-3", "P-1")
    assert result.quote.rule.value == "standard_resale"
    assert result.quote.buy_price == Decimal("75.00")


def test_a_price_below_the_protected_margin_needs_a_recorded_exception(program: Session) -> None:
    deal(program, "D-4", "100.00", "100.00")
    role(program, "D-4", "P-1", "sourced")
    register(program, "D-4", "P-1", "2026-06-30")
    with pytest.raises(MarginBelowProtected):
        quotes.quote_deal(program, "D-4", "P-1", requested_price=Decimal("85.00"))
    quotes.approve_exception(
        program,
        exception_id="EXC-1",
        deal_id="D-4",
        partner_id="P-1",
        lowest_price=Decimal("85.00"),
        reason="strategic logo",
        approved_by="vp-sales",
    )
    result = quotes.quote_deal(
        program, "D-4", "P-1", requested_price=Decimal("85.00"), exception_id="EXC-1"
    )
    assert result.quote.buy_price == Decimal("85.00")
    assert result.quote.exception_approved
    assert result.exception_id == "EXC-1"


def certifications(session: Session, partner_id: str, count: int) -> None:
    ingest(
        session,
        "certifications",
        [
            {
                "id": f"{partner_id}-CERT-{n}",
                "partner_id": partner_id,
                "name": f"Cert {n}",
                "earned_at": "2025-06-01",
            }
            for n in range(count)
        ],
        actor="crm",
    )


def sourced_invoice(session: Session, partner_id: str, ident: str, amount: str, day: str) -> None:
    deal(session, f"D-{ident}", amount, amount, close_date=day)
    role(session, f"D-{ident}", partner_id, "sourced")
    ingest(
        session,
        "invoices",
        [
            {
                "id": ident,
                "customer_id": "C-1",
                "deal_id": f"D-{ident}",
                "issue_date": day,
                "amount": amount,
                "currency": "USD",
            }
        ],
        actor="billing",
    )


def test_many_certifications_and_modest_revenue_reach_silver_by_the_any_rule(
    program: Session,
) -> None:
    certifications(program, "P-2", 4)
    sourced_invoice(program, "P-2", "INV-S1", "5000.00", "2026-02-15")
    evaluations = {e.partner_id: e for e in tiers.evaluate(program, "2026-03", actor="finance")}
    silver = evaluations["P-2"]
    assert silver.status.tier == "Silver"
    assert silver.change == "new"
    assert "certifications 4 >= 4" in silver.status.reason
    [record] = tiers.history(program, "P-2")
    assert record.effective_period == "2026-04"
    assert record.metrics["sourced_revenue"] == "5000.00"


def test_a_partner_below_threshold_keeps_its_tier_in_grace_then_drops(program: Session) -> None:
    sourced_invoice(program, "P-3", "INV-G1", "110000.00", "2026-01-15")
    first = {e.partner_id: e for e in tiers.evaluate(program, "2026-03", actor="finance")}
    assert first["P-3"].status.tier == "Gold"
    # The January 2026 invoice has left the 12-month window by the end of March 2027.
    second = {e.partner_id: e for e in tiers.evaluate(program, "2027-03", actor="finance")}
    assert second["P-3"].status.tier == "Gold"
    assert second["P-3"].change == "grace"
    assert second["P-3"].status.at_risk
    third = {e.partner_id: e for e in tiers.evaluate(program, "2027-06", actor="finance")}
    assert third["P-3"].change == "demotion"
    assert third["P-3"].status.tier == "Bronze"
    history = tiers.history(program, "P-3")
    assert [h.change for h in history] == ["new", "grace", "demotion"]
    assert "kept in grace" in history[1].reason
    assert "dropped from Gold" in history[2].reason
    assert history[2].effective_period == "2027-07"


def test_evaluating_a_period_again_updates_its_record_and_keeps_the_earlier_ones(
    program: Session,
) -> None:
    sourced_invoice(program, "P-3", "INV-R1", "110000.00", "2026-01-15")
    tiers.evaluate(program, "2026-03", actor="finance")
    tiers.evaluate(program, "2026-06", actor="finance")
    again = {e.partner_id: e for e in tiers.evaluate(program, "2026-06", actor="finance")}
    assert again["P-3"].change == "kept"  # compared with March, not with itself
    history = tiers.history(program, "P-3")
    assert [(h.evaluated_period, h.tier, h.previous_tier) for h in history] == [
        ("2026-03", "Gold", None),
        ("2026-06", "Gold", "Gold"),
    ]


def test_fulfilment_only_revenue_never_counts_toward_tiers(program: Session) -> None:
    deal(program, "D-F", "200000.00", "200000.00", close_date="2026-02-01")
    role(program, "D-F", "P-4", "fulfilment")
    ingest(
        program,
        "invoices",
        [
            {
                "id": "INV-F",
                "customer_id": "C-1",
                "deal_id": "D-F",
                "issue_date": "2026-02-01",
                "amount": "200000.00",
                "currency": "USD",
            }
        ],
        actor="billing",
    )
    evaluations = {e.partner_id: e for e in tiers.evaluate(program, "2026-03", actor="finance")}
    assert evaluations["P-4"].metrics.sourced_revenue == 0
    assert evaluations["P-4"].status.tier == "Bronze"


# Partners are read by id up to a chunk of them, and in one pass over the window
# beyond: a chunk of 1 takes the second way for more than one partner.
chunk_sizes = pytest.mark.parametrize("chunk", [repository.CHUNK, 1])


@chunk_sizes
def test_a_refund_of_an_invoice_two_partners_sourced_counts_once_for_each(
    program: Session, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(repository, "CHUNK", chunk)
    sourced_invoice(program, "P-1", "INV-C", "10000.00", "2026-02-15")
    role(program, "D-INV-C", "P-2", "sourced")
    ingest(
        program,
        "refunds",
        [
            {
                "id": "RF-C",
                "invoice_id": "INV-C",
                "refund_date": "2026-03-01",
                "amount": "4000.00",
                "currency": "USD",
            }
        ],
        actor="billing",
    )
    together = {e.partner_id: e for e in tiers.evaluate(program, "2026-03", actor="finance")}
    assert together["P-1"].metrics.sourced_revenue == Decimal("6000.00")
    assert together["P-2"].metrics.sourced_revenue == Decimal("6000.00")
    [alone] = tiers.metrics_for(
        program, {"P-2"}, date(2026, 3, 31), 12, "USD", fx.table(program)
    ).values()
    assert alone.sourced_revenue == Decimal("6000.00")


@chunk_sizes
def test_a_partner_s_metrics_read_alone_are_those_read_with_everyone(
    program: Session, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(repository, "CHUNK", chunk)
    for n in range(1, 5):
        sourced_invoice(program, f"P-{n}", f"INV-M{n}", f"{n}000.00", f"2026-0{n}-10")
        certifications(program, f"P-{n}", n)
    everyone = {f"P-{n}" for n in range(1, 5)}
    as_of, rates = date(2026, 3, 31), fx.table(program)
    together = tiers.metrics_for(program, everyone, as_of, 12, "USD", rates)
    assert together["P-3"].sourced_revenue == Decimal("3000.00")
    assert together["P-4"].sourced_revenue == 0  # invoiced in April, after the window
    for partner_id in everyone:
        assert tiers.metrics_for(program, {partner_id}, as_of, 12, "USD", rates) == {
            partner_id: together[partner_id]
        }
