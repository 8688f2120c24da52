"""The pure calculation: a plan version plus one partner's period facts -> explained earnings.

Deterministic: lines are sorted by a total key (fact date, source fact,
component, line kind, invoice), so the same facts in any order give the same
lines, cent for cent. Each line is rounded once, after FX conversion, by the
plan's rounding rule. No clock, no database, no I/O.

``calculate`` does not choose the plan version: payouts passes the version in
effect for the partner and period, and applies ``minimum_payout`` and
``pay_terminated`` when it books and pays the lines.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any

from plans.clawbacks import clawbacks
from plans.components import (
    DealDiscount,
    IndependenceRate,
    InfluenceBonus,
    ReferralFee,
    RepCreditRule,
    Spiff,
    TierRate,
    VolumeRebate,
    deal_discount,
    independence_rate,
    influence_bonus,
    referral_fee,
    rep_credit,
    spiff,
    tier_rate,
    volume_rebate,
)
from plans.earnings import Earning
from plans.facts import PartnerFacts
from plans.line_kinds import LineKind
from plans.model import PlanVersion
from plans.period import Period

Earner = Callable[[Any, Period], list[Earning]]

_EARNERS: dict[type, Earner] = {
    TierRate: tier_rate.earn,
    IndependenceRate: independence_rate.earn,
    DealDiscount: deal_discount.earn,
    ReferralFee: referral_fee.earn,
    VolumeRebate: volume_rebate.earn,
    Spiff: spiff.earn,
    InfluenceBonus: influence_bonus.earn,
    RepCreditRule: rep_credit.earn,
}


# The total order of lines. Only clawbacks of one cancellation share the first
# four fields, and those always carry an invoice id, so None never meets a str.
_sort_key = attrgetter("fact_date", "source_fact", "component_id", "line_kind", "invoice_id")


def calculate(plan: PlanVersion, facts: PartnerFacts) -> list[Earning]:
    """Every line the plan produces for the partner's period, in a deterministic order."""
    period = Period(plan, facts)
    lines: list[Earning] = []
    for component in plan.components:
        lines.extend(_EARNERS[type(component)](component, period))
    lines.extend(clawbacks(plan, period))
    lines.sort(key=_sort_key)
    return lines


def recalculate_clawbacks(
    plan: PlanVersion, facts: PartnerFacts, lines: list[Earning]
) -> list[Earning]:
    """``calculate(plan, facts)``, given ``lines`` it returned for the same facts but
    other ``paid_earnings``: only clawbacks read paid earnings, so the components'
    lines are kept and only the clawbacks are calculated again. (A batch recalculates
    partners whose refund hits an invoice paid in the same run: half of all lines.)

    Component lines left out of ``lines`` stay out; every clawback is returned."""
    period = Period(plan, facts)
    kept = [line for line in lines if line.line_kind is not LineKind.clawback]
    kept.extend(clawbacks(plan, period))
    kept.sort(key=_sort_key)
    return kept


__all__ = ["Earning", "LineKind", "calculate", "recalculate_clawbacks"]
