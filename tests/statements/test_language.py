"""Statements in the partner's language: German, French and Spanish PDFs and CSVs carry
no English label; names in Japanese print in an embedded font."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal

import pypdf
import pytest
from babel.messages.pofile import read_po

from payouts.adjustments import explanation
from statements.canonical import content_hash, seal
from statements.csv_export import COLUMNS, render_csv
from statements.language import DOMAIN, LOCALE_DIR, explanation_step, hold_reason, words
from statements.model import Hold, LineKind, Statement, StatementLine
from statements.pdf import render_pdf
from tests.statements.factories import synthetic_lines, synthetic_statement

PLACEHOLDER = re.compile(r"%\([a-z_]+\)s")
TRANSLATED = ("de_DE", "fr_FR", "es_ES")


def english_labels() -> list[str]:
    """Every piece of English wording of the statement catalog: each message's text
    between its placeholders, when it holds a word of three letters or more."""
    pot = read_po((LOCALE_DIR / f"{DOMAIN}.pot").open("rb"))
    pieces: set[str] = set()
    for message in pot:
        if not message.id:
            continue
        for piece in PLACEHOLDER.split(str(message.id)):
            piece = piece.strip(" ·:;()+→×,.")
            if re.search(r"[A-Za-z]{3}", piece):
                pieces.add(piece)
    return sorted(pieces)


def found(label: str, text: str) -> bool:
    """`label` as whole words in `text` (so "Rate" is not found in "Separate")."""
    pattern = r"(?<![\w])" + re.escape(label).replace(r"\ ", r"\s+") + r"(?![\w])"
    return re.search(pattern, text) is not None


def pdf_text(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def statement(locale: str, name: str = "Nordwind Vertrieb GmbH") -> Statement:
    # Every section a statement can have: lines of every kind, a hold, a payout.
    return seal(
        synthetic_statement(
            60,
            seed=11,
            locale=locale,
            partner_name=name,
            holds=(Hold("below_minimum", "below the minimum payout 50.00 USD"),),
            opening_balance="10.00",
        )
    )


@pytest.fixture(scope="module")
def english_text() -> str:
    return pdf_text(render_pdf(statement("en_US")))


def test_every_label_is_translated_in_every_shipped_language() -> None:
    for language in ("de", "fr", "es"):
        po = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
        catalog = read_po(po.open("rb"), locale=language)
        untranslated = [m.id for m in catalog if m.id and (not m.string or m.string == m.id)]
        assert untranslated == [], language


def test_the_english_statement_prints_the_english_labels(english_text: str) -> None:
    # The check below means something only if English labels are there to be missed.
    printed = [label for label in english_labels() if found(label, english_text)]
    assert len(printed) >= 30
    assert "Amount payable" in printed
    assert "PARTNER STATEMENT" in printed


@pytest.mark.parametrize("locale", TRANSLATED)
def test_a_statement_in_another_language_has_no_english_label(
    locale: str, english_text: str
) -> None:
    text = pdf_text(render_pdf(statement(locale)))
    english = [label for label in english_labels() if found(label, text)]
    assert english == []
    assert words(locale)("Amount payable") in text.replace("\n", " ")


@pytest.mark.parametrize("locale", TRANSLATED)
def test_a_translated_statement_prints_the_same_content_hash(locale: str) -> None:
    sealed = statement(locale)
    text = pdf_text(render_pdf(sealed))
    assert sealed.content_hash == content_hash(sealed)
    assert sealed.content_hash is not None
    assert sealed.content_hash in text


def test_labels_are_not_content_the_english_hash_is_what_it_was() -> None:
    # The statement's canonical content holds no label: the hash of an English
    # statement is the hash of its figures and facts, whatever the catalogs say.
    english, german = statement("en_US"), statement("de_DE")
    assert english.content_hash != german.content_hash  # the locale is a field
    assert seal(english).content_hash == english.content_hash


def test_a_held_payout_gives_its_reason_in_the_partners_language() -> None:
    german = words("de_DE")
    assert hold_reason(german, "tax_form", "tax form") == "Steuerformular"
    assert (
        hold_reason(german, "below_minimum", "below the minimum payout 50.00 USD")
        == "unter der Mindestauszahlung von 50.00 USD"
    )
    # What is not recognised is printed as stored, never dropped.
    assert hold_reason(german, "other", "held by finance") == "held by finance"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_the_csv_header_and_totals_are_translated_and_the_figures_are_not(locale: str) -> None:
    english = list(csv.reader(io.StringIO(render_csv(statement("en_US")))))
    other = list(csv.reader(io.StringIO(render_csv(statement(locale)))))
    assert english[0] == list(COLUMNS)
    assert not set(other[0]) & set(COLUMNS)
    assert len(other[0]) == len(COLUMNS)
    amount = COLUMNS.index("amount")
    assert [row[amount] for row in other[1:]] == [row[amount] for row in english[1:]]
    total_explanation = other[-1][COLUMNS.index("explanation")]
    assert "payable" not in total_explanation
    assert "carried forward" not in total_explanation


def _fonts(pdf: bytes) -> dict[str, bool]:
    """Every font a page uses: its name, and whether the file is embedded."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    fonts: dict[str, bool] = {}
    for page in reader.pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            descriptor = font.get("/FontDescriptor")
            embedded = descriptor is not None and any(
                key in descriptor.get_object() for key in ("/FontFile", "/FontFile2", "/FontFile3")
            )
            fonts[str(font["/BaseFont"])] = embedded
    return fonts


def test_a_partner_named_in_japanese_renders_in_an_embedded_font() -> None:
    name = "株式会社サクラ通信"
    pdf = render_pdf(statement("ja_JP", name=name))
    fonts = _fonts(pdf)
    fallback = [font for font in fonts if font.endswith("+DroidSansFallback")]
    assert fallback, fonts
    assert all(fonts[font] for font in fallback)
    assert name in pdf_text(pdf)
    # Every font that draws text is embedded (reportlab also lists its unused
    # default Helvetica, which draws nothing).
    assert all(embedded for font, embedded in fonts.items() if font != "/Helvetica")


def _with_manual_adjustment(locale: str) -> Statement:
    manual = StatementLine(
        line_id="ADJ-7",
        date=date(2026, 3, 20),
        source_fact="manual:7",
        customer=None,
        component="manual",
        component_kind="manual",
        line_kind=LineKind.adjustment,
        prior_period=None,
        base_amount=Decimal("25.00"),
        base_currency="USD",
        rate=None,
        fx_rate=None,
        amount=Decimal("25.00"),
        payable=True,
        plan_version=None,
        explanation=explanation(7, "Kulanz für Ticket #4411", "key:ab12:finance", "key:cd34:cfo"),
    )
    lines = [*synthetic_lines(20, seed=3), manual]
    return seal(synthetic_statement(locale=locale, line_list=lines))


@pytest.mark.parametrize("locale", TRANSLATED)
def test_a_manual_adjustment_is_explained_in_the_partners_language(locale: str) -> None:
    # The explanation is stored in English (it is hashed content); the statement prints
    # its steps in the partner's language and the reason as finance typed it.
    text = pdf_text(render_pdf(_with_manual_adjustment(locale))).replace("\n", " ")
    english = [label for label in english_labels() if found(label, text)]
    assert english == []
    assert "Kulanz für Ticket #4411" in text
    assert "key:ab12:finance" in text
    assert "key:cd34:cfo" in text


def test_an_explanation_step_not_recognised_is_printed_as_stored() -> None:
    german = words("de_DE")
    assert explanation_step(german, "Reason: too late") == "Grund: too late"
    assert explanation_step(german, "Manual adjustment 12") == "Manuelle Korrektur 12"
    assert explanation_step(german, "agreed on the phone") == "agreed on the phone"
