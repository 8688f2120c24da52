"""Words and numbers in the reader's language: gettext catalogs and Babel formatting.

Every label of the pages goes through `gettext` (`_()` in the templates), so a
translation is a new catalog, not a code change. The catalogs live in
`api/web/locale/<lang>/LC_MESSAGES/messages.po`, compiled to `.mo` beside them and
shipped inside the package (no build step on a fresh machine); `messages.pot` is the
template extracted from the templates and code (`python3.11 tasks.py catalog`
extracts, updates and compiles them; a test checks they are current). English is
shipped; a locale without a catalog reads English.

Amounts, dates and numbers follow the partner's locale (its `locale` field) with
the same formatting as the PDF statement, so a figure reads the same on the page and
on paper.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.support import NullTranslations, Translations

from statements.pdf import MoneyFormat

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"
DEFAULT_LOCALE = "en_US"


@lru_cache(maxsize=32)
def translations(locale: str) -> NullTranslations:
    """The catalog for `locale` (falling back on its language, then English)."""
    return Translations.load(str(LOCALE_DIR), [locale, locale.split("_")[0], "en"], DOMAIN)


def known_locale(locale: str | None) -> str:
    try:
        return str(Locale.parse(locale or DEFAULT_LOCALE))
    except (UnknownLocaleError, ValueError, TypeError):
        return DEFAULT_LOCALE


class Formats:
    """Every figure of a page, in one locale; amounts exactly as the PDF prints them."""

    def __init__(self, locale: str, currency: str) -> None:
        self.locale = known_locale(locale)
        self.money_format = MoneyFormat(self.locale, currency)

    def money(self, amount: Decimal, currency: str | None = None) -> str:
        return self.money_format.money(amount, currency)

    def rate(self, rate: Decimal | None) -> str:
        return self.money_format.rate(rate)

    def number(self, value: Decimal | int) -> str:
        return self.money_format.number(Decimal(value))

    def day(self, value: date) -> str:
        return format_date(value, format="medium", locale=self.locale)

    def moment(self, value: datetime) -> str:
        return format_datetime(value, format="medium", locale=self.locale)

    def month(self, period: str) -> str:
        year, month = period.split("-")
        return format_date(date(int(year), int(month), 1), format="MMMM y", locale=self.locale)

    def short_month(self, period: str) -> str:
        year, month = period.split("-")
        return format_date(date(int(year), int(month), 1), format="MMM yy", locale=self.locale)
