"""The plan language: versioned commission plans and the pure calculator.

Nothing here touches a database, HTTP or the clock: a plan version plus facts in,
earnings with explanations out.
"""

from plans.calculator import calculate
from plans.components.deal_discount import PriceRule
from plans.components.rep_credit import CreditBasis, RepCredit, rep_credit
from plans.earnings import Earning
from plans.errors import (
    InconsistentFacts,
    MarginBelowProtected,
    MissingFact,
    MissingFxRate,
    PlanError,
    PlanInvalid,
    PlansError,
)
from plans.line_kinds import LineKind
from plans.loading import load_plan, parse_plan
from plans.model import FxDate, PlanVersion
from plans.money import Rounding
from plans.quotes import Quote, quote
from plans.tiers import TierStatus, evaluation_due, tier_status

__all__ = [
    "CreditBasis",
    "Earning",
    "FxDate",
    "InconsistentFacts",
    "LineKind",
    "MarginBelowProtected",
    "MissingFact",
    "MissingFxRate",
    "PlanError",
    "PlanInvalid",
    "PlanVersion",
    "PlansError",
    "PriceRule",
    "Quote",
    "RepCredit",
    "Rounding",
    "TierStatus",
    "calculate",
    "evaluation_due",
    "load_plan",
    "parse_plan",
    "quote",
    "rep_credit",
    "tier_status",
]
