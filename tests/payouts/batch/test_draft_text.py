"""The draft's one COPY encoder: derived from the column list, exact on every value."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from payouts.batch import draft
from payouts.batch.calculation import Line, Run
from plans.earnings import Earning
from plans.errors import InvalidAmount
from plans.line_kinds import LineKind


def _earning(**changes: Any) -> Earning:
    base = Earning(
        partner_id="P-1",
        plan_id="plan",
        plan_version=1,
        component_id="tiers",
        component_kind="tier_rate",
        line_kind=LineKind.earning,
        payable=True,
        source_fact="invoice:INV-1",
        fact_date=date(2026, 1, 15),
        customer_id="C-1",
        deal_id="D-1",
        invoice_id="INV-1",
        base_amount=Decimal("12345.67"),
        base_currency="USD",
        rate=Decimal("0.08"),
        fixed_amount=None,
        fx_rate=None,
        fx_source=None,
        currency="USD",
        unrounded=Decimal("987.6536"),
        amount=Decimal("987.65"),
        explanation=("tier Gold -> 8%", "invoice INV-1 12,345.67 USD x 8% = 987.6536 USD"),
    )
    return base._replace(**changes)


LINES = [
    _earning(),
    _earning(unrounded=Decimal("1E+2"), amount=Decimal("100.00")),
    _earning(unrounded=Decimal("1.5E-8"), amount=Decimal("0.00"), rate=Decimal("0E-3")),
    _earning(unrounded=Decimal("-0.000"), amount=Decimal("0.00"), rate=Decimal("-0")),
    _earning(rate=Decimal("0")),
    _earning(base_amount=Decimal("10.005"), rate=None, fixed_amount=Decimal("5")),
    _earning(base_amount=Decimal("-0.001"), unrounded=Decimal("-12.5"), amount=Decimal("-12.50")),
    _earning(line_kind=LineKind.clawback, rate=Decimal(1) / Decimal(3)),
    _earning(line_kind=LineKind.margin, payable=False, customer_id=None, invoice_id=None),
    _earning(
        base_currency="EUR",
        fx_rate=Decimal("1.0850"),
        fx_source="ecb",
        base_amount=Decimal("1000000.50"),
    ),
    _earning(currency="JPY", base_currency="JPY", amount=Decimal(988), unrounded=Decimal("987.6")),
    _earning(
        currency="KWD", base_currency="KWD", amount=Decimal("1.234"), unrounded=Decimal("1.2344")
    ),
    _earning(amount=Decimal("5"), unrounded=Decimal("5")),
    _earning(amount=Decimal("1.230"), base_amount=Decimal("7E+3")),
    _earning(amount=Decimal("0"), base_amount=Decimal("0")),
    # Bases equal in value, written differently, in one slice; the same base in another
    # currency (texts of bases are kept per value and currency).
    _earning(base_amount=Decimal("7000.00")),
    _earning(base_amount=Decimal("7000")),
    _earning(base_amount=Decimal("-0.00")),
    _earning(base_currency="JPY", fx_rate=Decimal("0.0067"), fx_source="ecb"),
    _earning(explanation=()),
    _earning(explanation=("only one step",)),
    # Free text COPY would misread, in every escaped column.
    _earning(component_id="a\\b", component_kind="k\tk"),
    _earning(source_fact="invoice:I\\N", invoice_id="I\\N", customer_id="C\r1", deal_id="D\n1"),
    _earning(fx_source="src\\", fx_rate=Decimal("0.9"), base_currency="EUR"),
    _earning(explanation=("a\\nb", "tab\there", "new\nline", "cr\r")),
    _earning(explanation=("one backslash \\", "and a separator")),
    _earning(explanation=("x\\", "\\y")),
]


@pytest.mark.parametrize("partner_id", ["P-1", "P\\N", "P\t2"])
@pytest.mark.parametrize(("label", "prior"), [("Plan v1", None), ("Plan\\v2", "2025-12")])
def test_a_slice_is_its_rows_encoded_column_by_column(
    partner_id: str, label: str, prior: str | None
) -> None:
    runs: list[Run] = [(label, prior, LINES), ("Other", None, LINES[:3])]
    # Two partners: what the encoder keeps from one line to the next serves both.
    text = draft.encode_slice(0, "2026-01", [(partner_id, runs), ("P-again", runs)], as_copy=False)
    rows = text.rows
    assert text.lines == len(rows) == 2 * sum(len(e) for _, _, e in runs)
    encoded = text.text.decode().split("\n")[:-1]
    assert len(encoded) == len(rows)  # newlines in values were escaped
    for row, line in zip(rows, encoded, strict=True):
        expected = [_reference(f, v) for (_, f), v in zip(draft.DRAFT_COLUMNS, row, strict=True)]
        assert line.split("\t") == expected
    lines = [Line(e, lb, p) for lb, p, earnings in runs for e in earnings]
    assert rows == [
        *draft.rows_of("2026-01", partner_id, lines),
        *draft.rows_of("2026-01", "P-again", lines),
    ]


def test_every_column_has_one_form_and_free_text_is_escaped() -> None:
    assert tuple(name for name, _ in draft.DRAFT_COLUMNS) == draft.COLUMNS
    row = draft.rows_of("2026-01", "P-1", [Line(_earning(), "Plan", None)])[0]
    for at, (name, form) in enumerate(draft.DRAFT_COLUMNS):
        if form is draft.Form.TEXT:
            tricky = (*row[:at], "a\tb\\N", *row[at + 1 :])
            line = draft.copy_text([tricky]).decode()
            assert line.split("\t")[at] == "a\\tb\\\\N", name


def _reference(form: draft.Form, value: object) -> str:
    """What COPY reads back as `value`, written out the slow, obvious way."""
    if value is None:
        return "\\N"
    if form is draft.Form.FLAG:
        return "t" if value else "f"
    if form is draft.Form.TEXT:
        assert isinstance(value, str)
        for raw, escaped in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
            value = value.replace(raw, escaped)
    return str(value)


def test_a_line_off_minor_precision_fails_as_the_reference_does() -> None:
    bad = _earning(amount=Decimal("1.234"))
    message = "1.234 USD is not at the currency's minor precision"
    with pytest.raises(InvalidAmount, match=message):
        draft.encode_slice(0, "2026-01", [("P-1", [("Plan", None, [bad])])], as_copy=True)
    with pytest.raises(InvalidAmount, match=message):
        draft.rows_of("2026-01", "P-1", [Line(bad, "Plan", None)])
