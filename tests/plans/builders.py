"""Small builders for facts, so each test states only what matters to it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from plans import PlanVersion, load_plan
from plans.facts import (
    NO_FX,
    Deal,
    DealRole,
    FxLookup,
    Independence,
    InfluenceKind,
    Invoice,
    PartnerFacts,
    PartnerMetrics,
    Registration,
    RegistrationStatus,
    Role,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "plans" / "examples"
PARTNER = "P-1"
JAN_1 = date(2026, 1, 1)
JAN_31 = date(2026, 1, 31)


def example(name: str) -> PlanVersion:
    return load_plan(EXAMPLES / f"{name}.yaml")


def d(value: str | int) -> Decimal:
    return Decimal(str(value))


def deal(
    deal_id: str = "D-1",
    *,
    roles: Iterable[Role | tuple[Role, InfluenceKind]] = (Role.sourced,),
    partner_id: str = PARTNER,
    customer_id: str = "C-1",
    list_amount: str = "10000.00",
    net_amount: str | None = None,
    negotiated_amount: str | None = None,
    currency: str = "USD",
    close_date: date = date(2026, 1, 10),
    independence: Independence = Independence.vendor_led,
    registration: Registration | None = None,
    owner_rep_id: str | None = "REP-1",
) -> Deal:
    deal_roles = []
    for role in roles:
        if isinstance(role, tuple):
            deal_roles.append(DealRole(partner_id, role[0], role[1]))
        else:
            deal_roles.append(DealRole(partner_id, role))
    return Deal(
        deal_id=deal_id,
        customer_id=customer_id,
        list_amount=d(list_amount),
        net_amount=d(net_amount if net_amount is not None else list_amount),
        currency=currency,
        close_date=close_date,
        independence=independence,
        owner_rep_id=owner_rep_id,
        roles=tuple(deal_roles),
        registration=registration,
        negotiated_amount=d(negotiated_amount) if negotiated_amount is not None else None,
    )


def registration(
    *,
    partner_id: str = PARTNER,
    status: RegistrationStatus = RegistrationStatus.approved,
    approved_at: date | None = date(2026, 1, 2),
    expires_at: date | None = date(2026, 6, 30),
) -> Registration:
    return Registration("REG-1", partner_id, status, approved_at, expires_at)


def invoice(
    invoice_id: str = "INV-1",
    *,
    amount: str = "10000.00",
    deal_id: str | None = "D-1",
    customer_id: str = "C-1",
    issue_date: date = date(2026, 1, 15),
    currency: str = "USD",
    paid_date: date | None = None,
    paid_amount: str | None = None,
    subscription_id: str | None = None,
) -> Invoice:
    return Invoice(
        invoice_id=invoice_id,
        customer_id=customer_id,
        issue_date=issue_date,
        amount=d(amount),
        currency=currency,
        deal_id=deal_id,
        subscription_id=subscription_id,
        paid_date=paid_date,
        paid_amount=d(paid_amount) if paid_amount is not None else None,
    )


def metrics(
    sourced_revenue: str = "0", certifications: int = 0, campaigns: int = 0, registered: int = 0
) -> PartnerMetrics:
    return PartnerMetrics(JAN_31, d(sourced_revenue), certifications, campaigns, registered)


def facts(
    *,
    deals: Iterable[Deal] = (),
    invoices: Iterable[Invoice] = (),
    start: date = JAN_1,
    end: date = JAN_31,
    payout_currency: str = "USD",
    fx: FxLookup = NO_FX,
    **more: Any,
) -> PartnerFacts:
    return PartnerFacts(
        partner_id=PARTNER,
        period_start=start,
        period_end=end,
        payout_currency=payout_currency,
        deals={x.deal_id: x for x in deals},
        invoices=tuple(invoices),
        fx=fx,
        **more,
    )
