"""Plan components: one module per kind, each with its model and its earning function."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from plans.components.deal_discount import DealDiscount
from plans.components.independence_rate import IndependenceRate
from plans.components.influence_bonus import InfluenceBonus
from plans.components.referral_fee import ReferralFee
from plans.components.rep_credit import RepCreditRule
from plans.components.spiff import Spiff
from plans.components.tier_rate import TierRate
from plans.components.volume_rebate import VolumeRebate

Component = Annotated[
    TierRate
    | IndependenceRate
    | DealDiscount
    | ReferralFee
    | VolumeRebate
    | Spiff
    | InfluenceBonus
    | RepCreditRule,
    Field(discriminator="kind"),
]

COMPONENT_KINDS: tuple[str, ...] = (
    "tier_rate",
    "independence_rate",
    "deal_discount",
    "referral_fee",
    "volume_rebate",
    "spiff",
    "influence_bonus",
    "rep_credit",
)

__all__ = [
    "COMPONENT_KINDS",
    "Component",
    "DealDiscount",
    "IndependenceRate",
    "InfluenceBonus",
    "ReferralFee",
    "RepCreditRule",
    "Spiff",
    "TierRate",
    "VolumeRebate",
]
