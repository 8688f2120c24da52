from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from plans import MarginBelowProtected, quote
from plans.errors import InvalidAmount, NotResold, PlanHasNoDiscount
from plans.facts import RegistrationStatus, Role
from tests.plans.builders import deal, example, registration


def test_an_expired_registration_falls_back_to_standard_resale_and_says_why() -> None:
    expired = deal(list_amount="100.00", registration=registration(expires_at=date(2026, 1, 5)))
    result = quote(example("tiered_reseller"), expired, "P-1")
    assert result.rule == "standard_resale"
    assert result.buy_price == Decimal("75.00")
    assert result.explanation[0] == (
        "deal registration REG-1 expired 2026-01-05, before close 2026-01-10"
    )


def test_a_pending_or_foreign_registration_gives_no_registration_discount() -> None:
    pending = deal(registration=registration(status=RegistrationStatus.pending))
    foreign = deal(registration=registration(partner_id="P-2"))
    for candidate in (pending, foreign):
        assert quote(example("tiered_reseller"), candidate, "P-1").rule == "standard_resale"


def test_a_requested_price_within_the_protected_margin_is_accepted() -> None:
    registered = deal(list_amount="100.00", registration=registration())
    result = quote(example("tiered_reseller"), registered, "P-1", requested_price=Decimal("70.00"))
    assert (result.buy_price, result.margin, result.exception_approved) == (
        Decimal("70.00"),
        Decimal("30.00"),
        False,
    )
    assert result.rule_discount == Decimal("0.40")


def test_without_a_protected_margin_the_rule_discount_is_protected() -> None:
    resold = deal(list_amount="100.00")
    with pytest.raises(MarginBelowProtected, match="refused"):
        quote(example("independent_reseller"), resold, "P-1", requested_price=Decimal("80.01"))


def test_a_partner_only_referring_the_deal_has_no_buy_price() -> None:
    with pytest.raises(NotResold):
        quote(example("tiered_reseller"), deal(roles=[Role.referral]), "P-1")


def test_a_plan_without_a_deal_discount_cannot_quote() -> None:
    with pytest.raises(PlanHasNoDiscount):
        quote(example("referral"), deal(), "P-1")


def test_mssp_partners_get_the_same_fixed_discount_on_every_deal() -> None:
    for roles in ([Role.sourced], [Role.resale], [Role.fulfilment]):
        result = quote(example("mssp"), deal(roles=roles, list_amount="100.00"), "P-1")
        assert result.buy_price == Decimal("70.00")


def test_a_requested_price_finer_than_a_cent_is_refused_not_rounded() -> None:
    with pytest.raises(InvalidAmount):
        quote(example("tiered_reseller"), deal(), "P-1", requested_price=Decimal("70.001"))
