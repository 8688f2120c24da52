"""Which kind of ledger entry a calculated line becomes, decided in one place."""

from __future__ import annotations

from payouts.batch.accounting import entry_kind
from plans.line_kinds import LineKind


def test_a_line_that_is_not_payable_is_margin_whatever_its_month() -> None:
    assert entry_kind(LineKind.margin, payable=False, prior_period=None) is LineKind.margin
    assert entry_kind(LineKind.earning, payable=False, prior_period="2026-01") is LineKind.margin


def test_a_payable_line_of_a_closed_month_is_a_prior_period_adjustment() -> None:
    for kind in (LineKind.earning, LineKind.clawback):
        assert entry_kind(kind, payable=True, prior_period="2026-01") is LineKind.adjustment


def test_a_payable_line_of_the_open_month_keeps_the_calculations_kind() -> None:
    assert entry_kind(LineKind.earning, payable=True, prior_period=None) is LineKind.earning
    assert entry_kind(LineKind.clawback, payable=True, prior_period=None) is LineKind.clawback
