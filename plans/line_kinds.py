"""The kinds of line, one vocabulary from the calculation to the statement.

A calculation makes earnings, clawbacks and margin lines; the batch files a line
dated in a closed month as an adjustment (a prior-period adjustment); a close adds
payouts. The ledger stores these as `entry_kind` and a statement shows the same words,
so a line keeps its name from the plan that made it to the PDF.

One stored kind is not shown under its own name: a payout that the bank returned is
reversed by a `payout_reversal` entry, which gives the money back to the balance and
is shown on the statement as an adjustment.
"""

from __future__ import annotations

import enum


class LineKind(enum.StrEnum):
    """What a line does to the partner's balance."""

    earning = "earning"
    """Money owed to the partner."""
    clawback = "clawback"
    """A negative line reversing earlier pay (refund or cancellation inside the window)."""
    adjustment = "adjustment"
    """A line for a fact dated in a closed month, filed in the open one (or a reversal)."""
    margin = "margin"
    """Margin earned through a discount: shown on the statement, never payable."""
    payout = "payout"
    """Money paid out: settles the balance."""

    @property
    def payable(self) -> bool:
        """Earnings, clawbacks and adjustments move the payable balance; margin does not,
        and payouts settle it (they are summed apart as ``payouts_total``)."""
        return self in _PAYABLE_KINDS


_PAYABLE_KINDS = frozenset({LineKind.earning, LineKind.clawback, LineKind.adjustment})

PAYOUT_REVERSAL = "payout_reversal"
"""The stored kind of the entry that reverses a returned payout."""

ENTRY_KINDS: tuple[str, ...] = (
    LineKind.earning.value,
    LineKind.clawback.value,
    LineKind.adjustment.value,
    LineKind.payout.value,
    PAYOUT_REVERSAL,
)
"""The kinds a ledger entry may have (margin lines are kept apart, never posted)."""


def shown_as(entry_kind: str) -> LineKind:
    """How a stored ledger entry's kind reads on a statement."""
    return LineKind.adjustment if entry_kind == PAYOUT_REVERSAL else LineKind(entry_kind)
