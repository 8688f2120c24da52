"""Benchmark: the pure calculator over many invoice facts against a mixed plan, in one process.

    .venv/bin/python bench/bench_calculator.py --invoices 1000000
    .venv/bin/python bench/bench_calculator.py --invoices 20000 --profile

Facts are built first (not timed): partners of ``--per-partner`` invoices each,
with deals in mixed roles (sourced deals earn the tier rate, resold ones the
independence rate, plus fulfilment, referral and influence deals, margin
lines for deals closed in the period, spiffs, a quarterly rebate),
5% of invoices in EUR (converted through an FX table), refunds and paid
earnings for clawbacks. Then ``calculate`` runs once per partner-period, as a
batch does, and the time, invoices/second and lines are printed.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import random
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from plans import PlanVersion, calculate, parse_plan
from plans.facts import (
    CustomerHistory,
    Deal,
    DealRole,
    FxRate,
    FxTable,
    Independence,
    InfluenceKind,
    Invoice,
    PaidEarning,
    PartnerFacts,
    PartnerMetrics,
    Refund,
    Registration,
    RegistrationStatus,
    Role,
    SpiffEvent,
    SpiffKind,
)

MIXED_PLAN = """
plan_id: bench-mixed
version: 1
name: Mixed benchmark plan
effective_from: 2026-01-01
currency: USD
components:
  - kind: tier_rate
    id: tiers
    roles: [sourced]
    tiers:
      - {name: Bronze, rate: 3%}
      - name: Silver
        rate: 5%
        combine: any
        requirements:
          - {metric: sourced_revenue, at_least: 40000}
          - {metric: certifications, at_least: 4}
      - name: Gold
        rate: 8%
        combine: any
        requirements:
          - {metric: sourced_revenue, at_least: 100000}
          - {metric: certifications, at_least: 6}
  - kind: independence_rate
    id: independence
    roles: [resale]
    rates: {vendor_led: 3%, assisted: 4%, independent: 20%}
  - kind: deal_discount
    id: buy-price
    registration_discount: 40%
    standard_discount: 25%
    fulfilment_discount: 5%
  - kind: referral_fee
    id: referral
    rate: 10%
    duration: lifetime
    cap: "5000.00"
  - kind: influence_bonus
    id: influence
    rate: 2.5%
  - kind: spiff
    id: spiffs
    pays: [{event: new_logo, amount: "500.00"}]
  - kind: volume_rebate
    id: rebate
    brackets: [{from_amount: 0, rate: 0%}, {from_amount: 50000, rate: 2%}]
"""

START, END = date(2026, 3, 1), date(2026, 3, 31)
ROLES = [Role.sourced] * 5 + [Role.resale] * 2 + [Role.fulfilment, Role.referral, Role.influence]


def build(partners: int, per_partner: int, seed: int = 7) -> list[PartnerFacts]:
    rng = random.Random(seed)
    fx = FxTable(
        [
            FxRate("EUR", "USD", date(2026, 1, 1) + timedelta(days=i), Decimal("1.0850"), "ECB")
            for i in range(0, 120, 7)
        ]
    )
    result = []
    for p in range(partners):
        pid = f"P-{p:05d}"
        deals: dict[str, Deal] = {}
        for k in range(max(1, per_partner // 10)):
            role = rng.choice(ROLES)
            did = f"{pid}-D{k}"
            reg = None
            if role is Role.sourced and rng.random() < 0.5:
                reg = Registration(
                    f"{did}-R",
                    pid,
                    RegistrationStatus.approved,
                    date(2026, 1, 1),
                    date(2026, 12, 31),
                )
            list_amount = Decimal(rng.randrange(1_000_00, 50_000_00)) / 100
            deals[did] = Deal(
                deal_id=did,
                customer_id=f"{pid}-C{k % 40}",
                list_amount=list_amount,
                net_amount=list_amount,
                currency="USD",
                close_date=START + timedelta(days=rng.randrange(0, 31)),
                independence=rng.choice(list(Independence)),
                roles=(
                    DealRole(
                        pid, role, InfluenceKind.endorsement if role is Role.influence else None
                    ),
                ),
                registration=reg,
            )
        deal_ids = list(deals)
        invoices = []
        for n in range(per_partner):
            did = rng.choice(deal_ids)
            currency = "EUR" if rng.random() < 0.05 else "USD"
            invoices.append(
                Invoice(
                    invoice_id=f"{pid}-I{n}",
                    customer_id=deals[did].customer_id,
                    issue_date=START + timedelta(days=rng.randrange(0, 31)),
                    amount=Decimal(rng.randrange(100_00, 20_000_00)) / 100,
                    currency=currency,
                    deal_id=did,
                )
            )
        refunds = tuple(
            Refund(
                f"{pid}-RF{n}",
                invoices[n].invoice_id,
                END,
                invoices[n].amount / 2,
                invoices[n].currency,
            )
            for n in range(0, min(5, per_partner))
        )
        paid = tuple(
            PaidEarning(f"invoice:{r.invoice_id}", r.invoice_id, "tiers", Decimal("10.00"), "USD")
            for r in refunds
        )
        customers = {
            f"{pid}-C{c}": CustomerHistory(f"{pid}-C{c}", date(2025, 6, 1), None, Decimal("100"))
            for c in range(40)
        }
        result.append(
            PartnerFacts(
                partner_id=pid,
                period_start=START,
                period_end=END,
                payout_currency="USD",
                metrics=PartnerMetrics(END, Decimal(rng.randrange(0, 200_000)), rng.randrange(8)),
                deals=deals,
                invoices=tuple(invoices),
                refunds=refunds,
                customers=customers,
                paid_earnings=paid,
                events=(SpiffEvent(f"{pid}-E1", pid, SpiffKind.new_logo, END, None),),
                rebate_volume=Decimal(rng.randrange(0, 150_000)),
                fx=fx,
            )
        )
    return result


def run(plan: PlanVersion, batch: list[PartnerFacts]) -> int:
    return sum(len(calculate(plan, facts)) for facts in batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=20_000)
    parser.add_argument("--per-partner", type=int, default=1_000)
    parser.add_argument("--profile", action="store_true", help="print a cProfile summary")
    parser.add_argument(
        "--no-gc-freeze",
        action="store_true",
        help="do not move the long-lived facts out of the garbage collector's reach",
    )
    args = parser.parse_args()

    plan = parse_plan(MIXED_PLAN)
    per_partner = min(args.per_partner, args.invoices)
    partners = max(1, args.invoices // per_partner)
    t0 = time.perf_counter()
    batch = build(partners, per_partner)
    built = time.perf_counter() - t0
    total = partners * per_partner
    print(f"built {total:,} invoice facts for {partners:,} partners in {built:.1f} s (not timed)")
    if not args.no_gc_freeze:
        # A batch worker loads its facts once; freezing them spares the cyclic
        # collector from rescanning a million long-lived records on every pass.
        gc.collect()
        gc.freeze()

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
    t0 = time.perf_counter()
    lines = run(plan, batch)
    elapsed = time.perf_counter() - t0
    if args.profile:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
    print(
        f"calculated {total:,} invoices -> {lines:,} lines in {elapsed:.2f} s: "
        f"{total / elapsed:,.0f} invoices/s"
    )


if __name__ == "__main__":
    main()
