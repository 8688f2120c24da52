"""The portal's words come from a gettext catalog; its figures follow the partner's locale."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo

from api.web import i18n
from api.web.i18n import Formats
from statements.pdf import MoneyFormat


def test_amounts_read_as_the_pdf_prints_them_in_the_partners_locale() -> None:
    for locale, currency in (("de_DE", "EUR"), ("en_US", "USD"), ("ja_JP", "JPY")):
        amount = Decimal("1234.50") if currency != "JPY" else Decimal("1234")
        assert Formats(locale, currency).money(amount) == MoneyFormat(locale, currency).money(
            amount
        )
    assert Formats("de_DE", "EUR").money(Decimal("1234.50")).startswith("1.234,50")
    assert Formats("de_DE", "EUR").month("2026-03") == "März 2026"
    assert Formats("fr_FR", "EUR").day(date(2026, 3, 1)) == "1 mars 2026"


def test_an_unknown_locale_reads_as_english_rather_than_failing() -> None:
    assert Formats("xx_YY", "USD").money(Decimal("5.00")) == "$5.00"


def test_a_new_catalog_translates_the_pages_without_a_code_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "de" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    catalog = Catalog(locale="de")
    catalog.add("Sign in", "Anmelden")
    with (folder / "messages.mo").open("wb") as out:
        write_mo(out, catalog)
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.translations.cache_clear()
    try:
        german = i18n.translations("de_DE").gettext("Sign in")
        english = i18n.translations("en_US").gettext("Sign in")
    finally:
        i18n.translations.cache_clear()
    assert (german, english) == ("Anmelden", "Sign in")
