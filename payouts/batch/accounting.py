"""How a calculated line is filed in the period: which month it belongs to, and so
which kind of ledger entry it is.

A fact dated in a month that is already closed (a late invoice, a payment of an old
invoice) is calculated under the plan in force in its own month, but a closed month
is never edited: its lines are filed in the open period as prior-period adjustments,
naming the month they belong to (`prior_period`).
"""

from __future__ import annotations

from plans.line_kinds import LineKind


def entry_kind(line_kind: LineKind, *, payable: bool, prior_period: str | None) -> LineKind:
    """The kind of entry a calculated line becomes: margin is never payable; any payable
    line of an earlier month is an adjustment; the rest keep the calculation's kind."""
    if not payable:
        return LineKind.margin
    if prior_period is not None:
        return LineKind.adjustment
    return LineKind.clawback if line_kind is LineKind.clawback else LineKind.earning
