"""Invalid plans: every kind of error names its path, and all errors are listed at once."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import yaml

from plans import PlanInvalid, parse_plan
from plans.errors import PlanError

BASE = """
plan_id: demo
version: 1
name: Demo
effective_from: 2026-01-01
currency: USD
components:
  - kind: referral_fee
    id: share
    rate: 10%
"""


def errors_of(source: str | dict[str, Any]) -> list[PlanError]:
    with pytest.raises(PlanInvalid) as invalid:
        parse_plan(source)
    assert invalid.value.code == "plan-invalid"
    return invalid.value.errors


def with_component(component: str) -> str:
    return BASE.split("components:")[0] + "components:\n" + component


def test_a_valid_document_loads_with_exact_decimals() -> None:
    plan = parse_plan(BASE.replace("10%", "0.1"))
    assert plan.components[0].rate == Decimal("0.1")  # type: ignore[union-attr]


def test_a_rate_above_100_percent_is_rejected_at_its_path() -> None:
    assert errors_of(BASE.replace("10%", "150%")) == [
        PlanError("components[0].rate", "rate must be between 0% and 100%, got 150%")
    ]


def test_a_negative_rate_is_rejected() -> None:
    [error] = errors_of(BASE.replace("10%", "-1%"))
    assert error.path == "components[0].rate"
    assert "between 0% and 100%" in error.message


def test_a_rate_that_is_not_a_number_is_rejected() -> None:
    [error] = errors_of(BASE.replace("10%", "ten"))
    assert error == PlanError("components[0].rate", "rate 'ten' is not a number")


def test_an_unknown_component_kind_is_rejected() -> None:
    [error] = errors_of(BASE.replace("referral_fee", "teleport_fee"))
    assert error.path == "components[0].kind"
    assert error.message.startswith("unknown component kind 'teleport_fee'; expected one of:")


def test_a_missing_field_is_rejected() -> None:
    assert errors_of(BASE.replace("name: Demo\n", "")) == [
        PlanError("name", "required field is missing")
    ]


def test_a_misspelt_field_is_rejected() -> None:
    assert errors_of(BASE.replace("rate: 10%", "rate: 10%\n    durration: lifetime")) == [
        PlanError("components[0].durration", "unknown field (check the spelling)")
    ]


def test_effective_to_before_effective_from_is_rejected() -> None:
    assert errors_of(BASE + "effective_to: 2025-12-31\n") == [
        PlanError("effective_to", "effective_to 2025-12-31 must be after effective_from 2026-01-01")
    ]


def test_a_non_iso_currency_is_rejected() -> None:
    assert errors_of(BASE.replace("USD", "XYZ")) == [
        PlanError("currency", "'XYZ' is not an ISO 4217 currency code")
    ]


@pytest.mark.parametrize("currency", ["XAU", "XTS", "XDR", "USN", "CLF"])
def test_a_plan_in_a_currency_money_is_not_paid_in_is_rejected(currency: str) -> None:
    [error] = errors_of(BASE.replace("USD", currency))
    assert error.path == "currency"
    assert error.message.startswith(f"{currency!r} is not a currency money is paid in")


def test_duplicate_component_ids_are_rejected() -> None:
    doc = BASE + "  - kind: referral_fee\n    id: share\n    fixed_amount: 50\n"
    assert errors_of(doc) == [
        PlanError("components[1].id", "component id 'share' is used more than once")
    ]


def test_unordered_tiers_are_rejected() -> None:
    doc = with_component(
        """  - kind: tier_rate
    id: tiers
    tiers:
      - {name: Bronze, rate: 3%}
      - {name: Gold, rate: 8%, requirements: [{metric: certifications, at_least: 6}]}
      - {name: Silver, rate: 5%, requirements: [{metric: certifications, at_least: 4}]}
"""
    )
    assert errors_of(doc) == [
        PlanError(
            "components[0].tiers[2].rate",
            "tiers are listed lowest first with rising rates: Silver 5% is not above Gold 8%",
        ),
        PlanError(
            "components[0].tiers[2].requirements[0].at_least",
            "Silver needs certifications 4, less than Gold's 6: "
            "thresholds must not fall as tiers rise",
        ),
    ]


def test_overlapping_tiers_are_rejected() -> None:
    doc = with_component(
        """  - kind: tier_rate
    id: tiers
    tiers:
      - {name: Bronze, rate: 3%}
      - {name: Silver, rate: 5%}
"""
    )
    [error] = errors_of(doc)
    assert error.path == "components[0].tiers[1].requirements"
    assert "only the first (entry) tier may have no requirements" in error.message


def test_overlapping_rebate_brackets_are_rejected() -> None:
    doc = with_component(
        """  - kind: volume_rebate
    id: rebate
    brackets:
      - {from_amount: 0, rate: 0%}
      - {from_amount: 50000, rate: 2%}
      - {from_amount: 50000, rate: 3%}
"""
    )
    assert errors_of(doc) == [
        PlanError(
            "components[0].brackets[2].from_amount",
            "50,000 is not above 50,000: brackets are listed lowest first and must not overlap",
        )
    ]


def test_a_referral_fee_needs_exactly_one_of_rate_or_fixed_amount() -> None:
    [error] = errors_of(BASE.replace("rate: 10%", "rate: 10%\n    fixed_amount: 50"))
    assert error == PlanError("components[0].rate", "give exactly one of rate or fixed_amount")


def test_duplicate_yaml_keys_are_rejected_with_their_line() -> None:
    [error] = errors_of(BASE.replace("name: Demo", "name: Demo\nname: Other"))
    assert error == PlanError("line 5", "duplicate key 'name': each key may appear once")


def test_broken_yaml_is_rejected_with_its_position() -> None:
    [error] = errors_of("plan_id: [unclosed\n")
    assert error.message.startswith("not valid YAML")
    assert error.path.startswith("line ")


def test_binary_floats_are_refused_when_a_mapping_is_given() -> None:
    document = yaml.safe_load(BASE)
    document["components"][0]["rate"] = 0.1
    [error] = errors_of(document)
    assert error.path == "components[0].rate"
    assert "not a binary float" in error.message


def test_a_document_with_several_errors_reports_all_of_them() -> None:
    doc = """
plan_id: Bad Plan
version: 0
name: Broken
effective_from: 2026-02-01
effective_to: 2026-01-01
currency: usd
rounding: bankers
components:
  - kind: tier_rate
    id: tiers
    tiers:
      - {name: Bronze, rate: 3%}
      - {name: Gold, rate: 150%, requirements: [{metric: certifications, at_least: 6}]}
  - kind: teleport
    id: x
  - kind: referral_fee
    id: tiers
    duration: first_n_months
    rate: 10%
"""
    paths = [error.path for error in errors_of(doc)]
    assert paths == [
        "plan_id",
        "version",
        "currency",
        "rounding",
        "components[0].tiers[1].rate",
        "components[1].kind",
        "components[2].months",
        "components[2].id",
        "effective_to",
    ]


def test_the_content_hash_ignores_how_a_rate_is_written() -> None:
    assert (
        parse_plan(BASE).content_hash() == parse_plan(BASE.replace("10%", "0.100")).content_hash()
    )
    assert parse_plan(BASE).content_hash() != parse_plan(BASE.replace("10%", "11%")).content_hash()


def test_the_content_hash_without_version_tells_an_unchanged_document() -> None:
    v1 = parse_plan(BASE)
    v2 = parse_plan(BASE.replace("version: 1", "version: 2"))
    assert v1.content_hash() != v2.content_hash()
    assert v1.content_hash(include_version=False) == v2.content_hash(include_version=False)


def test_plan_versions_are_immutable() -> None:
    plan = parse_plan(BASE)
    with pytest.raises(ValueError, match="frozen"):
        plan.name = "changed"  # type: ignore[misc]


def test_a_plan_without_components_is_rejected() -> None:
    assert errors_of(BASE.split("components:")[0] + "components: []\n") == [
        PlanError("components", "a plan needs at least one component")
    ]
