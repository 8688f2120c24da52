"""Tax profiles through the command line, as finance imports them: a refused file
changes nothing and says why in one line; an amendment needs a finance key."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from payouts.db import make_engine, unit_of_work
from payouts.tax import profiles
from payouts.tax.models import TaxProfile
from tests.api.cli import key_for, payouts

PARTNERS = "id,name,type,payout_currency\nP-1,Nordwind GmbH,referral,EUR\n"
HEADER = (
    "id,tax_country,entity_type,form,signed_on,taxpayer_id,vat_id,self_billing,self_billing_from\n"
)


def test_import_refuse_and_amend_a_tax_profile(migrated_url: str, tmp_path: Path) -> None:
    finance = key_for(migrated_url, "finance")
    billing = key_for(migrated_url, "billing-system", role="billing")
    partners = tmp_path / "partners.csv"
    partners.write_text(PARTNERS, encoding="utf-8")
    assert (
        payouts(
            "facts", "import", "partners", partners, database_url=migrated_url, key=billing
        ).code
        == 0
    )

    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "P-1,DE,business,W-8BEN-E,2025-03-01,,DE136695977,true,2026-01-01\n")
    refused = payouts(
        "facts", "import", "tax_profiles", bad, database_url=migrated_url, key=billing
    )
    assert refused.code == 1
    assert "VAT id is not valid" in refused.err
    assert "Traceback" not in refused.err

    good = tmp_path / "good.csv"
    good.write_text(HEADER + "P-1,DE,business,,,,DE136695976,false,\n")
    done = payouts("facts", "import", "tax_profiles", good, database_url=migrated_url, key=billing)
    assert done.code == 0, done.err

    signed = tmp_path / "signed.csv"
    signed.write_text(HEADER + "P-1,DE,business,W-8BEN-E,2025-03-01,,DE136695976,true,2026-01-01\n")
    by_billing = payouts(
        "facts", "import", "tax_profiles", signed, "--amend", database_url=migrated_url, key=billing
    )
    assert by_billing.code == 1
    assert "finance" in by_billing.err
    by_finance = payouts(
        "facts", "import", "tax_profiles", signed, "--amend", database_url=migrated_url, key=finance
    )
    assert by_finance.code == 0, by_finance.err

    engine = make_engine(migrated_url)
    try:
        with unit_of_work(engine, read_only=True) as session:
            [profile] = session.scalars(select(TaxProfile))
            assert (profile.form, str(profile.expires_on), profile.self_billing) == (
                "W-8BEN-E",
                "2028-12-31",
                True,
            )
    finally:
        engine.dispose()


def test_finance_turns_the_tax_form_requirement_on_and_off(migrated_url: str) -> None:
    finance = key_for(migrated_url, "finance")
    billing = key_for(migrated_url, "billing-system", role="billing")
    shown = payouts("tax", "forms-required", database_url=migrated_url)
    assert (shown.code, shown.out.strip()) == (0, "tax forms required: off")

    for args, key in ((("maybe",), finance), (("on",), billing), (("on",), "")):
        refused = payouts("tax", "forms-required", *args, database_url=migrated_url, key=key)
        assert refused.code == 1
        assert len(refused.err.strip().splitlines()) == 1
        assert "Traceback" not in refused.err
    assert payouts("tax", "forms-required", database_url=migrated_url).out.strip().endswith("off")

    done = payouts("tax", "forms-required", "on", database_url=migrated_url, key=finance)
    assert (done.code, done.out.strip()) == (0, "tax forms required: on")
    shown = payouts("tax", "forms-required", "show", database_url=migrated_url)
    assert shown.out.strip() == "tax forms required: on"
    engine = make_engine(migrated_url)
    try:
        with unit_of_work(engine, read_only=True) as session:
            assert profiles.forms_required(session)
    finally:
        engine.dispose()
