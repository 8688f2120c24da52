"""One vocabulary of line kinds, from the calculation to the statement."""

from __future__ import annotations

from plans.line_kinds import ENTRY_KINDS, PAYOUT_REVERSAL, LineKind, shown_as


def test_every_stored_entry_kind_reads_as_a_statement_kind() -> None:
    assert [shown_as(k) for k in ENTRY_KINDS] == [
        LineKind.earning,
        LineKind.clawback,
        LineKind.adjustment,
        LineKind.payout,
        LineKind.adjustment,
    ]


def test_a_reversed_payout_moves_the_payable_balance_as_an_adjustment() -> None:
    assert shown_as(PAYOUT_REVERSAL) is LineKind.adjustment
    assert shown_as(PAYOUT_REVERSAL).payable


def test_margin_is_never_posted_to_the_ledger() -> None:
    assert LineKind.margin not in ENTRY_KINDS
    assert not LineKind.margin.payable
    assert not LineKind.payout.payable
