"""The accounting treatment in the plan language: validated, and it changes no amount."""

from __future__ import annotations

from typing import Any

import pytest

from plans.accounting import Treatment
from plans.errors import PlanInvalid
from plans.loading import load_plan, parse_plan
from tests.plans.builders import EXAMPLES


def _with(accounting: dict[str, Any] | None) -> dict[str, Any]:
    document = load_plan(EXAMPLES / "referral.yaml").canonical()
    for component in document["components"]:
        component.pop("accounting", None)
    if accounting is not None:
        document["components"][0]["accounting"] = accounting
    return document


@pytest.mark.parametrize(
    ("accounting", "message"),
    [
        ({"treatment": "capitalise"}, "months is required when treatment is capitalise"),
        ({"treatment": "expense", "months": 3}, "months is only allowed when treatment is"),
        (
            {"treatment": "capitalise", "months": 24, "practical_expedient": True},
            "the practical expedient allows 12 months or fewer, not 24",
        ),
        ({"treatment": "contra_revenue", "practical_expedient": True}, "applies to treatment"),
        ({"treatment": "depreciate"}, "Input should be 'expense', 'capitalise' or"),
        ({"treatment": "capitalise", "months": 0}, "greater than or equal to 1"),
        ({"treatment": "expense", "amortise": True}, "unknown field"),
    ],
)
def test_a_bad_treatment_is_refused_with_its_path(accounting: dict[str, Any], message: str) -> None:
    with pytest.raises(PlanInvalid) as caught:
        parse_plan(_with(accounting))
    errors = caught.value.errors
    assert any(e.path.startswith("components[0].accounting") for e in errors), errors
    assert any(message in e.message for e in errors), errors


def test_the_treatment_is_kept_and_the_expedient_books_as_an_expense() -> None:
    plan = parse_plan(_with({"treatment": "capitalise", "months": 12, "practical_expedient": True}))
    accounting = plan.components[0].accounting
    assert accounting is not None
    assert accounting.treatment is Treatment.capitalise
    assert accounting.booked_as is Treatment.expense
    assert parse_plan(plan.canonical()) == plan


def test_a_plan_without_treatments_is_written_as_before_so_saved_hashes_hold() -> None:
    plan = parse_plan(_with(None))
    assert "accounting" not in plan.canonical_json()
    treated = parse_plan(_with({"treatment": "capitalise", "months": 24}))
    assert '"accounting"' in treated.canonical_json()
    assert treated.content_hash() != plan.content_hash()
