"""Canonical JSON and the content hash: stable, exact, and re-verifiable."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from statements import canonical
from statements.canonical import (
    ContentHashMismatch,
    canonical_json,
    content_hash,
    from_canonical,
    seal,
    to_document,
    verify,
)
from statements.model import Statement, StatementInvalid
from tests.statements.factories import synthetic_lines, synthetic_statement


@pytest.fixture(scope="module")
def sample() -> Statement:
    return synthetic_statement(40, seed=7)


def test_canonical_json_round_trips_to_an_equal_statement(sample: Statement) -> None:
    sealed = seal(sample)
    again = from_canonical(canonical_json(sealed))
    assert again == sealed
    assert canonical_json(again) == canonical_json(sealed)


def test_a_sealed_statement_verifies(sample: Statement) -> None:
    assert not verify(sample)
    assert verify(seal(sample))


def test_the_hash_is_the_same_whatever_order_the_lines_are_given_in() -> None:
    lines = synthetic_lines(40, seed=7)
    forward = synthetic_statement(line_list=lines)
    backward = synthetic_statement(line_list=list(reversed(lines)))
    assert content_hash(forward) == content_hash(backward)


def test_the_hash_ignores_the_content_hash_field(sample: Statement) -> None:
    assert content_hash(seal(sample)) == content_hash(sample)


def test_canonical_json_is_compact_sorted_and_utf8(sample: Statement) -> None:
    text = canonical_json(sample)
    document = json.loads(text)
    assert text == json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert "Société Générale Ünïcode 株式会社" in text


def test_amounts_are_strings_at_their_minor_unit_precision(sample: Statement) -> None:
    document = json.loads(canonical_json(sample))
    assert document["opening_balance"] == "1250.00"
    assert all(isinstance(x["amount"], str) for x in document["lines"])
    assert all(len(x["amount"].split(".")[1]) == 2 for x in document["lines"])
    assert document["issued_on"] == "2026-03-31"


def test_a_line_amount_changed_in_the_json_is_refused_because_totals_no_longer_add_up(
    sample: Statement,
) -> None:
    document = json.loads(canonical_json(sample))
    document["lines"][0]["amount"] = "999999.99"
    with pytest.raises(StatementInvalid, match=r"earnings_total|margin_earned_total|subtotals"):
        from_canonical(json.dumps(document))


def test_content_changed_under_a_stated_hash_is_a_hash_mismatch(sample: Statement) -> None:
    document = json.loads(canonical_json(seal(sample)))
    document["partner_name"] = "Someone Else"
    with pytest.raises(ContentHashMismatch):
        from_canonical(json.dumps(document))


def test_a_float_in_the_json_is_refused(sample: Statement) -> None:
    text = canonical_json(sample).replace('"opening_balance":"1250.00"', '"opening_balance":1250.0')
    with pytest.raises(StatementInvalid, match="float"):
        from_canonical(text)


def test_the_canonical_json_never_contains_a_float(sample: Statement) -> None:
    def refuse(text: str) -> None:
        raise AssertionError(text)

    json.loads(canonical_json(sample), parse_float=refuse)


def test_a_negative_zero_is_written_as_zero(sample: Statement) -> None:
    from decimal import Decimal

    first = replace(sample.lines[0], base_amount=Decimal("-0.00"))
    s = replace(sample, lines=(first, *sample.lines[1:]))
    assert '"base_amount":"-0.00"' not in canonical_json(s)


def test_a_float_anywhere_in_the_document_is_refused_naming_where(sample: Statement) -> None:
    document = to_document(sample, include_hash=False)
    lines = document["lines"]
    assert isinstance(lines, list)
    assert isinstance(lines[0], dict)
    lines[0]["amount"] = 1.5  # type: ignore[assignment]
    with pytest.raises(TypeError, match=r"float at \$\.lines\[0\]\.amount"):
        canonical._dumps(document)
