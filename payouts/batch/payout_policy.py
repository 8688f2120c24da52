"""Who is paid at close and who is held, and why.

A partner with a non-zero balance in a currency is paid the whole balance, unless a
rule below holds it; the rules are asked in this order and the first that applies
names the hold (its `code` is stored on the hold, its `reason` shown to finance):

1. `NEGATIVE_BALANCE`: the partner owes money back (clawbacks exceeded earnings); the
   balance is carried forward into the next month, never paid out.
2. `PARTNER_ON_HOLD`: finance put the partner on hold (`payouts.partner_holds`, a
   record no amendment of the partner changes), or the partner's own status is
   `on_hold`.
3. `PARTNER_TERMINATED`: the partner is terminated and none of its plans pays
   terminated partners (`pay_terminated`).
4. `TAX_FORM`: the tax form the partner's profile requires (W-9, W-8BEN, W-8BEN-E) is
   missing or expired on the month's last day (`payouts.tax.profiles`); the first close
   after a valid form arrives pays the balance.
5. `below_minimum`: the balance is below the largest minimum payout of the plans the
   partner is on at month end, converted into the balance's currency at the month-end
   FX rate; the balance waits until it reaches the minimum.

A minimum in another currency with no FX rate to compare it cannot be decided: that
is `MinimumNotComparable`, an error that stops the close (nothing is half-paid).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from payouts import plan_book
from payouts.batch.errors import MinimumNotComparable
from payouts.periods import Month
from payouts.tax.profiles import TAX_FORM_HOLD, TAX_FORM_REASON
from plans.errors import MissingFxRate
from plans.facts import FxTable
from plans.money import Rounding, minor_exponent, round_money


@dataclass(frozen=True, slots=True)
class Minimum:
    """The minimum payout that applies to a partner, from its plans at month end."""

    amount: Decimal
    currency: str
    pay_terminated: bool


@dataclass(frozen=True, slots=True)
class Hold:
    """Why a balance is not paid this month: a stable `code` and a readable `reason`."""

    code: str
    reason: str


NEGATIVE_BALANCE = Hold("negative_balance", "negative balance carried forward")
PARTNER_ON_HOLD = Hold("partner_on_hold", "partner on hold")
PARTNER_TERMINATED = Hold(
    "partner_terminated", "partner terminated; the plan does not pay terminated partners"
)
TAX_FORM = Hold(TAX_FORM_HOLD, TAX_FORM_REASON)


def below_minimum(minimum: Decimal, currency: str) -> Hold:
    """Below the minimum payout, shown rounded half-up in the balance's currency."""
    shown = round_money(minimum, currency, Rounding.half_up)
    return Hold("below_minimum", f"below the minimum payout {shown:f} {currency}")


def minimums(session: Session, period: str, partner_ids: set[str]) -> dict[str, Minimum]:
    """Per partner: the largest minimum payout of the plans in force on it at month end
    (and whether that plan pays terminated partners)."""
    month = Month.parse(period)
    assignments = plan_book.assignments(session, month.end, month.end)
    timeline = plan_book.PlanTimeline.load(session, {a.plan_id for a in assignments})
    out: dict[str, Minimum] = {}
    for a in assignments:
        if a.partner_id not in partner_ids:
            continue
        plan = timeline.in_force(a.plan_id, month.end)
        if plan is None:
            continue
        current = out.get(a.partner_id)
        if current is None or plan.minimum_payout > current.amount:
            out[a.partner_id] = Minimum(plan.minimum_payout, plan.currency, plan.pay_terminated)
    return out


def hold_of(
    *,
    balance_minor: int,
    currency: str,
    partner_status: str,
    tax_form_missing: bool,
    finance_hold: bool,
    minimum: Minimum | None,
    rates: FxTable,
    month: Month,
) -> Hold | None:
    """The hold that stops this balance being paid, or None: pay it."""
    if balance_minor < 0:
        return NEGATIVE_BALANCE
    minimum = minimum or Minimum(Decimal(0), currency, False)
    if finance_hold or partner_status == "on_hold":
        return PARTNER_ON_HOLD
    if partner_status == "terminated" and not minimum.pay_terminated:
        return PARTNER_TERMINATED
    if tax_form_missing:
        return TAX_FORM
    threshold = minimum.amount
    if threshold and minimum.currency != currency:
        try:
            threshold = threshold * rates(minimum.currency, currency, month.end).rate
        except MissingFxRate as exc:
            raise MinimumNotComparable(f"cannot compare the minimum payout: {exc}") from None
    if Decimal(balance_minor) < to_minor_exact(threshold, currency):
        return below_minimum(threshold, currency)
    return None


def to_minor_exact(amount: Decimal, currency: str) -> Decimal:
    """A threshold in minor units (may keep fractions: compared, never stored)."""
    return amount.scaleb(minor_exponent(currency))
