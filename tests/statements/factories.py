"""Synthetic statements for tests and the benchmark: deterministic for a given seed."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from statements.model import (
    Hold,
    LineKind,
    Statement,
    StatementLine,
    TierProgress,
    TierRequirement,
    YearToDate,
)

CUSTOMERS = (
    "Acme Corporation",
    "Globex Industries",
    "Initech GmbH",
    "Umbrella Logistics Ltd",
    "Société Générale Ünïcode",
    "Wayne Enterprises",
    "Stark Industries International Holdings",
    "Nordwind Energie AG",
    None,
)
COMPONENTS = (
    ("resale-tier-commission", "tier_commission", "reseller-2026@v2#ab12cd34"),
    ("referral-lifetime", "referral_fee", "referral-2026@v1#0f3e9a17"),
    ("volume-rebate-q1", "volume_rebate", "reseller-2026@v2#ab12cd34"),
)


def tier_progress(currency: str = "USD", *, at_risk: bool = True) -> TierProgress:
    return TierProgress(
        current_tier="Silver",
        next_tier="Gold",
        requirements=(
            TierRequirement(
                metric="sourced revenue (trailing 12 months)",
                unit=currency,
                actual=Decimal("45800.00"),
                threshold=Decimal("50000.00"),
                gap=Decimal("4200.00"),
            ),
            TierRequirement(
                metric="active certifications",
                unit="count",
                actual=Decimal(2),
                threshold=Decimal(3),
                gap=Decimal(1),
            ),
            TierRequirement(
                metric="co-marketing campaigns",
                unit="count",
                actual=Decimal(2),
                threshold=Decimal(2),
                gap=Decimal(0),
            ),
        ),
        gap_text="4,200.00 more sourced revenue or 1 more certification to reach Gold",
        at_risk=at_risk,
        at_risk_text=(
            "Sourced revenue is 8% below the Silver threshold for the next evaluation on"
            " 2026-06-30; Silver would be lost."
            if at_risk
            else None
        ),
    )


def synthetic_lines(
    count: int,
    *,
    seed: int = 0,
    period_start: date = date(2026, 3, 1),
    currency: str = "USD",
) -> list[StatementLine]:
    """``count`` lines: mostly earnings, some clawbacks, adjustments and margin lines."""
    rng = random.Random(seed)
    lines: list[StatementLine] = []
    for index in range(count):
        component, component_kind, version = COMPONENTS[index % len(COMPONENTS)]
        roll = rng.random()
        base = Decimal(rng.randint(5_000, 2_500_000)).scaleb(-2)
        rate = Decimal(rng.choice(("0.03", "0.05", "0.08", "0.10", "0.20")))
        amount = (base * rate).quantize(Decimal("0.01"))
        prior: str | None = None
        if roll < 0.08:
            kind = LineKind.clawback
            amount = -amount
            source = f"refund:RF-{index:05d}"
        elif roll < 0.13:
            kind = LineKind.adjustment
            prior = "2026-01" if rng.random() < 0.6 else None
            source = f"invoice:INV-{index:05d}"
        elif roll < 0.22:
            kind = LineKind.margin
            component, component_kind = "deal-registration-discount", "deal_registration"
            rate = Decimal("0.40")
            amount = (base * rate).quantize(Decimal("0.01"))
            source = f"deal:D-{index:05d}"
        else:
            kind = LineKind.earning
            source = f"invoice:INV-{index:05d}"
        lines.append(
            StatementLine(
                line_id=f"L{seed:03d}-{index:06d}",
                date=period_start + timedelta(days=rng.randint(0, 27)),
                source_fact=source,
                customer=rng.choice(CUSTOMERS),
                component=component,
                component_kind=component_kind,
                line_kind=kind,
                prior_period=prior,
                base_amount=base,
                base_currency=currency,
                rate=rate,
                fx_rate=None,
                amount=amount,
                payable=kind.payable,
                plan_version=version,
                explanation=(
                    f"{component}: {rate * 100:.0f}% of {base} {currency} on {source}"
                    f" = {amount} {currency}"
                ),
            )
        )
    return lines


def payout_line(
    amount: str, *, day: date = date(2026, 3, 5), currency: str = "USD"
) -> StatementLine:
    value = Decimal(amount)
    return StatementLine(
        line_id="PAYOUT-2026-02",
        date=day,
        source_fact="payout:PO-2026-02-0042",
        customer=None,
        component="payout",
        component_kind="payout",
        line_kind=LineKind.payout,
        prior_period=None,
        base_amount=value,
        base_currency=currency,
        rate=None,
        fx_rate=None,
        amount=value,
        payable=False,
        plan_version="reseller-2026@v2#ab12cd34",
        explanation="Payout of the February 2026 amount payable",
    )


def synthetic_statement(
    lines: int = 30,
    *,
    seed: int = 0,
    partner_name: str = "Société Générale Ünïcode 株式会社",
    locale: str = "en_US",
    currency: str = "USD",
    holds: tuple[Hold, ...] = (),
    with_payout: bool = True,
    opening_balance: str = "1250.00",
    line_list: list[StatementLine] | None = None,
) -> Statement:
    body = (
        line_list if line_list is not None else synthetic_lines(lines, seed=seed, currency=currency)
    )
    if with_payout:
        body = [*body, payout_line("-" + opening_balance, currency=currency)]
    return Statement.create(
        partner_id="P-000123",
        partner_name=partner_name,
        partner_type="reseller",
        partner_locale=locale,
        period="2026-03",
        period_start=date(2026, 3, 1),
        period_end=date(2026, 3, 31),
        payout_currency=currency,
        opening_balance=Decimal(opening_balance),
        lines=body,
        holds=holds,
        ytd=YearToDate(
            earnings=Decimal("18234.55"),
            clawbacks=Decimal("-512.40"),
            adjustments=Decimal("120.00"),
            paid=Decimal("9800.00"),
        ),
        tier=tier_progress(currency),
        payout_reference=None,
    )
