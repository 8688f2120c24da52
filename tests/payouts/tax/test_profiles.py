"""Tax profiles: imported and amended like other partner facts, the history in the audit
log; only a taxpayer id's last four characters kept; VAT ids checked; W-8 expiry."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from payouts.audit import AuditEntry
from payouts.facts.ingest import FactConflict, FactsRefused, ingest
from payouts.tax.models import TaxProfile
from payouts.tax.profiles import gap, gaps, required_form, w8_expiry

PARTNERS = [
    {"id": "P-US", "name": "Acme Resellers", "type": "reseller", "payout_currency": "USD"},
    {"id": "P-DE", "name": "Nordwind GmbH", "type": "referral", "payout_currency": "EUR"},
]


def profile(ident: str = "P-US", **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": ident,
        "tax_country": "US",
        "entity_type": "business",
        "form": "W-9",
        "signed_on": "2026-01-10",
        "taxpayer_id": "12-3456789",
    }
    row.update(fields)
    return {k: v for k, v in row.items() if v is not None}


@pytest.fixture
def partners(session: Session) -> Session:
    ingest(session, "partners", PARTNERS, actor="crm")
    return session


def test_a_profile_keeps_only_the_last_four_characters_of_the_taxpayer_id(
    partners: Session,
) -> None:
    ingest(partners, "tax_profiles", [profile()], actor="finance")
    stored = partners.get(TaxProfile, "P-US")
    assert stored is not None
    assert stored.taxpayer_id_last4 == "6789"
    everything = " ".join(str(v) for v in vars(stored).values())
    assert "3456789" not in everything
    audit_text = " ".join(
        str(entry.after) for entry in partners.scalars(select(AuditEntry)) if entry.after
    )
    assert "3456789" not in audit_text


def test_an_amendment_is_recorded_with_before_and_after(partners: Session) -> None:
    ingest(partners, "tax_profiles", [profile(form=None, signed_on=None)], actor="crm")
    with pytest.raises(FactConflict):
        ingest(partners, "tax_profiles", [profile()], actor="finance")
    result = ingest(partners, "tax_profiles", [profile()], actor="finance", amend=True)
    assert result.amended == ["P-US"]
    [entry] = [
        e
        for e in partners.scalars(select(AuditEntry).where(AuditEntry.subject_id == "P-US"))
        if e.before is not None
    ]
    assert entry.before is not None
    assert entry.after is not None
    assert entry.before["form"] is None
    assert entry.after["form"] == "W-9"
    assert entry.actor == "finance"


def test_a_vat_id_with_a_wrong_check_digit_is_refused_and_a_good_one_is_compacted(
    partners: Session,
) -> None:
    german = profile(
        "P-DE", tax_country="DE", entity_type="business", form="W-8BEN-E", taxpayer_id=None
    )
    with pytest.raises(FactsRefused, match="VAT id is not valid"):
        ingest(partners, "tax_profiles", [{**german, "vat_id": "DE136695977"}], actor="crm")
    ingest(partners, "tax_profiles", [{**german, "vat_id": "DE 136 695 976"}], actor="crm")
    stored = partners.get(TaxProfile, "P-DE")
    assert stored is not None
    assert stored.vat_id == "DE136695976"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"signed_on": None}, "signed_on is required"),
        ({"form": "W-7"}, "form"),
        ({"self_billing": "true"}, "self_billing_from is required"),
        ({"id": "P-NOBODY"}, "unknown partner"),
        ({"tax_country": "usa"}, "tax_country"),
    ],
)
def test_an_incomplete_or_wrong_profile_is_refused(
    partners: Session, fields: dict[str, Any], message: str
) -> None:
    row = profile()
    row.update(fields)
    given = {k: v for k, v in row.items() if v is not None}
    with pytest.raises(FactsRefused, match=message):
        ingest(partners, "tax_profiles", [given], actor="crm")
    assert partners.scalars(select(TaxProfile)).all() == []


def test_a_w8_stays_valid_until_the_end_of_the_third_calendar_year_after_signing(
    partners: Session,
) -> None:
    row = profile("P-DE", tax_country="DE", form="W-8BEN-E", signed_on="2023-06-15")
    ingest(partners, "tax_profiles", [row], actor="crm")
    stored = partners.get(TaxProfile, "P-DE")
    assert stored is not None
    assert stored.expires_on == date(2026, 12, 31)
    assert gap(stored, date(2026, 12, 31)) is None
    expired = gap(stored, date(2027, 1, 31))
    assert expired is not None
    assert expired.problem == "expired"


def test_a_w9_does_not_expire(partners: Session) -> None:
    ingest(partners, "tax_profiles", [profile(signed_on="2001-02-03")], actor="crm")
    stored = partners.get(TaxProfile, "P-US")
    assert stored is not None
    assert stored.expires_on is None
    assert gap(stored, date(2040, 1, 31)) is None


def test_who_waits_for_a_form_and_why(partners: Session) -> None:
    ingest(
        partners,
        "tax_profiles",
        [
            profile(form=None, signed_on=None),
            profile("P-DE", tax_country="DE", entity_type="individual", form="W-8BEN-E"),
        ],
        actor="crm",
    )
    found = gaps(partners, date(2026, 3, 31))
    assert found["P-US"].problem == "missing"
    assert found["P-US"].describe() == "no W-9 on file"
    assert found["P-DE"].problem == "wrong form"
    assert found["P-DE"].required == "W-8BEN"


def test_a_form_signed_after_the_month_does_not_cover_it(partners: Session) -> None:
    ingest(partners, "tax_profiles", [profile(signed_on="2026-04-02")], actor="crm")
    assert set(gaps(partners, date(2026, 3, 31))) == {"P-US"}
    assert gaps(partners, date(2026, 4, 30)) == {}


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31)))
def test_a_w8_expires_on_a_31_december_three_years_after_the_year_signed(signed: date) -> None:
    expiry = w8_expiry(signed)
    assert (expiry.month, expiry.day) == (12, 31)
    assert expiry.year - signed.year == 3
    assert required_form("FR", "individual") == "W-8BEN"
    assert required_form("US", "individual") == "W-9"
