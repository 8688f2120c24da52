"""Explanation text shortcuts write exactly what the plain format writes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plans.period import _grouped


@given(st.decimals(allow_nan=True, allow_infinity=True, places=None))
def test_grouped_is_the_thousands_format(amount: Decimal) -> None:
    assert _grouped(amount) == f"{amount:,}"


@pytest.mark.parametrize(
    "text",
    ["0", "-0", "0E-10", "0.00", "-0.00", "1E+2", "1.2E+5", "1.5E-8", "999.99", "-999.99",
     "1000", "-100", "-99.50", "1234567.891", "0.0000001", "NaN", "-Infinity"],
)  # fmt: skip
def test_grouped_edges(text: str) -> None:
    amount = Decimal(text)
    assert _grouped(amount) == f"{amount:,}"
