"""The PDF statement, read back with pypdf: what a partner sees adds up and can be verified."""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import sys
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

import pypdf
import pytest
from babel.numbers import get_currency_symbol, parse_decimal

from statements.canonical import content_hash, seal
from statements.language import words
from statements.model import Hold, LineKind, Statement
from statements.pdf import (
    CONTENT_WIDTH,
    MARGIN_BOTTOM,
    MARGIN_X,
    PAYABLE_HEADING,
    PAYABLE_TOTAL_LABEL,
    MoneyFormat,
    money_format,
    render_pdf,
)
from tests.statements.factories import synthetic_statement

ROOT = Path(__file__).resolve().parents[2]
AMOUNT_COLUMN_X = MARGIN_X + CONTENT_WIDTH - 72  # left edge of the Amount column
COLUMN_HEADER = ("Date", "Source", "Customer", "Component", "Base", "Rate", "Amount")


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str


def page_texts(page: pypdf.PageObject) -> list[Text]:
    """Every string drawn on the page with its position, top to bottom, left to right."""
    found: list[Text] = []

    def visit(text: str, cm: list[float], tm: list[float], *_: object) -> None:
        if text.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            found.extend(Text(x, y, part) for part in text.split("\n") if part.strip())

    page.extract_text(visitor_text=visit)
    return sorted(found, key=lambda t: (-round(t.y), t.x))


def parse_money(text: str, fmt: MoneyFormat) -> Decimal:
    symbol = get_currency_symbol(fmt.currency, locale=fmt.locale)
    cleaned = text.replace(symbol, "").replace("\u00a0", "").replace("\u202f", "").strip()
    return Decimal(str(parse_decimal(cleaned, locale=fmt.locale, strict=False)))


def printed_payable_lines(
    reader: pypdf.PdfReader, fmt: MoneyFormat
) -> tuple[list[Decimal], Decimal]:
    """The amounts printed in the payable-lines table, and the total printed under it."""
    amounts: list[Decimal] = []
    total: Decimal | None = None
    in_section = False
    label = words(str(fmt.locale))  # the labels are in the partner's language
    for page in reader.pages:
        texts = page_texts(page)
        for index, item in enumerate(texts):
            if item.text == label(PAYABLE_HEADING):
                in_section = True
            elif item.text == label(PAYABLE_TOTAL_LABEL) and in_section:
                same_row = [t for t in texts[index + 1 :] if abs(t.y - item.y) < 1]
                total = parse_money(same_row[-1].text, fmt)
                in_section = False
            elif (
                in_section
                and item.x >= AMOUNT_COLUMN_X
                and item.y > MARGIN_BOTTOM
                and item.text != label("Amount")
            ):
                amounts.append(parse_money(item.text, fmt))
    assert total is not None, "no payable total printed"
    return amounts, total


def all_text(reader: pypdf.PdfReader) -> str:
    return "\n".join(page.extract_text() for page in reader.pages)


@pytest.fixture(scope="module")
def sample() -> Statement:
    return seal(synthetic_statement(60, seed=11))


@pytest.fixture(scope="module")
def sample_pdf(sample: Statement) -> bytes:
    return render_pdf(sample)


@pytest.fixture(scope="module")
def sample_text(sample_pdf: bytes) -> str:
    return all_text(pypdf.PdfReader(io.BytesIO(sample_pdf)))


@pytest.fixture(scope="module")
def long_statement() -> Statement:
    return synthetic_statement(5000, seed=5)


@pytest.fixture(scope="module")
def long_reader(long_statement: Statement) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(render_pdf(long_statement)))


@pytest.fixture(scope="module")
def long_pages(long_reader: pypdf.PdfReader) -> list[str]:
    return [page.extract_text() for page in long_reader.pages]


def test_the_pdf_names_the_partner_the_period_and_the_content_hash(
    sample: Statement, sample_text: str
) -> None:
    assert "Société Générale Ünïcode 株式会社" in sample_text
    assert "Period 2026-03" in sample_text
    assert sample.content_hash is not None
    assert sample.content_hash in sample_text


def test_every_line_amount_and_the_amount_payable_are_printed(
    sample: Statement, sample_text: str
) -> None:
    fmt = MoneyFormat(sample.partner_locale, sample.payout_currency)
    for line in sample.lines:
        assert fmt.money(line.amount) in sample_text, line
    assert f"Amount payable\n{fmt.money(sample.amount_payable)}" in sample_text


@pytest.mark.parametrize(
    ("locale", "currency"), [("en_US", "USD"), ("de_DE", "EUR"), ("fr_FR", "EUR")]
)
def test_the_printed_line_amounts_add_up_to_the_printed_total(locale: str, currency: str) -> None:
    statement = synthetic_statement(60, seed=11, locale=locale, currency=currency)
    fmt = MoneyFormat(locale, currency)
    amounts, total = printed_payable_lines(pypdf.PdfReader(io.BytesIO(render_pdf(statement))), fmt)
    payable = statement.lines_of(LineKind.earning, LineKind.clawback, LineKind.adjustment)
    assert len(amounts) == len(payable)
    assert sum(amounts, Decimal(0)) == total == statement.activity_total


def test_rendering_the_same_statement_twice_gives_the_same_hash_and_bytes(
    sample: Statement, sample_pdf: bytes
) -> None:
    again = seal(synthetic_statement(60, seed=11))
    assert again.content_hash == sample.content_hash
    assert render_pdf(again) == sample_pdf


def test_the_creation_date_is_the_issue_date_not_the_clock(sample_pdf: bytes) -> None:
    metadata = pypdf.PdfReader(io.BytesIO(sample_pdf)).metadata
    assert metadata is not None
    assert str(metadata["/CreationDate"]).startswith("D:20260331000000")


def test_another_process_renders_the_same_bytes(sample_pdf: bytes) -> None:
    script = (
        "import hashlib\n"
        "from statements.canonical import seal\n"
        "from statements.pdf import render_pdf\n"
        "from tests.statements.factories import synthetic_statement\n"
        "print(hashlib.sha256(render_pdf(seal(synthetic_statement(60, seed=11)))).hexdigest())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == hashlib.sha256(sample_pdf).hexdigest()


def test_a_statement_carrying_a_wrong_hash_is_not_rendered(sample: Statement) -> None:
    forged = replace(sample, content_hash="0" * 64)
    with pytest.raises(ValueError, match="content hash"):
        render_pdf(forged)


def test_an_unsealed_statement_prints_the_hash_of_its_content() -> None:
    statement = synthetic_statement(5, seed=3)
    text = all_text(pypdf.PdfReader(io.BytesIO(render_pdf(statement))))
    assert content_hash(statement) in text


def test_holds_are_printed_and_nothing_is_payable() -> None:
    statement = synthetic_statement(
        5, seed=3, holds=(Hold("below_minimum", "below minimum payout 50.00"),)
    )
    text = all_text(pypdf.PdfReader(io.BytesIO(render_pdf(statement))))
    assert "below minimum payout 50.00" in text
    assert "Amount payable\n$0.00" in text


def test_tier_progress_shows_the_gap_and_the_at_risk_warning(sample_text: str) -> None:
    assert "4,200.00 more sourced revenue or 1 more certification to reach Gold" in sample_text
    assert "At risk:" in sample_text
    assert "$45,800.00 / $50,000.00 · $4,200.00 to go" in sample_text


def test_prior_period_adjustments_are_marked_with_the_period_they_adjust(
    sample: Statement, sample_text: str
) -> None:
    prior = [x for x in sample.lines if x.prior_period]
    assert prior
    assert sample_text.count("for 2026-01") == len(prior)


def test_margin_earned_is_shown_apart_as_not_payable(sample: Statement, sample_text: str) -> None:
    fmt = MoneyFormat(sample.partner_locale, sample.payout_currency)
    assert "Resale margin (not payable)" in sample_text
    assert f"Margin earned\n{fmt.money(sample.margin_earned_total)}" in sample_text


def test_a_5000_line_statement_numbers_every_page_n_of_m(long_pages: list[str]) -> None:
    total = len(long_pages)
    assert total > 50
    for number, text in enumerate(long_pages, start=1):
        assert f"Page {number} of {total}" in text


def test_a_5000_line_statement_repeats_the_table_header_on_every_page_with_lines(
    long_pages: list[str],
) -> None:
    date_row = re.compile(r"^2026-03-\d\d$", re.MULTILINE)
    pages_with_lines = [text for text in long_pages if date_row.search(text)]
    assert len(pages_with_lines) >= len(long_pages) - 1  # the last may hold only the totals
    for text in pages_with_lines:
        assert "\n".join(COLUMN_HEADER) in text


def test_a_5000_line_statement_still_adds_up(
    long_statement: Statement, long_reader: pypdf.PdfReader
) -> None:
    fmt = MoneyFormat(long_statement.partner_locale, long_statement.payout_currency)
    amounts, total = printed_payable_lines(long_reader, fmt)
    assert len(amounts) == len(
        long_statement.lines_of(LineKind.earning, LineKind.clawback, LineKind.adjustment)
    )
    assert sum(amounts, Decimal(0)) == total == long_statement.activity_total


def test_the_footer_carries_the_hash_and_the_plan_versions_on_every_page(
    long_statement: Statement, long_pages: list[str]
) -> None:
    digest = content_hash(long_statement)
    for text in long_pages:
        assert digest in text
        assert "reseller-2026@v2#ab12cd34" in text


def test_one_money_format_per_language_and_currency_whose_memo_keeps_the_exponent() -> None:
    fmt = money_format("en_US", "USD")
    assert money_format("en_US", "USD") is fmt
    assert money_format("de_DE", "EUR") is not fmt
    for _ in range(2):  # the second time from the memo
        assert fmt.money(Decimal("1.00")) == "$1.00"
        assert fmt.money(Decimal("1.001")) == "$1.001"
        assert fmt.money(Decimal("1.00"), "EUR") == "€1.00"
        assert money_format("de_DE", "EUR").money(Decimal("1.00")) == "1,00\u00a0€"
