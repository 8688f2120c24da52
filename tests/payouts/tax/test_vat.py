"""The VAT rule table and VAT per line: pure rules, checked for every case and, with
Hypothesis, for any lines: each line rounded once, the document the sum of its lines."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payouts.tax.invoices import Issuer
from payouts.tax.vat import EU_MEMBER_STATES, VatLine, VatRule, line_vat, rate_for, rule_for

D = Decimal


@pytest.mark.parametrize(
    ("partner_country", "business", "rule"),
    [
        ("DE", True, VatRule.domestic),
        ("DE", False, VatRule.domestic),
        ("FR", True, VatRule.reverse_charge),
        ("GR", True, VatRule.reverse_charge),
        ("FR", False, VatRule.outside_scope),
        ("CH", True, VatRule.outside_scope),
        ("US", True, VatRule.outside_scope),
        ("GB", True, VatRule.outside_scope),
    ],
)
def test_the_rule_table(partner_country: str, business: bool, rule: VatRule) -> None:
    assert rule_for("DE", partner_country, business) is rule


def test_only_a_domestic_invoice_carries_the_rate() -> None:
    assert rate_for(VatRule.domestic, D("0.19")) == D("0.19")
    assert rate_for(VatRule.reverse_charge, D("0.19")) == 0
    assert rate_for(VatRule.outside_scope, D("0.19")) == 0


def test_a_greek_issuer_is_in_greece_though_its_vat_ids_say_el() -> None:
    issuer = Issuer("gr", "Vendor AE", "EL094259216", D("0.24"))
    assert issuer.country == "GR"
    assert issuer.country in EU_MEMBER_STATES
    assert len(EU_MEMBER_STATES) == 27


def test_vat_is_rounded_half_up_once_per_line() -> None:
    assert line_vat(1235, D("0.19"), "EUR") == 235  # 2.3465 -> 2.35
    assert line_vat(13, D("0.19"), "EUR") == 2  # 0.0247 -> 0.02
    assert line_vat(50, D("0.25"), "EUR") == 13  # 0.125 -> 0.13, not banker's 0.12
    assert line_vat(-50, D("0.25"), "EUR") == -13  # a credit mirrors its invoice
    assert line_vat(1000, D("0.10"), "JPY") == 100


@given(
    st.lists(st.integers(min_value=-(10**9), max_value=10**9), min_size=1, max_size=40),
    st.sampled_from([D("0"), D("0.05"), D("0.07"), D("0.19"), D("0.2"), D("0.255")]),
)
def test_a_documents_vat_is_the_sum_of_its_lines_rounded_once_each(
    nets: list[int], rate: Decimal
) -> None:
    lines = [VatLine(str(i), "", net, line_vat(net, rate, "EUR")) for i, net in enumerate(nets)]
    for line in lines:
        exact = D(line.net_minor) * rate
        assert line.vat_minor == int(exact.quantize(D(1), rounding=ROUND_HALF_UP))
        assert abs(D(line.vat_minor) - exact) <= D("0.5")
        assert line.gross_minor == line.net_minor + line.vat_minor
    assert sum(x.gross_minor for x in lines) == sum(nets) + sum(x.vat_minor for x in lines)
