"""The partner statement as a PDF (drawn on a reportlab canvas), from a Statement alone.

Never sees a database session: the builder fills a :class:`Statement`, this module
draws it. Nothing is rounded or recomputed here; every figure printed is a field of
the statement or one of its lines, formatted for the partner's locale with babel.

Layout (A4 portrait): a header (partner, period, issue date), a summary box with
the balance walk and the amount payable (resale margin shown apart, labelled as not
payable) next to the year-to-date figures, the tier progress (one drawn bar per
requirement of the next tier, the gap text and an at-risk warning), subtotals per
plan component, the line tables (payable lines; payouts; resale margin) whose header
row repeats on every page, the totals, and on every page a running header, the
content hash, the plan versions and "Page N of M" (the pages are laid out before any
is drawn, so M is known).

This module decides what is printed, in which words, fonts and formats; where it goes
is `statements.page_layout`'s (the positions platypus gave the same story), and the
ink is `statements.page_drawing`'s. Rare content (a paragraph of mixed fonts: a bold
lead, CJK runs) is set by reportlab's Paragraph at the position computed here.

Deterministic bytes: reportlab's invariant mode (fixed document id) and a creation
date taken from the statement's ``issued_on`` date, never the clock.

Fonts: DejaVu Sans when the system has it (wide Latin, Greek and Cyrillic
coverage), else Bitstream Vera, which ships inside reportlab (Latin-1 only). Runs of
characters the main font lacks (Chinese, Japanese, Korean names) are set in Droid Sans
Fallback, which ships in ``statements/fonts/`` (Apache-2.0): every font is embedded
(subset), never referenced, so any viewer shows the names the product stores. Other
missing characters print as the font's missing-glyph box.

Words: every label is a message of the ``statements`` gettext domain
(:mod:`statements.language`), printed in the partner's language; labels are no part
of the statement's content, so the content hash is the same in every language.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.ttfonts import (
    FF_NONSYMBOLIC,
    FF_SYMBOLIC,
    SUBSETN,
    TTFont,
    makeToUnicodeCMap,
)
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph

from payouts.tax.invoices import Document
from plans.money import from_minor
from statements.canonical import content_hash as compute_hash
from statements.canonical import sealed_hash
from statements.language import N_, Gettext, explanation_step, hold_reason, metric_label, words
from statements.model import (
    COUNT_UNIT,
    LineKind,
    PayoutState,
    Statement,
    StatementLine,
    TierProgress,
)
from statements.page_drawing import BAR_WIDTH, LABEL_WIDTH, draw_page
from statements.page_layout import (
    CONTENT_WIDTH,
    FRAME_WIDTH,
    MARGIN_BOTTOM,
    MARGIN_TOP,
    MARGIN_X,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    Bar,
    Block,
    Cell,
    Columns,
    CondBreak,
    Gap,
    Keep,
    Row,
    RowShape,
    Stack,
    Table,
    TextLines,
    TextStyle,
    cells,
    flowed,
    paginate,
    row,
    wrap_words,
)
from statements.page_text import draw_right_string, draw_string, split_known_characters_at_once

__all__ = [
    "CONTENT_WIDTH",
    "FONT_SEARCH_PATHS",
    "MARGIN_BOTTOM",
    "MARGIN_TOP",
    "MARGIN_X",
    "MoneyFormat",
    "fonts",
    "money_format",
    "render_pdf",
]


INK = colors.HexColor("#1f2933")
MUTED = colors.HexColor("#616e7c")
RULE = colors.HexColor("#cbd2d9")
PANEL = colors.HexColor("#f5f7fa")
ACCENT = colors.HexColor("#1f6feb")
PRIOR = colors.HexColor("#fff4d6")
WARN_BG = colors.HexColor("#fdecea")
WARN = colors.HexColor("#b42318")
BAR_BG = colors.HexColor("#e4e7eb")
BAR_MET = colors.HexColor("#2f9e44")

FONT_SEARCH_PATHS: tuple[str, ...] = (
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/dejavu",
    "/usr/share/fonts/TTF",
    "/usr/local/share/fonts",
    "/Library/Fonts",
)
"""Where DejaVu Sans is looked for before falling back to reportlab's own Vera."""
FALLBACK_FONT_FILE = Path(__file__).resolve().parent / "fonts" / "DroidSansFallbackFull.ttf"
"""Chinese, Japanese and Korean glyphs (Droid Sans Fallback, Apache-2.0, from Debian's
fonts-droid-fallback), embedded for the characters the main font lacks."""
FALLBACK_FONT = "StatementFallback"


# -- fonts --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fonts:
    regular: str
    bold: str
    family: str
    """"DejaVu Sans" or "Bitstream Vera Sans": what was found."""
    coverage: frozenset[int]
    fallback_coverage: frozenset[int]
    ellipsis: str


SUBSET_MEMO_LIMIT = 256
"""Embedded font programs kept per font; past it the memo starts afresh."""


class _Formatted(pdfdoc.PDFObject):  # type: ignore[misc]  # reportlab is untyped
    """A PDF value formatted once: the bytes reportlab wrote for it the first time."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def format(self, document: Any) -> bytes:
        return self.data


def _mark(number: int) -> _Formatted:
    """A stand-in for the `number`-th reference of a PDF object formatted once."""
    return _Formatted(b"\x00reference%d\x00" % number)


_MARKS = re.compile(rb"\x00reference(\d+)\x00")


def _parts(formatted: bytes) -> tuple[tuple[bytes, ...], tuple[int, ...]]:
    """The bytes between the marks of `formatted`, and which reference each mark
    stands for (reportlab writes a dictionary's keys sorted, not in our order)."""
    pieces = _MARKS.split(formatted)
    return tuple(pieces[0::2]), tuple(int(number) for number in pieces[1::2])


class _Template(pdfdoc.PDFObject):  # type: ignore[misc]  # reportlab is untyped
    """A PDF object formatted once but for its references, whose object numbers differ
    from document to document: the bytes between them, and the references."""

    __RefOnly__ = 1  # like reportlab's font objects: written apart, referred to

    def __init__(
        self, parts: tuple[tuple[bytes, ...], tuple[int, ...]], references: tuple[Any, ...]
    ) -> None:
        self.parts = parts[0]
        self.references = tuple(references[number] for number in parts[1])

    def format(self, document: Any) -> bytes:
        out = [self.parts[0]]
        for reference, part in zip(self.references, self.parts[1:], strict=True):
            out.append(reference.format(document))
            out.append(part)
        return b"".join(out)


def _embed_subsets_once(font: TTFont) -> None:
    """Make `font` embed each of its subsets from a per-process memo of font programs.

    A PDF embeds, per font, the subset of glyphs it uses: reportlab cuts that font
    program out of the TrueType file and deflates it for every document (see
    bench/bench_render.py for what that costs). Statements of one language use the
    same characters in the same order (ASCII has fixed codes; the few others come in
    the template's order), so the same subsets recur: 17 distinct among the 356 of a
    178-statement demo month. The memo holds the deflated program by subset;
    everything else is reportlab's ``TTFontFace.addSubsetObjects`` (5.1) as it is, so
    the bytes are the same (``tests/statements/test_pdf_bytes.py``).
    """
    face = font.face
    memo: dict[tuple[tuple[int, ...], bool], tuple[int, bytes]] = {}
    descriptors: dict[str, tuple[tuple[bytes, ...], tuple[int, ...]]] = {}

    def add_subset_objects(doc: Any, fontname: str, subset: Sequence[int]) -> Any:
        compress = bool(doc.compression)
        key = (tuple(subset), compress)
        program = memo.get(key)
        if program is None:
            if len(memo) >= SUBSET_MEMO_LIMIT:
                memo.clear()
            raw = face.makeSubset(subset)
            program = (len(raw), pdfdoc.PDFZCompress.encode(raw) if compress else raw)
            memo[key] = program
        font_file = pdfdoc.PDFStream()
        font_file.dictionary["Length1"], font_file.content = program
        if compress:  # deflated already: PDFStream applies no filter a "Filter" names
            font_file.dictionary["Filter"] = pdfdoc.PDFArray(
                [pdfdoc.PDFName(pdfdoc.PDFZCompress.pdfname)]
            )
        file_ref = doc.Reference(font_file, f"fontFile:{face.filename}({fontname})")
        parts = descriptors.get(fontname)
        if parts is None:
            if len(descriptors) >= SUBSET_MEMO_LIMIT:
                descriptors.clear()
            descriptor = pdfdoc.PDFDictionary(
                {
                    "Type": "/FontDescriptor",
                    "Ascent": face.ascent,
                    "CapHeight": face.capHeight,
                    "Descent": face.descent,
                    "Flags": (face.flags & ~FF_NONSYMBOLIC) | FF_SYMBOLIC,
                    "FontBBox": pdfdoc.PDFArray(face.bbox),
                    "FontName": pdfdoc.PDFName(fontname),
                    "ItalicAngle": face.italicAngle,
                    "StemV": face.stemV,
                    "FontFile2": _mark(0),
                    "MissingWidth": face.defaultWidth,
                }
            )
            parts = descriptors[fontname] = _parts(descriptor.format(doc))
        return doc.Reference(_Template(parts, (file_ref,)), "fontDescriptor:" + fontname)

    face.addSubsetObjects = add_subset_objects


def _font_objects_once(font: TTFont) -> None:
    """Make `font` write each subset's widths and ToUnicode map from a per-process memo.

    Per document and subset, reportlab formats the widths of the subset's glyphs, number
    by number, and writes and deflates the subset's ToUnicode map; the same subsets recur
    from statement to statement (see `_embed_subsets_once`). The memo holds those bytes;
    everything else is reportlab's ``TTFont.addObjects`` (5.1) as it is, so the bytes
    are the same (``tests/statements/test_pdf_bytes.py``).
    """
    face = font.face
    widths_memo: dict[tuple[int, ...], _Formatted] = {}
    dictionaries: dict[
        tuple[str, str, tuple[int, ...]], tuple[tuple[bytes, ...], tuple[int, ...]]
    ] = {}
    maps_memo: dict[tuple[str, tuple[int, ...]], bytes] = {}

    def widths(subset: tuple[int, ...], document: Any) -> _Formatted:
        known = widths_memo.get(subset)
        if known is None:
            if len(widths_memo) >= SUBSET_MEMO_LIMIT:
                widths_memo.clear()
            array = pdfdoc.PDFArray(list(map(face.getCharWidth, subset)))
            known = widths_memo[subset] = _Formatted(array.format(document))
        return known

    def to_unicode(name: str, subset: tuple[int, ...], compress: bool) -> Any:
        stream = pdfdoc.PDFStream()
        if not compress:  # reportlab's way: the document's default filters apply
            stream.content = makeToUnicodeCMap(name, subset)
            return stream
        key = (name, subset)
        deflated = maps_memo.get(key)
        if deflated is None:
            if len(maps_memo) >= SUBSET_MEMO_LIMIT:
                maps_memo.clear()
            deflated = pdfdoc.PDFZCompress.encode(makeToUnicodeCMap(name, subset))
            maps_memo[key] = deflated
        stream.content = deflated  # deflated already: PDFStream applies no filter a "Filter" names
        stream.dictionary["Filter"] = pdfdoc.PDFArray([pdfdoc.PDFName(pdfdoc.PDFZCompress.pdfname)])
        return stream

    def add_objects(doc: Any) -> None:
        state = font.state.get(doc)
        if state is None:
            state = font.state[doc] = TTFont.State(font._asciiReadable)
        state.frozen = 1
        for n, subset in enumerate(state.subsets):
            internal_name = font.getSubsetInternalName(n, doc)[1:]
            base_name = b"".join((SUBSETN(n), b"+", face.name, face.subfontNameX)).decode("pdfdoc")
            codes = tuple(subset)
            to_unicode_ref = doc.Reference(
                to_unicode(base_name, codes, bool(doc.compression)),
                "toUnicodeCMap:" + base_name,
            )
            descriptor_ref = face.addSubsetObjects(doc, base_name, subset)
            key = (internal_name, base_name, codes)
            parts = dictionaries.get(key)
            if parts is None:
                if len(dictionaries) >= SUBSET_MEMO_LIMIT:
                    dictionaries.clear()
                pdf_font = pdfdoc.PDFTrueTypeFont()
                pdf_font.Name = internal_name
                pdf_font.BaseFont = base_name
                pdf_font.FirstChar = 0
                pdf_font.LastChar = len(subset) - 1
                pdf_font.Widths = widths(codes, doc)
                pdf_font.ToUnicode = _mark(0)
                pdf_font.FontDescriptor = _mark(1)
                parts = dictionaries[key] = _parts(pdf_font.format(doc))
            pdf_font = _Template(parts, (to_unicode_ref, descriptor_ref))
            pdf_font.__Comment__ = f"Font {font.fontName} subset {n}"
            doc.Reference(pdf_font, internal_name)
            doc.idToObject["BasicFonts"].dict[internal_name] = pdf_font
        del font.state[doc]

    font.addObjects = add_objects


@lru_cache(maxsize=1)
def fonts() -> Fonts:
    """Register the statement fonts once per process and say which were found."""
    candidates: list[tuple[str, Path, Path]] = []
    for folder in (os.environ.get("STATEMENT_FONT_DIR", ""), *FONT_SEARCH_PATHS):
        if folder:
            base = Path(folder)
            candidates.append(
                ("DejaVu Sans", base / "DejaVuSans.ttf", base / "DejaVuSans-Bold.ttf")
            )
    found = next(((fam, r, b) for fam, r, b in candidates if r.is_file() and b.is_file()), None)
    if found is not None:
        family = found[0]
        regular = TTFont("StatementSans", str(found[1]))
        bold = TTFont("StatementSans-Bold", str(found[2]))
    else:  # reportlab ships Vera; it finds the files on its own search path
        family = "Bitstream Vera Sans"
        regular = TTFont("StatementSans", "Vera.ttf")
        bold = TTFont("StatementSans-Bold", "VeraBd.ttf")
    for font in (regular, bold):
        _embed_subsets_once(font)
        _font_objects_once(font)
        split_known_characters_at_once(font)
        pdfmetrics.registerFont(font)
    pdfmetrics.registerFontFamily(
        "StatementSans",
        normal="StatementSans",
        bold="StatementSans-Bold",
        italic="StatementSans",
        boldItalic="StatementSans-Bold",
    )
    fallback = TTFont(FALLBACK_FONT, str(FALLBACK_FONT_FILE))
    _embed_subsets_once(fallback)
    _font_objects_once(fallback)
    split_known_characters_at_once(fallback)
    pdfmetrics.registerFont(fallback)
    coverage = frozenset(regular.face.charToGlyph)
    return Fonts(
        regular="StatementSans",
        bold="StatementSans-Bold",
        family=family,
        coverage=coverage,
        fallback_coverage=frozenset(fallback.face.charToGlyph) - coverage,
        ellipsis="\u2026" if 0x2026 in coverage else "...",
    )


# Characters babel emits that some fonts lack, and a safe stand-in for each.
_STAND_INS = {0x202F: "\u00a0", 0x2009: "\u00a0", 0x2212: "-", 0xFFE5: "\u00a5"}


def _needs_fallback(char: str) -> bool:
    """True for a character the main font lacks and the fallback font has."""
    return ord(char) in fonts().fallback_coverage


def _plain(text: str) -> str:
    """``text`` with the characters the main font lacks replaced where a stand-in exists."""
    coverage = fonts().coverage
    if text.isascii() or coverage.issuperset(map(ord, text)):
        return text
    return "".join(_STAND_INS.get(ord(c), c) if ord(c) not in coverage else c for c in text)


def _covered(text: str) -> bool:
    return text.isascii() or fonts().coverage.issuperset(map(ord, text))


def _markup(text: str) -> str:
    """Paragraph markup for ``text``: escaped, CJK runs switched to the fallback font."""
    text = _plain(text)
    if _covered(text):
        return escape(text)
    out: list[str] = []
    run: list[str] = []
    for char in text:
        if _needs_fallback(char):
            run.append(char)
            continue
        if run:
            out.append(f'<font name="{FALLBACK_FONT}">{escape("".join(run))}</font>')
            run = []
        out.append(escape(char))
    if run:
        out.append(f'<font name="{FALLBACK_FONT}">{escape("".join(run))}</font>')
    return "".join(out)


def _width(text: str, font: str, size: float) -> float:
    coverage = fonts().coverage
    if _covered(text):
        return float(pdfmetrics.stringWidth(text, font, size))
    return sum(
        float(pdfmetrics.stringWidth(c, font, size)) if ord(c) in coverage else size for c in text
    )


@lru_cache(maxsize=4096)  # customers and components repeat on every statement
def _fit(text: str, width: float, font: str, size: float) -> str:
    """``text`` cut with an ellipsis so that it fits ``width`` points on one line."""
    if _width(text, font, size) <= width:
        return text
    ellipsis = fonts().ellipsis
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if _width(text[:middle].rstrip() + ellipsis, font, size) <= width:
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + ellipsis


# -- formatting ---------------------------------------------------------------------


class MoneyFormat:
    """Amounts, rates and dates for one partner locale and payout currency.

    ``decimal_quantization=False``: babel must never round what it prints; amounts
    arrive at their minor-unit precision and are shown exactly.
    """

    MEMO_LIMIT = 4_096
    """Formatted amounts kept per instance (a few short strings each); past it the memo
    starts afresh."""

    def __init__(self, locale: str, currency: str) -> None:
        self.locale = Locale.parse(locale)
        self.currency = currency
        # Most amounts a month prints repeat (0.00 above all: six of the ten figures of
        # a quiet partner's summary), and babel formats each one anew. The key is the
        # amount's text, which keeps its exponent: 1.0 and 1.00 differ.
        self._money: dict[tuple[str, str], str] = {}

    def money(self, amount: Decimal, currency: str | None = None) -> str:
        code = currency or self.currency
        key = (str(amount), code)
        text = self._money.get(key)
        if text is None:
            if len(self._money) >= self.MEMO_LIMIT:
                self._money.clear()
            text = _plain(
                format_currency(amount, code, locale=self.locale, decimal_quantization=False)
            )
            self._money[key] = text
        return text

    def rate(self, rate: Decimal | None) -> str:
        if rate is None:
            return ""
        key = (str(rate), "%")  # a plan has a few rates: they repeat on every line
        text = self._money.get(key)
        if text is None:
            if len(self._money) >= self.MEMO_LIMIT:
                self._money.clear()
            text = _plain(format_percent(rate, locale=self.locale, decimal_quantization=False))
            self._money[key] = text
        return text

    def number(self, value: Decimal) -> str:
        return _plain(format_decimal(value, locale=self.locale, decimal_quantization=False))

    def long_date(self, value: date) -> str:
        return _plain(format_date(value, format="long", locale=self.locale))

    def month(self, value: date) -> str:
        return _plain(format_date(value, format="MMMM y", locale=self.locale))


@lru_cache(maxsize=64)
def money_format(locale: str, currency: str) -> MoneyFormat:
    """The one :class:`MoneyFormat` of a locale and payout currency in this process."""
    return MoneyFormat(locale, currency)


# -- styles -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Style:
    """A paragraph style: the font of its plain text, and reportlab's style for the
    rare paragraph of mixed fonts (a bold lead, CJK runs) that reportlab sets."""

    text: TextStyle
    paragraph: ParagraphStyle
    right: bool = False
    before: float = 0.0
    after: float = 0.0

    @property
    def bold(self) -> TextStyle:
        return replace(self.text, font=fonts().bold)


@dataclass(frozen=True, slots=True)
class _Styles:
    title: _Style
    name: _Style
    body: _Style
    small: _Style
    small_right: _Style
    heading: _Style
    cell: _Style
    warn: _Style


def _style(paragraph: ParagraphStyle) -> _Style:
    return _Style(
        TextStyle(paragraph.fontName, paragraph.fontSize, paragraph.leading, paragraph.textColor),
        paragraph,
        paragraph.alignment == TA_RIGHT,
        paragraph.spaceBefore,
        paragraph.spaceAfter,
    )


@lru_cache(maxsize=1)
def _styles() -> _Styles:
    f = fonts()
    base = ParagraphStyle("base", fontName=f.regular, fontSize=9, leading=11.5, textColor=INK)
    return _Styles(
        title=_style(ParagraphStyle("title", base, fontSize=8.5, textColor=MUTED, leading=11)),
        name=_style(ParagraphStyle("name", base, fontName=f.bold, fontSize=16, leading=20)),
        body=_style(base),
        small=_style(ParagraphStyle("small", base, fontSize=8, leading=10, textColor=MUTED)),
        small_right=_style(
            ParagraphStyle("small_right", base, fontSize=8, leading=10.5, alignment=TA_RIGHT)
        ),
        heading=_style(
            ParagraphStyle(
                "heading",
                base,
                fontName=f.bold,
                fontSize=10.5,
                leading=14,
                spaceBefore=8,
                spaceAfter=4,
            )
        ),
        cell=_style(ParagraphStyle("cell", base, fontSize=7.5, leading=9)),
        warn=_style(ParagraphStyle("warn", base, fontSize=8.5, leading=11, textColor=WARN)),
    )


@lru_cache(maxsize=1)
def _table_styles() -> dict[str, TextStyle]:
    """The fonts of table text: black unless a table names its colour, as reportlab's."""
    f = fonts()
    black = colors.black
    return {
        "line": TextStyle(f.regular, _CELL_FONT_SIZE, 9, black),
        "line_bold": TextStyle(f.bold, _CELL_FONT_SIZE, 9, black),
        "line_heading": TextStyle(f.bold, 10.5, 13, black),
        "total": TextStyle(f.bold, 8, 10, black),
        "figure": TextStyle(f.regular, 8.5, 11, INK),
        "figure_bold": TextStyle(f.bold, 9, 12, INK),
        "subtotal": TextStyle(f.regular, 8, 10, INK),
        "subtotal_bold": TextStyle(f.bold, 8, 10, INK),
        "bar": TextStyle(f.regular, 8, 8 * 1.2, INK),
    }


# -- paragraphs -----------------------------------------------------------------------


LINES_MEMO_SIZE = 2_048
"""Paragraph texts whose lines are kept (a label, a note, a date: a few short strings
each); the least recently used go first."""


@lru_cache(maxsize=LINES_MEMO_SIZE)  # the labels and notes recur on every statement
def _lines(text: str, font: str, size: float, width: float) -> tuple[str, ...] | None:
    lines = wrap_words(text, font, size, width)
    return None if lines is None else tuple(lines)


def _text(text: str, style: _Style, width: float, *, bold: bool = False) -> Block:
    """A paragraph of `text` set in the style's font alone (characters it lacks print
    as its missing-glyph box, as reportlab prints an escaped paragraph)."""
    lines = _lines(text, style.text.font if not bold else fonts().bold, style.text.size, width)
    if lines is None:
        markup = f"<b>{escape(text)}</b>" if bold else escape(text)
        return flowed(Paragraph(markup, style.paragraph), width)
    return TextLines(
        style.bold if bold else style.text,
        lines,
        width,
        style.right,
        style.before,
        style.after,
    )


def _mixed(text: str, style: _Style, width: float, lead: str = "") -> Block:
    """A paragraph of `text` with CJK runs in the fallback font and an optional bold
    `lead`: plain text when there is neither, else reportlab's Paragraph (rare)."""
    text = _plain(text)
    if not lead and _covered(text):
        return _text(text, style, width)
    markup = f"<b>{escape(lead)}</b> {_markup(text)}" if lead else _markup(text)
    return flowed(Paragraph(markup, style.paragraph), width)


# -- tables -------------------------------------------------------------------------

_LINE_COLUMNS = (
    N_("Date"),
    N_("Source"),
    N_("Customer"),
    N_("Component"),
    N_("Base"),
    N_("Rate"),
    N_("Amount"),
)
_LINE_WIDTHS = (50.0, 88.0, 98.0, 108.0, 66.0, 30.0, 0.0)
_LINE_WIDTHS = (*_LINE_WIDTHS[:-1], CONTENT_WIDTH - sum(_LINE_WIDTHS[:-1]))
_CELL_FONT_SIZE = 7.5
_CELL_PAD = 3.0
STRIPE = colors.HexColor("#f7f8fa")

PAYABLE_HEADING = N_("Earnings, clawbacks and adjustments")
PAYABLE_TOTAL_LABEL = N_("Total earnings, clawbacks and adjustments")
PAYOUT_HEADING = N_("Other payouts in the period")
PAYOUT_TOTAL_LABEL = N_("Total of other payouts")
MARGIN_HEADING = N_("Resale margin earned (not payable)")
MARGIN_TOTAL_LABEL = N_("Total margin earned (not payable)")


def _cell(text: str, width: float, pad: float = _CELL_PAD) -> Any:
    """A one-line table cell: a plain string when the main font covers it, a paragraph
    with CJK runs otherwise. `width` is the column's, `pad` the cell padding."""
    if text.isascii():  # the main font covers ASCII
        return _fit(text, width - 2 * _CELL_PAD, fonts().regular, _CELL_FONT_SIZE)
    fitted = _fit(_plain(text), width - 2 * _CELL_PAD, fonts().regular, _CELL_FONT_SIZE)
    if _covered(fitted):
        return fitted
    return flowed(Paragraph(_markup(fitted), _styles().cell.paragraph), width - 2 * pad)


def _strings(values: tuple[Any, ...]) -> bool:
    return all(value.__class__ is str for value in values)


@dataclass(frozen=True, slots=True)
class _LineShapes:
    heading: RowShape
    columns: RowShape
    line: RowShape
    prior: RowShape
    total: RowShape


@lru_cache(maxsize=1)
def _line_shapes() -> _LineShapes:
    """The rows of every line table, built once per process."""
    s = _table_styles()
    columns = cells(_LINE_WIDTHS, _CELL_PAD, _CELL_PAD, {4, 5, 6})
    line = RowShape(s["line"], 1.5, 1.5, columns, striped=True)
    return _LineShapes(
        heading=RowShape(s["line_heading"], 8, 4, (Cell(0.0),)),
        columns=RowShape(
            s["line_bold"], 1.5, 1.5, columns, background=PANEL, rule_below=(0.6, INK)
        ),
        line=line,
        prior=replace(line, background=PRIOR),
        total=RowShape(s["total"], 3, 1.5, (Cell(_CELL_PAD), columns[-1]), rule_above=(0.8, INK)),
    )


def _line_rows(lines: Sequence[StatementLine], fmt: MoneyFormat, t: Gettext) -> list[Row]:
    shapes = _line_shapes()
    w = _LINE_WIDTHS
    rows: list[Row] = []
    one_line = shapes.line.height(("",))
    for line in lines:
        day = line.date.isoformat()
        shape = shapes.line
        if line.prior_period is not None:
            day = f"{day}\n" + t(N_("for %(period)s")) % {"period": line.prior_period}
            shape = shapes.prior
        base = fmt.money(line.base_amount, line.base_currency)
        if line.fx_rate is not None:
            base = f"{base}\n" + t(N_("\u00d7 %(rate)s fx")) % {"rate": fmt.number(line.fx_rate)}
        values = (
            day,
            _cell(line.source_fact, w[1]),
            _cell(line.customer or "", w[2]),
            _cell(line.component, w[3]),
            base,
            fmt.rate(line.rate),
            fmt.money(line.amount),
        )
        if shape is shapes.line and line.fx_rate is None and _strings(values):
            rows.append(Row(shape, values, one_line))  # the height of most rows, known
        else:
            rows.append(row(shape, values))
    return rows


def _line_table(
    heading: str,
    lines: Sequence[StatementLine],
    fmt: MoneyFormat,
    t: Gettext,
    total_label: str,
    total: Decimal,
) -> Table:
    """The lines under a title row and a column header row, both repeated on every
    page the table runs onto, and a total row at the end."""
    shapes = _line_shapes()
    rows = [
        row(shapes.heading, (heading,)),
        row(shapes.columns, tuple(t(column) for column in _LINE_COLUMNS)),
        *_line_rows(lines, fmt, t),
        row(shapes.total, (total_label, fmt.money(total))),
    ]
    return Table(CONTENT_WIDTH, tuple(rows), repeat=2, stripe=STRIPE)


@lru_cache(maxsize=64)
def _figure_shapes(width: float, label_share: float) -> tuple[RowShape, RowShape, RowShape]:
    """The title, plain and strong rows of a figure table `width` wide."""
    s = _table_styles()
    columns = cells((width * label_share, width * (1 - label_share)), 6, 6, {1})
    return (
        RowShape(s["figure_bold"], 2, 5, (Cell(6.0),)),
        RowShape(s["figure"], 2, 2, columns),
        RowShape(s["figure_bold"], 2, 2, columns, rule_above=(0.6, INK)),
    )


def _figure_table(
    rows: Iterable[tuple[str, str, bool]],
    width: float,
    title: str,
    background: Any = PANEL,
    label_share: float = 0.6,
) -> Table:
    """A boxed two-column table of labelled figures; a True flag draws the row bold
    with a rule above."""
    f = fonts()
    title_shape, plain, strong = _figure_shapes(width, label_share)
    label_width = width * label_share - 12
    data = [row(title_shape, (title,))]
    for label, value, bold in rows:
        data.append(
            row(strong if bold else plain, (_fit(label, label_width, f.regular, 8.5), value))
        )
    return Table(width, tuple(data), background=background, box=(0.6, RULE))


def _header(statement: Statement, fmt: MoneyFormat, t: Gettext) -> Columns:
    s = _styles()
    left_width = CONTENT_WIDTH * 0.62
    right_width = CONTENT_WIDTH * 0.38
    partner = t(N_("Partner %(id)s \u00b7 %(type)s"))
    left = (
        _text(t(N_("PARTNER STATEMENT")), s.title, left_width),
        _mixed(statement.partner_name, s.name, left_width),
        _mixed(
            partner % {"id": statement.partner_id, "type": statement.partner_type},
            s.small,
            left_width,
        ),
    )
    period = t(N_("Period %(period)s")) % {"period": statement.period}
    right = (
        _text(period, s.small_right, right_width, bold=True),
        _text(
            f"{fmt.long_date(statement.period_start)} \u2013 {fmt.long_date(statement.period_end)}",
            s.small_right,
            right_width,
        ),
        _text(
            t(N_("Issued on %(date)s")) % {"date": statement.issued_on.isoformat()},
            s.small_right,
            right_width,
        ),
        _text(
            t(N_("Payout currency %(currency)s")) % {"currency": statement.payout_currency},
            s.small_right,
            right_width,
        ),
    )
    return Columns(
        CONTENT_WIDTH,
        (Stack(left, 0.0), Stack(right, left_width)),
        top=3,
        bottom=6,
        rule_below=(1.2, INK),
    )


def _payout_status(payout: PayoutState, t: Gettext) -> str:
    """What the bank did with the payout, in the reader's language."""
    if payout.status == "paid":
        if payout.bank_reference:
            return t(N_("paid, bank reference %(reference)s")) % {
                "reference": payout.bank_reference
            }
        return t(N_("paid"))
    if payout.status == "failed":
        reason = payout.reason or t(N_("no reason given"))
        if payout.returned_in:
            return t(N_("failed (%(reason)s); returned to the balance in %(period)s")) % {
                "reason": reason,
                "period": payout.returned_in,
            }
        return t(N_("failed (%(reason)s)")) % {"reason": reason}
    return t(N_("sent to the bank, no result yet"))


def _balance_rows(
    statement: Statement, fmt: MoneyFormat, t: Gettext, payout: PayoutState | None
) -> list[tuple[str, str, bool]]:
    s = statement
    money = fmt.money
    rows = [
        (t(N_("Opening balance")), money(s.opening_balance), False),
        (t(N_("Earnings")), money(s.earnings_total), False),
        (t(N_("Clawbacks")), money(s.clawbacks_total), False),
        (t(N_("Adjustments")), money(s.adjustments_total), False),
    ]
    if s.payouts_total:
        # Payouts other than this statement's own (which is the amount payable below).
        rows.append((t(PAYOUT_HEADING), money(s.payouts_total), False))
    rows += [
        (t(N_("Closing balance")), money(s.closing_balance), True),
        (t(N_("Carried forward")), money(s.carry_forward), False),
        (t(N_("Amount payable")), money(s.amount_payable), True),
    ]
    if s.payout_reference:
        rows.append((t(N_("Paid by transfer, reference")), _plain(s.payout_reference), False))
        if payout is not None:
            rows.append((t(N_("Payout status")), _plain(_payout_status(payout, t)), False))
    return rows


def _summary(
    statement: Statement, fmt: MoneyFormat, t: Gettext, payout: PayoutState | None
) -> Columns:
    s = statement
    money = fmt.money
    left_width = CONTENT_WIDTH * 0.56
    right_width = CONTENT_WIDTH - left_width - 8
    left: list[Any] = [
        _figure_table(_balance_rows(s, fmt, t, payout), left_width, t(N_("Summary")))
    ]
    if s.holds:
        reasons = "; ".join(hold_reason(t, hold.code, hold.reason) for hold in s.holds)
        left.append(Gap(4))
        left.append(_mixed(reasons, _styles().warn, left_width, lead=t(N_("On hold:"))))
    right = (
        _figure_table(
            [(t(N_("Margin earned")), money(s.margin_earned_total), False)],
            right_width,
            t(N_("Resale margin (not payable)")),
            background=colors.white,
        ),
        _text(
            t(
                N_(
                    "Margin you earned through your buy price; it is not part of the "
                    "amount payable."
                )
            ),
            _styles().small,
            right_width,
        ),
        Gap(6),
        _figure_table(
            [
                (t(N_("Earnings")), money(s.ytd.earnings), False),
                (t(N_("Clawbacks")), money(s.ytd.clawbacks), False),
                (t(N_("Adjustments")), money(s.ytd.adjustments), False),
                (t(N_("Paid")), money(s.ytd.paid), True),
            ],
            right_width,
            t(N_("Year to date %(year)s")) % {"year": s.period[:4]},
            background=colors.white,
        ),
    )
    return Columns(
        CONTENT_WIDTH,
        (Stack(tuple(left), 0.0), Stack(right, left_width + 8)),
        top=3,
        bottom=3,
    )


def _requirement_figures(
    unit: str, actual: Decimal, threshold: Decimal, gap: Decimal, fmt: MoneyFormat, t: Gettext
) -> str:
    def show(value: Decimal) -> str:
        return fmt.number(value) if unit == COUNT_UNIT else fmt.money(value, unit)

    progress = f"{show(actual)} / {show(threshold)}"
    if gap <= 0:
        return f"{progress} \u00b7 " + t(N_("met"))
    return f"{progress} \u00b7 " + t(N_("%(gap)s to go")) % {"gap": show(gap)}


def _tier_texts(tier: TierProgress, fmt: MoneyFormat, t: Gettext) -> tuple[str, str]:
    """The gap and at-risk sentences. The tier evaluation stores them in English; in
    another language they are said again from the requirements' figures."""
    if fmt.locale.language == "en":
        return tier.gap_text, tier.at_risk_text or ""
    current = tier.current_tier or ""
    gap = ""
    if tier.next_tier and tier.requirements:
        gaps = [
            f"{fmt.number(r.gap) if r.unit == COUNT_UNIT else fmt.money(r.gap, r.unit)} "
            f"{metric_label(t, r.metric)}"
            for r in tier.requirements
            if r.gap > 0
        ]
        if gaps:
            gap = t(N_("%(gaps)s more to reach %(tier)s")) % {
                "gaps": t(N_(" or ")).join(gaps),
                "tier": tier.next_tier,
            }
    elif current:
        gap = t(N_("%(tier)s is the top tier")) % {"tier": current}
    risk = t(N_("%(tier)s is at risk at the next evaluation")) % {"tier": current}
    return gap, risk


def _bar(label: str, share: Decimal, figures: str, met: bool) -> Bar:
    f = fonts()
    text_x = LABEL_WIDTH + BAR_WIDTH + 8
    return Bar(
        _fit(label, LABEL_WIDTH - 6, f.regular, 8),
        float(share),  # geometry, not money
        _fit(figures, CONTENT_WIDTH - text_x, f.regular, 8),
        met,
        _table_styles()["bar"],
        (BAR_BG, BAR_MET, ACCENT),
    )


@lru_cache(maxsize=1)
def _warning_shape() -> RowShape:
    style = _styles().warn.text
    return RowShape(style, 4, 4, (Cell(6.0),))


def _tier(tier: TierProgress, fmt: MoneyFormat, t: Gettext) -> list[Any]:
    s = _styles()
    current = tier.current_tier or t(N_("no tier yet"))
    title = (
        t(N_("Tier: %(current)s \u2192 next tier %(next)s"))
        % {"current": current, "next": tier.next_tier}
        if tier.next_tier
        else t(N_("Tier: %(current)s (top tier)")) % {"current": current}
    )
    parts: list[Any] = [_mixed(title, s.heading, FRAME_WIDTH)]
    for requirement in tier.requirements:
        parts.append(
            _bar(
                _plain(metric_label(t, requirement.metric)),
                requirement.progress,
                _requirement_figures(
                    requirement.unit,
                    requirement.actual,
                    requirement.threshold,
                    requirement.gap,
                    fmt,
                    t,
                ),
                requirement.gap <= 0,
            )
        )
    gap_text, at_risk_text = _tier_texts(tier, fmt, t)
    if gap_text:
        parts.append(Gap(3))
        parts.append(_mixed(gap_text, s.body, FRAME_WIDTH))
    if tier.at_risk:
        warning = _mixed(at_risk_text, s.warn, CONTENT_WIDTH - 12, lead=t(N_("At risk:")))
        parts.append(Gap(4))
        parts.append(
            Table(
                CONTENT_WIDTH,
                (row(_warning_shape(), (warning,)),),
                background=WARN_BG,
                box=(0.8, WARN),
                centred=True,
            )
        )
    return [Keep(parts)]


@lru_cache(maxsize=1)
def _subtotal_shapes() -> tuple[RowShape, RowShape]:
    s = _table_styles()
    columns = cells((200.0, 180.0, 40.0, CONTENT_WIDTH - 420.0), 6, 6, {2, 3})
    return (
        RowShape(s["subtotal_bold"], 1.5, 1.5, columns, background=PANEL, rule_below=(0.6, INK)),
        RowShape(s["subtotal"], 1.5, 1.5, columns),
    )


def _subtotals(statement: Statement, fmt: MoneyFormat, t: Gettext) -> list[Any]:
    if not statement.subtotals:
        return []
    f = fonts()
    head, plain = _subtotal_shapes()
    rows = [row(head, (t(N_("Component")), t(N_("Kind")), t(N_("Lines")), t(N_("Amount"))))]
    margin = " " + t(N_("(margin, not payable)"))
    for subtotal in statement.subtotals:
        kind = subtotal.component_kind + ("" if subtotal.payable else margin)
        rows.append(
            row(
                plain,
                (
                    _fit(_plain(subtotal.component), 190, f.regular, 8),
                    _fit(_plain(kind), 170, f.regular, 8),
                    str(subtotal.lines),
                    fmt.money(subtotal.amount),
                ),
            )
        )
    heading = _text(t(N_("Subtotals by plan component")), _styles().heading, FRAME_WIDTH)
    return [Keep([heading, Table(CONTENT_WIDTH, tuple(rows))])]


def _totals(statement: Statement, fmt: MoneyFormat, t: Gettext) -> list[Any]:
    s = statement
    money = fmt.money
    rows = [
        (t(N_("Opening balance")), money(s.opening_balance), False),
        (t(PAYABLE_TOTAL_LABEL), money(s.activity_total), False),
    ]
    if s.payouts_total:
        rows.append((t(PAYOUT_TOTAL_LABEL), money(s.payouts_total), False))
    rows += [
        (t(N_("Closing balance")), money(s.closing_balance), True),
        (t(N_("Carried forward")), money(s.carry_forward), False),
        (t(N_("Amount payable")), money(s.amount_payable), True),
        (t(MARGIN_TOTAL_LABEL), money(s.margin_earned_total), False),
    ]
    versions = ", ".join(s.plan_versions) or t(N_("none"))
    note = t(
        N_(
            "Prior-period adjustments are highlighted and show the period they adjust under "
            "their date. Every figure is the sum of the lines shown; verify this statement "
            "with its content hash below."
        )
    )
    styles = _styles()
    return [
        Keep(
            [
                _text(t(N_("Totals")), styles.heading, FRAME_WIDTH),
                _figure_table(
                    rows, CONTENT_WIDTH * 0.7, t(N_("Statement totals")), label_share=0.68
                ),
                Gap(6),
                _mixed(
                    t(N_("Plan versions: %(versions)s")) % {"versions": versions},
                    styles.small,
                    FRAME_WIDTH,
                ),
                _text(note, styles.small, FRAME_WIDTH),
            ]
        )
    ]


MANUAL_HEADING = N_("Manual adjustments and their reasons")
MANUAL_KIND = "manual"
"""The component kind of a manual adjustment's line (`payouts.adjustments`)."""


def _manual_reasons(statement: Statement, t: Gettext) -> list[Any]:
    """Each manual adjustment's line with the reason finance gave (its explanation)."""
    manual = [
        line
        for line in statement.lines_of(LineKind.adjustment)
        if line.component_kind == MANUAL_KIND
    ]
    if not manual:
        return []
    styles = _styles()
    blocks: list[Any] = [_text(t(MANUAL_HEADING), styles.heading, FRAME_WIDTH)]
    for line in manual:
        stored = (step for step in line.explanation.split("\n") if step)
        steps = "; ".join(explanation_step(t, step) for step in stored)
        blocks.append(_mixed(f"{line.source_fact}: {steps}", styles.small, FRAME_WIDTH))
    return [Keep(blocks), Gap(6)]


def _section(
    heading: str,
    lines: Sequence[StatementLine],
    fmt: MoneyFormat,
    t: Gettext,
    total_label: str,
    total: Decimal,
    empty_text: str | None,
) -> list[Any]:
    s = _styles()
    if not lines:
        if empty_text is None:
            return []
        return [
            _text(t(heading), s.heading, FRAME_WIDTH),
            _text(t(empty_text), s.small, FRAME_WIDTH),
        ]
    # The heading is the table's first row: it repeats with the column header on
    # every page, so a continued page still says which lines it lists.
    return [
        CondBreak(40 * mm),
        _line_table(t(heading), lines, fmt, t, t(total_label), total),
    ]


# -- page furniture (drawn last on each page: the page count is known before) ----------


def _draw_mixed(canvas: Any, x: float, y: float, text: str, size: float) -> None:
    """Draw ``text`` in the main font, switching to the CJK font for CJK runs it lacks."""
    f = fonts()
    runs: list[tuple[str, str]] = []
    for char in _plain(text):
        font = FALLBACK_FONT if _needs_fallback(char) else f.regular
        if runs and runs[-1][0] == font:
            runs[-1] = (font, runs[-1][1] + char)
        else:
            runs.append((font, char))
    for font, run in runs:
        canvas.setFont(font, size)
        draw_string(canvas, x, y, run)
        x += float(pdfmetrics.stringWidth(run, font, size))


@dataclass(frozen=True, slots=True)
class _Furniture:
    running_title: str
    hash_text: str
    versions_text: str
    pdf_date: str
    page_label: str
    """"Page %(number)s of %(total)s" in the reader's language."""

    def draw(self, canvas: Any, number: int, total: int) -> None:
        f = fonts()
        canvas.saveState()
        canvas.setFillColor(MUTED)
        canvas.setStrokeColor(RULE)
        if number > 1:
            canvas.setFont(f.regular, 7.5)
            _draw_mixed(
                canvas,
                MARGIN_X,
                PAGE_HEIGHT - 12 * mm,
                _fit(self.running_title, CONTENT_WIDTH, f.regular, 7.5),
                7.5,
            )
            canvas.line(
                MARGIN_X, PAGE_HEIGHT - 13.5 * mm, PAGE_WIDTH - MARGIN_X, PAGE_HEIGHT - 13.5 * mm
            )
        canvas.line(MARGIN_X, 16 * mm, PAGE_WIDTH - MARGIN_X, 16 * mm)
        canvas.setFont(f.regular, 6.5)
        page_text = self.page_label % {"number": number, "total": total}
        draw_right_string(canvas, PAGE_WIDTH - MARGIN_X, 12.5 * mm, page_text)
        text_width = CONTENT_WIDTH - float(pdfmetrics.stringWidth(page_text, f.bold, 7)) - 12
        draw_string(canvas, MARGIN_X, 12.5 * mm, _fit(self.hash_text, text_width, f.regular, 6.5))
        draw_string(
            canvas, MARGIN_X, 9.5 * mm, _fit(self.versions_text, text_width, f.regular, 6.5)
        )
        canvas.restoreState()


def _versions_text(versions: Sequence[str], t: Gettext) -> str:
    label = t(N_("Plan versions: %(versions)s"))
    if not versions:
        return label % {"versions": t(N_("none"))}
    shown = list(versions[:3])
    more = len(versions) - len(shown)
    listed = ", ".join(shown)
    if more:
        listed += " " + t(N_("(+%(more)s more, listed in Totals)")) % {"more": more}
    return label % {"versions": listed}


# -- the self-billed invoice (outside the hashed content, like the payout's state) ----

_INVOICE_WIDTHS = (62.0, 0.0, 70.0, 44.0, 62.0, 70.0)
_INVOICE_WIDTHS = (
    _INVOICE_WIDTHS[0],
    CONTENT_WIDTH - sum(_INVOICE_WIDTHS),
    *_INVOICE_WIDTHS[2:],
)
_INVOICE_PAD = 6.0
RULE_MENTIONS = {
    "domestic": "",
    "reverse_charge": N_("Reverse charge"),
    "outside_scope": N_("Outside the scope of EU VAT"),
}


def _document_title(document: Document, t: Gettext) -> str:
    if document.kind == "credit_note":
        return t(
            N_("Self-billing credit note No. %(number)s, correcting invoice No. %(invoice)s")
        ) % {
            "number": document.number,
            "invoice": document.refers_to_number,
        }
    return t(N_("Self-billing invoice No. %(number)s")) % {"number": document.number}


@lru_cache(maxsize=1)
def _invoice_shapes() -> tuple[RowShape, RowShape, RowShape]:
    s = _table_styles()
    columns = cells(_INVOICE_WIDTHS, _INVOICE_PAD, _INVOICE_PAD, {2, 3, 4, 5})
    return (
        RowShape(s["line_bold"], 1.5, 1.5, columns, background=PANEL, rule_below=(0.6, INK)),
        RowShape(s["line"], 1.5, 1.5, columns),
        RowShape(s["total"], 1.5, 1.5, (columns[0], *columns[2:]), rule_above=(0.8, INK)),
    )


def _invoice_table(document: Document, fmt: MoneyFormat, t: Gettext) -> Table:
    head, plain, total = _invoice_shapes()

    def amount(minor: int) -> str:
        return fmt.money(from_minor(minor, document.currency), document.currency)

    rate = fmt.rate(document.rate)
    header = (t(N_("Line")), t(N_("Description")), t(N_("Net")), t(N_("VAT rate")))
    rows = [row(head, (*header, t(N_("VAT")), t(N_("Gross"))))]
    for line in document.lines:
        rows.append(
            row(
                plain,
                (
                    _cell(line.line_id, _INVOICE_WIDTHS[0], _INVOICE_PAD),
                    _cell(line.description, _INVOICE_WIDTHS[1], _INVOICE_PAD),
                    amount(line.net_minor),
                    rate,
                    amount(line.vat_minor),
                    amount(line.gross_minor),
                ),
            )
        )
    total_label = (
        t(N_("Total of the credit note"))
        if document.kind == "credit_note"
        else t(N_("Invoice total"))
    )
    rows.append(
        row(
            total,
            (
                total_label,
                amount(document.net_minor),
                "",
                amount(document.vat_minor),
                amount(document.gross_minor),
            ),
        )
    )
    return Table(CONTENT_WIDTH, tuple(rows), repeat=1)


def _document(statement: Statement, document: Document, fmt: MoneyFormat, t: Gettext) -> list[Any]:
    s = _styles()
    parties = t(
        N_(
            "Supplier: %(partner)s, VAT id %(partner_vat)s. Customer and issuer: %(issuer)s, "
            "VAT id %(issuer_vat)s. Issued on %(date)s by the customer in the supplier's name "
            "(self-billing)."
        )
    ) % {
        "partner": statement.partner_name,
        "partner_vat": document.partner_vat_id or t(N_("none")),
        "issuer": document.issuer_name,
        "issuer_vat": document.issuer_vat_id,
        "date": document.issued_on.isoformat(),
    }
    parts: list[Any] = [
        CondBreak(40 * mm),
        _mixed(_document_title(document, t), s.heading, FRAME_WIDTH),
        _mixed(parties, s.small, FRAME_WIDTH),
        Gap(4),
        _invoice_table(document, fmt, t),
    ]
    mention = RULE_MENTIONS[document.rule.value]
    if mention:
        parts.append(Gap(3))
        parts.append(_text(t(mention), s.body, FRAME_WIDTH, bold=True))
    return parts


def _self_billing(
    statement: Statement, documents: Sequence[Document], fmt: MoneyFormat, t: Gettext
) -> list[Any]:
    if not documents:
        return []
    story: list[Any] = []
    for document in documents:
        story.extend(_document(statement, document, fmt, t))
    gross = sum(d.gross_minor for d in documents)
    currency = documents[0].currency
    story.append(Gap(6))
    story.append(
        _figure_table(
            [
                (t(N_("Amount payable")), fmt.money(statement.amount_payable), False),
                (
                    t(N_("VAT")),
                    fmt.money(from_minor(sum(d.vat_minor for d in documents), currency)),
                    False,
                ),
                (t(N_("Amount transferred")), fmt.money(from_minor(gross, currency)), True),
            ],
            CONTENT_WIDTH * 0.7,
            t(N_("Self-billing")),
            label_share=0.68,
        )
    )
    return story


# -- the document -------------------------------------------------------------------


def _checked_hash(statement: Statement) -> str:
    """The hash to print: the one `seal` gave this statement, else its content's; a
    statement carrying a hash that is not its content's is refused."""
    sealed = sealed_hash(statement)
    if sealed is not None:
        return sealed
    digest = compute_hash(statement)
    if statement.content_hash is not None and statement.content_hash != digest:
        raise ValueError(
            f"statement carries content hash {statement.content_hash}, its content hashes to"
            f" {digest}"
        )
    return digest


def _story(
    statement: Statement,
    fmt: MoneyFormat,
    t: Gettext,
    payout: PayoutState | None,
    documents: Sequence[Document],
) -> list[Any]:
    story: list[Any] = [_header(statement, fmt, t), Gap(8), _summary(statement, fmt, t, payout)]
    if statement.tier is not None:
        story.extend(_tier(statement.tier, fmt, t))
    story.extend(_subtotals(statement, fmt, t))
    story.extend(
        _section(
            PAYABLE_HEADING,
            statement.lines_of(LineKind.earning, LineKind.clawback, LineKind.adjustment),
            fmt,
            t,
            PAYABLE_TOTAL_LABEL,
            statement.activity_total,
            N_("No earnings, clawbacks or adjustments in this period."),
        )
    )
    story.extend(_manual_reasons(statement, t))
    story.extend(
        _section(
            PAYOUT_HEADING,
            statement.lines_of(LineKind.payout),
            fmt,
            t,
            PAYOUT_TOTAL_LABEL,
            statement.payouts_total,
            None,
        )
    )
    story.extend(
        _section(
            MARGIN_HEADING,
            statement.lines_of(LineKind.margin),
            fmt,
            t,
            MARGIN_TOTAL_LABEL,
            statement.margin_earned_total,
            None,
        )
    )
    story.extend(_totals(statement, fmt, t))
    story.extend(_self_billing(statement, documents, fmt, t))
    return story


def render_pdf(
    statement: Statement, payout: PayoutState | None = None, documents: Sequence[Document] = ()
) -> bytes:
    """The statement as PDF bytes; the same statement (and payout state) always gives
    the same bytes. `payout` is what the bank did with the statement's payout, when
    known; it is printed beside the reference, outside the hashed content. `documents`
    are the self-billed invoice (and credit notes) issued with the statement's payout,
    printed after the totals, also outside the hashed content.

    The hash printed is the statement's ``content_hash`` (computed when the
    statement does not carry one yet); a statement carrying a hash that is not the
    hash of its content is refused rather than printed with a wrong hash.
    """
    digest = _checked_hash(statement)
    f = fonts()
    fmt = money_format(statement.partner_locale, statement.payout_currency)
    t = words(statement.partner_locale)
    issued = statement.issued_on
    statement_label = t(N_("statement %(period)s")) % {"period": statement.period}
    furniture = _Furniture(
        running_title=_plain(
            f"{statement.partner_name} \u00b7 {statement.partner_id} \u00b7 {statement_label}"
        ),
        hash_text=t(N_("Content hash (SHA-256): %(hash)s")) % {"hash": digest},
        versions_text=_plain(_versions_text(statement.plan_versions, t)),
        pdf_date=f"D:{issued.year:04d}{issued.month:02d}{issued.day:02d}000000+00'00'",
        page_label=t(N_("Page %(number)s of %(total)s")),
    )
    pages = paginate(_story(statement, fmt, t, payout, documents))
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1, initialFontName=f.regular)
    # The creation date is the issue date, not the clock: same bytes every time.
    canvas.setDateFormatter(lambda *_: furniture.pdf_date)
    canvas.setAuthor("partner-payouts")
    canvas.setTitle(
        t(N_("Partner statement %(partner)s %(period)s"))
        % {"partner": statement.partner_id, "period": statement.period}
    )
    canvas.setSubject(t(N_("content hash %(hash)s")) % {"hash": digest})
    canvas.setCreator("partner-payouts")
    for number, page in enumerate(pages, start=1):
        draw_page(canvas, page)
        furniture.draw(canvas, number, len(pages))
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()
