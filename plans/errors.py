"""Domain errors of the plan language.

Each error carries a stable ``code``; the API maps it once to an RFC 9457
problem type. Messages are written for the person who has to fix the input.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


class PlansError(Exception):
    """Base of every error raised by ``plans``."""

    code: str = "plans-error"


@dataclass(frozen=True, slots=True)
class PlanError:
    """One problem in a plan document, at a readable path like ``components[2].tiers[1].rate``."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class PlanInvalid(PlansError):
    """A plan document has one or more problems; all of them are listed, not only the first."""

    code = "plan-invalid"

    def __init__(self, errors: list[PlanError]) -> None:
        self.errors = errors
        lines = "\n".join(f"  - {error}" for error in errors)
        super().__init__(f"plan is invalid ({len(errors)} error(s)):\n{lines}")


class InvalidAmount(PlansError, ValueError):
    """An unacceptable amount or rate: a binary float, not at minor precision, not a number."""

    code = "invalid-amount"


class UnknownCurrency(PlansError, ValueError):
    """A currency code that is not an ISO 4217 code."""

    code = "unknown-currency"

    def __init__(self, currency: str) -> None:
        self.currency = currency
        super().__init__(f"{currency!r} is not an ISO 4217 currency code")


class MissingFxRate(PlansError):
    """No exchange rate is known for a currency pair on a date."""

    code = "missing-fx-rate"

    def __init__(self, from_currency: str, to_currency: str, on: date) -> None:
        self.from_currency = from_currency
        self.to_currency = to_currency
        self.on = on
        super().__init__(f"no FX rate {from_currency}->{to_currency} effective on {on.isoformat()}")


class MissingFact(PlansError):
    """A fact refers to another fact that was not supplied (e.g. a refund of an unknown invoice)."""

    code = "missing-fact"


class InconsistentFacts(PlansError):
    """Facts contradict each other (e.g. a refund in another currency than its invoice)."""

    code = "inconsistent-facts"


class UnknownTier(PlansError):
    """The tier in force names no tier of the plan."""

    code = "unknown-tier"

    def __init__(self, tier: str, plan_id: str, version: int) -> None:
        self.tier = tier
        super().__init__(f"tier {tier!r} is not a tier of plan {plan_id} v{version}")


class PlanHasNoTiers(PlansError):
    """Tier status was asked of a plan without a ``tier_rate`` component."""

    code = "plan-has-no-tiers"


class NotResold(PlansError):
    """A quote was asked for a partner that neither sourced, resells nor fulfils the deal."""

    code = "partner-not-reselling"


class PlanHasNoDiscount(PlansError):
    """A quote was asked of a plan without a ``deal_discount`` component."""

    code = "plan-has-no-discount"


class PlanHasNoRepCredit(PlansError):
    """Rep credit was asked of a plan without a ``rep_credit`` component."""

    code = "plan-has-no-rep-credit"


class MarginBelowProtected(PlansError):
    """A requested price would leave the partner less than the plan's protected margin."""

    code = "margin-below-protected"

    def __init__(
        self, deal_id: str, requested_discount: Decimal, protected: Decimal, message: str
    ) -> None:
        self.deal_id = deal_id
        self.requested_discount = requested_discount
        self.protected = protected
        super().__init__(message)
