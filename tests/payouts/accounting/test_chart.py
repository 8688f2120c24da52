"""The chart of accounts is validated like a plan: every problem, with its path."""

from __future__ import annotations

import pytest

from payouts.accounting.chart import ChartInvalid, load_chart, parse_chart
from plans.accounting import Treatment

VALID = load_chart()


def test_the_shipped_chart_is_valid_and_maps_kinds_before_defaults() -> None:
    assert VALID.cost_account("revenue-share", "referral_fee", Treatment.expense).code == "6420"
    assert VALID.cost_account("status-tiers", "tier_rate", Treatment.expense).code == "6410"
    rebate = VALID.cost_account("q", "volume_rebate", Treatment.contra_revenue)
    assert rebate.code == "4920"
    assert VALID.cost_account("q", "volume_rebate", Treatment.expense).code == "6410"


def test_a_component_id_mapping_wins_over_its_kind() -> None:
    document = VALID.model_dump(mode="json", by_alias=True, exclude_none=True)
    document["components"] = {"revenue-share": {"expense": {"code": "6999", "name": "Rev share"}}}
    chart = parse_chart(document)
    assert chart.cost_account("revenue-share", "referral_fee", Treatment.expense).code == "6999"
    assert chart.cost_account("signing-bounty", "referral_fee", Treatment.expense).code == "6420"


def test_every_problem_is_listed_with_its_path() -> None:
    text = """
name: broken
accounts:
  accrued_commissions_payable: {code: "2310", name: Accrued}
  partner_payables: {code: "2320"}
  bank_clearing: {code: "", name: Bank}
component_kinds:
  referal_fee:
    expense: {code: "6420", name: Referral fees}
components:
  revenue-share:
    expens: {code: "1", name: x}
"""
    with pytest.raises(ChartInvalid) as caught:
        parse_chart(text)
    message = caught.value.message
    assert "component_kinds.referal_fee: unknown component kind" in message
    assert "accounts.partner_payables.name: required field is missing" in message
    assert "accounts.bank_clearing.code:" in message
    assert "accounts.fx_differences: required field is missing" in message
    assert "components.revenue-share.expens: unknown field" in message
    assert "\n" not in message


def test_a_duplicate_key_or_bad_yaml_is_refused() -> None:
    with pytest.raises(ChartInvalid, match="duplicate key 'name'"):
        parse_chart("name: a\nname: b\n")
    with pytest.raises(ChartInvalid, match="not valid YAML"):
        parse_chart("name: [")
    with pytest.raises(ChartInvalid, match="must be a mapping"):
        parse_chart("- a\n- b\n")
