"""Pages of the canvas renderer as a reader finds them: a line table running over
several pages, a partner name too long for its column, CJK names."""

from __future__ import annotations

import io
from collections import Counter

import pypdf
import pytest
from reportlab.pdfbase.pdfmetrics import stringWidth

from statements.canonical import seal
from statements.model import LineKind, Statement
from statements.pdf import CONTENT_WIDTH, MARGIN_X, MoneyFormat, fonts, render_pdf
from tests.statements.factories import synthetic_statement
from tests.statements.test_pdf import COLUMN_HEADER, page_texts, printed_payable_lines

HEADING = "Earnings, clawbacks and adjustments"
TOTAL = "Total earnings, clawbacks and adjustments"


@pytest.fixture(scope="module")
def three_pages() -> tuple[Statement, pypdf.PdfReader]:
    statement = seal(synthetic_statement(150, seed=21))
    return statement, pypdf.PdfReader(io.BytesIO(render_pdf(statement)))


def test_a_line_table_over_three_pages_repeats_its_heading_on_each_continued_page(
    three_pages: tuple[Statement, pypdf.PdfReader],
) -> None:
    _, reader = three_pages
    pages = [page.extract_text().splitlines() for page in reader.pages]
    assert len(pages) >= 3
    for lines in pages[1:]:
        assert lines[0] == HEADING
        assert [line.strip() for line in lines[1:8]] == list(COLUMN_HEADER)


def test_every_line_amount_is_printed_exactly_once_and_the_totals_close_the_last_page(
    three_pages: tuple[Statement, pypdf.PdfReader],
) -> None:
    statement, reader = three_pages
    fmt = MoneyFormat(statement.partner_locale, statement.payout_currency)
    amounts, total = printed_payable_lines(reader, fmt)
    payable = statement.lines_of(LineKind.earning, LineKind.clawback, LineKind.adjustment)
    assert Counter(amounts) == Counter(line.amount for line in payable)
    assert total == statement.activity_total
    texts = [page.extract_text() for page in reader.pages]
    assert [TOTAL in text for text in texts] == [False] * (len(texts) - 1) + [True]
    assert "Statement totals" in texts[-1]


def test_a_very_long_partner_name_wraps_inside_its_column() -> None:
    name = "Wayne Enterprises Worldwide Holdings " * 6
    statement = seal(synthetic_statement(5, seed=4, partner_name=name.strip()))
    page = pypdf.PdfReader(io.BytesIO(render_pdf(statement))).pages[0]
    bold = fonts().bold
    column_end = MARGIN_X + CONTENT_WIDTH * 0.62
    header = [t for t in page_texts(page) if t.y > 600]  # above the summary
    name_lines = [
        t
        for t in header
        if t.x < column_end
        and t.text.strip() != "PARTNER STATEMENT"
        and not t.text.startswith("Partner ")
    ]
    assert len(name_lines) >= 3  # wrapped, not cut
    assert " ".join(t.text.strip() for t in name_lines) == name.strip()
    for line in name_lines:
        assert line.x + stringWidth(line.text.strip(), bold, 16) <= column_end + 0.01


def test_cjk_characters_of_a_name_are_set_in_the_fallback_font() -> None:
    statement = seal(synthetic_statement(3, seed=2, partner_name="東京パートナー株式会社"))
    page = pypdf.PdfReader(io.BytesIO(render_pdf(statement))).pages[0]
    assert "東京パートナー株式会社" in page.extract_text()
    used = {str(font["/BaseFont"]) for font in page["/Resources"]["/Font"].values()}
    assert any("DroidSansFallback" in name for name in used), used
