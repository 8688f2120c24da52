"""The CSV export: the same lines, plain numbers, and no formula a spreadsheet would run."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from decimal import Decimal

import pytest

from statements.csv_export import COLUMNS, TOTAL_ROW_ID, render_csv, safe_cell
from tests.statements.factories import synthetic_lines, synthetic_statement


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_safe_cell_neutralises_every_formula_trigger(text: str) -> None:
    assert safe_cell(text) == "'" + text


def test_safe_cell_leaves_plain_text_and_none_alone() -> None:
    assert safe_cell("Acme Corporation") == "Acme Corporation"
    assert safe_cell(None) == ""


def test_a_hyperlink_formula_customer_is_neutralised() -> None:
    lines = synthetic_lines(5, seed=1)
    evil = '=HYPERLINK("http://evil.example","click")'
    lines[0] = replace(lines[0], customer=evil)
    body = rows(render_csv(synthetic_statement(line_list=lines)))
    assert "'" + evil in [row["customer"] for row in body]
    assert evil not in [row["customer"] for row in body]


def test_one_row_per_line_in_statement_order_and_the_totals_row_last() -> None:
    statement = synthetic_statement(30, seed=2)
    body = rows(render_csv(statement))
    assert list(body[0]) == list(COLUMNS)
    assert [row["line_id"] for row in body[:-1]] == [x.line_id for x in statement.lines]
    assert body[-1]["line_id"] == TOTAL_ROW_ID


def test_the_totals_row_is_the_sum_of_the_payable_rows() -> None:
    statement = synthetic_statement(30, seed=2)
    body = rows(render_csv(statement))
    payable = sum(
        (Decimal(row["amount"]) for row in body[:-1] if row["payable"] == "true"), Decimal(0)
    )
    assert Decimal(body[-1]["amount"]) == payable == statement.activity_total


def test_amounts_are_plain_decimal_strings_and_negative_ones_stay_numbers() -> None:
    statement = synthetic_statement(30, seed=2)
    body = rows(render_csv(statement))
    amounts = [row["amount"] for row in body]
    assert all(not a.startswith("'") for a in amounts)
    assert any(a.startswith("-") for a in amounts)
    assert [Decimal(a) for a in amounts[:-1]] == [x.amount for x in statement.lines]
