"""The partner statement as a PDF (reportlab platypus), from a Statement alone.

Never sees a database session: the builder fills a :class:`Statement`, this module
draws it. Nothing is rounded or recomputed here; every figure printed is a field of
the statement or one of its lines, formatted for the partner's locale with babel.

Layout (A4 portrait): a header (partner, period, issue date), a summary box with
the balance walk and the amount payable (resale margin shown apart, labelled as not
payable) next to the year-to-date figures, the tier progress (one drawn bar per
requirement of the next tier, the gap text and an at-risk warning), subtotals per
plan component, the line tables (payable lines; payouts; resale margin) whose header
row repeats on every page, the totals, and on every page a running header, the
content hash, the plan versions and "Page N of M" (two-pass canvas: pages are kept
until the end so that M is known).

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

import copy
import io
import os
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache, partial
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
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    LongTable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from payouts.tax.invoices import Document
from plans.money import from_minor
from statements.canonical import content_hash as compute_hash
from statements.language import N_, Gettext, hold_reason, metric_label, words
from statements.model import (
    COUNT_UNIT,
    LineKind,
    PayoutState,
    Statement,
    StatementLine,
    TierProgress,
)
from statements.page_text import (
    FastLongTable,
    FastTable,
    draw_right_string,
    draw_string,
    split_known_characters_at_once,
)

__all__ = ["FONT_SEARCH_PATHS", "MoneyFormat", "fonts", "money_format", "render_pdf"]

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_X = 15 * mm
MARGIN_TOP = 20 * mm
MARGIN_BOTTOM = 22 * mm
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN_X

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
                "FontFile2": file_ref,
                "MissingWidth": face.defaultWidth,
            }
        )
        return doc.Reference(descriptor, "fontDescriptor:" + fontname)

    face.addSubsetObjects = add_subset_objects


class _Formatted(pdfdoc.PDFObject):  # type: ignore[misc]  # reportlab is untyped
    """A PDF value formatted once: the bytes reportlab wrote for it the first time."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def format(self, document: Any) -> bytes:
        return self.data


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
            pdf_font = pdfdoc.PDFTrueTypeFont()
            pdf_font.__Comment__ = f"Font {font.fontName} subset {n}"
            pdf_font.Name = internal_name
            pdf_font.BaseFont = base_name
            pdf_font.FirstChar = 0
            pdf_font.LastChar = len(subset) - 1
            pdf_font.Widths = widths(tuple(subset), doc)
            pdf_font.ToUnicode = doc.Reference(
                to_unicode(base_name, tuple(subset), bool(doc.compression)),
                "toUnicodeCMap:" + base_name,
            )
            pdf_font.FontDescriptor = face.addSubsetObjects(doc, base_name, subset)
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
    if all(ord(c) in coverage for c in text):
        return text
    return "".join(_STAND_INS.get(ord(c), c) if ord(c) not in coverage else c for c in text)


def _covered(text: str) -> bool:
    coverage = fonts().coverage
    return all(ord(c) in coverage for c in text)


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
    if all(ord(c) in coverage for c in text):
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

    MEMO_LIMIT = 20_000
    """Formatted amounts kept per instance; past it the memo starts afresh."""

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
        return _plain(format_percent(rate, locale=self.locale, decimal_quantization=False))

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
class _Styles:
    title: ParagraphStyle
    name: ParagraphStyle
    body: ParagraphStyle
    small: ParagraphStyle
    small_right: ParagraphStyle
    heading: ParagraphStyle
    cell: ParagraphStyle
    warn: ParagraphStyle


@lru_cache(maxsize=1)
def _styles() -> _Styles:
    f = fonts()
    base = ParagraphStyle("base", fontName=f.regular, fontSize=9, leading=11.5, textColor=INK)
    return _Styles(
        title=ParagraphStyle("title", base, fontSize=8.5, textColor=MUTED, leading=11),
        name=ParagraphStyle("name", base, fontName=f.bold, fontSize=16, leading=20),
        body=base,
        small=ParagraphStyle("small", base, fontSize=8, leading=10, textColor=MUTED),
        small_right=ParagraphStyle(
            "small_right", base, fontSize=8, leading=10.5, alignment=TA_RIGHT
        ),
        heading=ParagraphStyle(
            "heading",
            base,
            fontName=f.bold,
            fontSize=10.5,
            leading=14,
            spaceBefore=8,
            spaceAfter=4,
        ),
        cell=ParagraphStyle("cell", base, fontSize=7.5, leading=9),
        warn=ParagraphStyle("warn", base, fontSize=8.5, leading=11, textColor=WARN),
    )


# -- paragraphs (parsed and broken into lines once per text, style and width) --------

PARAGRAPH_MEMO_LIMIT = 20_000
"""Paragraph texts (and their line breaks) kept per process; past it the memo starts afresh."""
_FRAGMENTS: dict[tuple[str, str], Any] = {}
_LINES: dict[tuple[str, str, float], tuple[list[float], Any, float]] = {}


class _Paragraph(Paragraph):  # type: ignore[misc]  # reportlab is untyped
    """A Paragraph whose line breaking is looked up: a statement's paragraphs are mostly
    the same labels, notes, periods and dates as the last statement's, in the same
    style and width, and reportlab parses the markup and breaks the lines anew for
    each. The memo holds reportlab's own result (`blPara`), which drawing only reads:
    same bytes."""

    _memo_key: tuple[str, str] | None = None
    # What reportlab's wrap sets (annotations only: the type checker cannot see them).
    _wrapWidths: list[float]
    blPara: Any
    height: float

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        if self._memo_key is None:  # a part of a split paragraph: reportlab's way
            return super().wrap(available_width, available_height)  # type: ignore[no-any-return]
        key = (*self._memo_key, available_width)
        known = _LINES.get(key)
        if known is None:
            size = super().wrap(available_width, available_height)
            if size[0]:  # not the "does not fit here" answer
                if len(_LINES) >= PARAGRAPH_MEMO_LIMIT:
                    _LINES.clear()
                _LINES[key] = (self._wrapWidths, self.blPara, self.height)
            return size  # type: ignore[no-any-return]
        self.width = available_width
        self._wrapWidths, self.blPara, self.height = known
        return available_width, self.height


def _paragraph(markup: str, style: ParagraphStyle) -> _Paragraph:
    """A paragraph of `markup` in `style`, its markup parsed once per process."""
    key = (markup, style.name)
    fragments = _FRAGMENTS.get(key)
    if fragments is None:
        paragraph = _Paragraph(markup, style)
        if len(_FRAGMENTS) >= PARAGRAPH_MEMO_LIMIT:
            _FRAGMENTS.clear()
        _FRAGMENTS[key] = paragraph.frags
    else:
        paragraph = _Paragraph(markup, style, frags=fragments)
    paragraph._memo_key = key
    return paragraph


# -- table layouts (style resolved once per shape) ----------------------------------

LAYOUT_LIMIT = 512
"""Table shapes kept per process; past it the memo starts afresh."""
_LAYOUTS: dict[Hashable, Table] = {}


def _laid_out(
    key: Hashable, make: Callable[[], Table], data: list[list[Any]], heights: list[float | None]
) -> Table:
    """A table of the shape `key` holding `data`, with the row `heights` given (None: let
    reportlab measure the row).

    reportlab resolves a table's style commands into a style for every cell, a large
    part of what a small table costs; a statement's tables come in a few shapes (rows,
    bold rows, shading) that recur on every statement. `make` builds the shape once (with
    blank cells); each table of that shape is a shallow copy of it with its own values
    and heights, sharing the resolved cell styles, which drawing only reads. The shape
    itself is never laid out or drawn, so no layout state is shared. Heights given are
    those reportlab would measure (`_string_row_height`): same bytes."""
    shape = _LAYOUTS.get(key)
    if shape is None:
        if len(_LAYOUTS) >= LAYOUT_LIMIT:
            _LAYOUTS.clear()
        shape = _LAYOUTS[key] = make()
    table = copy.copy(shape)
    table._cellvalues = data
    table._argH = table._rowHeights = heights
    return table


def _string_row_height(row: Sequence[Any], leading: float, padding: float) -> float | None:
    """A row's height as reportlab's ``Table._calc_height`` measures a row of strings
    (lines times the leading, plus the top and bottom padding); None for a row holding
    a flowable, which reportlab must wrap to measure."""
    lines = 1
    for cell in row:
        if not isinstance(cell, str):
            return None
        lines = max(lines, cell.count("\n") + 1)
    return leading * lines + padding


# -- flowables ----------------------------------------------------------------------


class _RequirementBar(Flowable):  # type: ignore[misc]  # reportlab is untyped
    """One tier requirement: label, a progress bar toward the threshold, the figures."""

    LABEL_WIDTH = 170.0
    BAR_WIDTH = 120.0
    BAR_HEIGHT = 7.0

    def __init__(self, label: str, share: Decimal, figures: str, met: bool) -> None:
        super().__init__()
        self.label = label
        self.share = share
        self.figures = figures
        self.met = met
        self.width = CONTENT_WIDTH
        self.height = 14.0

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return (self.width, self.height)

    def draw(self) -> None:
        f = fonts()
        canvas = self.canv
        baseline = 4.0
        canvas.setFont(f.regular, 8)
        canvas.setFillColor(INK)
        draw_string(canvas, 0, baseline, _fit(self.label, self.LABEL_WIDTH - 6, f.regular, 8))
        x = self.LABEL_WIDTH
        y = baseline - 1
        canvas.setFillColor(BAR_BG)
        canvas.setStrokeColor(BAR_BG)
        canvas.roundRect(x, y, self.BAR_WIDTH, self.BAR_HEIGHT, 2, stroke=0, fill=1)
        filled = float(self.share) * self.BAR_WIDTH  # geometry, not money
        if filled > 0:
            canvas.setFillColor(BAR_MET if self.met else ACCENT)
            canvas.roundRect(x, y, max(filled, 3.0), self.BAR_HEIGHT, 2, stroke=0, fill=1)
        canvas.setFillColor(INK)
        canvas.setFont(f.regular, 8)
        text_x = x + self.BAR_WIDTH + 8
        draw_string(canvas, text_x, baseline, _fit(self.figures, self.width - text_x, f.regular, 8))


# -- the document -------------------------------------------------------------------

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

PAYABLE_HEADING = N_("Earnings, clawbacks and adjustments")
PAYABLE_TOTAL_LABEL = N_("Total earnings, clawbacks and adjustments")
PAYOUT_HEADING = N_("Other payouts in the period")
PAYOUT_TOTAL_LABEL = N_("Total of other payouts")
MARGIN_HEADING = N_("Resale margin earned (not payable)")
MARGIN_TOTAL_LABEL = N_("Total margin earned (not payable)")


def _cell(text: str, width: float, font: str) -> Any:
    """A one-line table cell: a plain string when the main font covers it (fast), a
    Paragraph with CJK runs otherwise."""
    fitted = _fit(_plain(text), width - 2 * _CELL_PAD, font, _CELL_FONT_SIZE)
    if _covered(fitted):
        return fitted
    return _paragraph(_markup(fitted), _styles().cell)


def _line_rows(
    lines: Sequence[StatementLine], fmt: MoneyFormat, t: Gettext
) -> tuple[list[list[Any]], list[int]]:
    f = fonts()
    rows: list[list[Any]] = []
    prior_rows: list[int] = []
    w = _LINE_WIDTHS
    for index, line in enumerate(lines, start=1):
        day = line.date.isoformat()
        if line.prior_period is not None:
            day = f"{day}\n" + t(N_("for %(period)s")) % {"period": line.prior_period}
            prior_rows.append(index)
        base = fmt.money(line.base_amount, line.base_currency)
        if line.fx_rate is not None:
            base = f"{base}\n" + t(N_("\u00d7 %(rate)s fx")) % {"rate": fmt.number(line.fx_rate)}
        rows.append(
            [
                day,
                _cell(line.source_fact, w[1], f.regular),
                _cell(line.customer or "", w[2], f.regular),
                _cell(line.component, w[3], f.regular),
                base,
                fmt.rate(line.rate),
                fmt.money(line.amount),
            ]
        )
    return rows, prior_rows


@lru_cache(maxsize=1)
def _line_table_head() -> tuple[tuple[Any, ...], ...]:
    """The style commands of every line table that do not depend on its rows: built
    once per process, like the paragraph styles."""
    f = fonts()
    return (
        ("FONT", (0, 0), (-1, -1), f.regular, _CELL_FONT_SIZE, 9),
        ("FONT", (0, 0), (-1, 0), f.bold, 10.5, 13),
        ("SPAN", (0, 0), (-1, 0)),
        ("LEFTPADDING", (0, 0), (-1, -1), _CELL_PAD),
        ("RIGHTPADDING", (0, 0), (-1, -1), _CELL_PAD),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        ("LEFTPADDING", (0, 0), (0, 0), 0),
        ("TOPPADDING", (0, 0), (-1, 0), 8),
        ("BOTTOMPADDING", (0, 0), (-1, 0), 4),
        ("FONT", (0, 1), (-1, 1), f.bold, _CELL_FONT_SIZE, 9),
    )


def _line_table(
    heading: str,
    lines: Sequence[StatementLine],
    fmt: MoneyFormat,
    t: Gettext,
    total_label: str,
    total: Decimal,
) -> LongTable:
    """The lines under a title row and a column header row, both repeated on every
    page the table runs onto, and a total row at the end."""
    rows, prior_rows = _line_rows(lines, fmt, t)
    blank = [""] * (len(_LINE_COLUMNS) - 1)
    data: list[list[Any]] = [
        [heading, *blank],
        [t(column) for column in _LINE_COLUMNS],
        *rows,
        [total_label, *blank[:-1], fmt.money(total)],
    ]
    # Leading and padding (bottom + top) of each row as the style commands set them.
    heights = [_string_row_height(data[0], 13, 4 + 8), _string_row_height(data[1], 9, 1.5 + 1.5)]
    heights += [_string_row_height(row, 9, 1.5 + 1.5) for row in rows]
    heights.append(_string_row_height(data[-1], 10, 1.5 + 3))
    key = ("lines", len(data), tuple(prior_rows))
    return _laid_out(key, partial(_line_shape, len(data), tuple(prior_rows)), data, heights)


def _line_shape(row_count: int, prior_rows: tuple[int, ...]) -> LongTable:
    f = fonts()
    last = row_count - 1
    commands: list[tuple[Any, ...]] = [
        *_line_table_head(),
        ("FONT", (0, last), (-1, last), f.bold, 8, 10),
        ("ALIGN", (4, 1), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 1), (-1, 1), PANEL),
        ("LINEBELOW", (0, 1), (-1, 1), 0.6, INK),
        # Shade every other row only: a white rectangle per row costs time and shows nothing.
        ("ROWBACKGROUNDS", (0, 2), (-1, last - 1), (None, colors.HexColor("#f7f8fa"))),
        ("LINEABOVE", (0, last), (-1, last), 0.8, INK),
        ("SPAN", (0, last), (-2, last)),
        ("ALIGN", (0, last), (0, last), "LEFT"),
        ("TOPPADDING", (0, last), (-1, last), 3),
    ]
    commands.extend(("BACKGROUND", (0, row + 1), (-1, row + 1), PRIOR) for row in prior_rows)
    return FastLongTable(
        [[""] * len(_LINE_COLUMNS) for _ in range(row_count)],
        colWidths=_LINE_WIDTHS,
        repeatRows=2,
        style=TableStyle(commands),
        hAlign="LEFT",
    )


def _header(statement: Statement, fmt: MoneyFormat, t: Gettext) -> Table:
    s = _styles()
    partner = t(N_("Partner %(id)s \u00b7 %(type)s"))
    left = [
        _paragraph(escape(t(N_("PARTNER STATEMENT"))), s.title),
        _paragraph(_markup(statement.partner_name), s.name),
        _paragraph(
            _markup(partner % {"id": statement.partner_id, "type": statement.partner_type}),
            s.small,
        ),
    ]
    period = t(N_("Period %(period)s")) % {"period": statement.period}
    right = [
        _paragraph(f"<b>{escape(period)}</b>", s.small_right),
        _paragraph(
            escape(
                f"{fmt.long_date(statement.period_start)} \u2013 "
                f"{fmt.long_date(statement.period_end)}"
            ),
            s.small_right,
        ),
        _paragraph(
            escape(t(N_("Issued on %(date)s")) % {"date": statement.issued_on.isoformat()}),
            s.small_right,
        ),
        _paragraph(
            escape(t(N_("Payout currency %(currency)s")) % {"currency": statement.payout_currency}),
            s.small_right,
        ),
    ]
    table = FastTable([[left, right]], colWidths=(CONTENT_WIDTH * 0.62, CONTENT_WIDTH * 0.38))
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("LINEBELOW", (0, 0), (-1, 0), 1.2, INK),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return table


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
    data: list[list[Any]] = [[title, ""]]
    strong_rows: list[bool] = []
    label_width = width * label_share - 12
    for label, value, strong in rows:
        data.append([_fit(label, label_width, f.regular, 8.5), value])
        strong_rows.append(strong)
    heights = [_string_row_height(data[0], 12, 5 + 2)]
    heights += [
        _string_row_height(row, 12 if bold else 11, 2 + 2)
        for row, bold in zip(data[1:], strong_rows, strict=True)
    ]
    shape = tuple(strong_rows)
    key = ("figures", shape, width, label_share, background.hexval())
    return _laid_out(
        key, partial(_figure_shape, shape, width, background, label_share), data, heights
    )


def _figure_shape(
    strong_rows: tuple[bool, ...], width: float, background: Any, label_share: float
) -> Table:
    f = fonts()
    commands: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), f.regular, 8.5, 11),
        ("FONT", (0, 0), (-1, 0), f.bold, 9, 12),
        ("SPAN", (0, 0), (1, 0)),
        ("TEXTCOLOR", (0, 0), (-1, -1), INK),
        ("ALIGN", (1, 0), (1, -1), "RIGHT"),
        ("BOX", (0, 0), (-1, -1), 0.6, RULE),
        ("BACKGROUND", (0, 0), (-1, -1), background),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ("LEFTPADDING", (0, 0), (-1, -1), 6),
        ("RIGHTPADDING", (0, 0), (-1, -1), 6),
        ("BOTTOMPADDING", (0, 0), (-1, 0), 5),
    ]
    for row, strong in enumerate(strong_rows, start=1):
        if strong:
            commands.append(("FONT", (0, row), (-1, row), f.bold, 9, 12))
            commands.append(("LINEABOVE", (0, row), (-1, row), 0.6, INK))
    return FastTable(
        [["", ""] for _ in range(len(strong_rows) + 1)],
        colWidths=(width * label_share, width * (1 - label_share)),
        style=TableStyle(commands),
        hAlign="LEFT",
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
) -> Table:
    s = statement
    money = fmt.money
    left_width = CONTENT_WIDTH * 0.56
    right_width = CONTENT_WIDTH - left_width - 8
    left: list[Any] = [
        _figure_table(_balance_rows(s, fmt, t, payout), left_width, t(N_("Summary")))
    ]
    if s.holds:
        reasons = "; ".join(hold_reason(t, hold.code, hold.reason) for hold in s.holds)
        on_hold = t(N_("On hold:"))
        left.append(Spacer(1, 4))
        left.append(_paragraph(f"<b>{escape(on_hold)}</b> {_markup(reasons)}", _styles().warn))
    right: list[Any] = [
        _figure_table(
            [
                (t(N_("Margin earned")), money(s.margin_earned_total), False),
            ],
            right_width,
            t(N_("Resale margin (not payable)")),
            background=colors.white,
        ),
        _paragraph(
            escape(
                t(
                    N_(
                        "Margin you earned through your buy price; it is not part of the "
                        "amount payable."
                    )
                )
            ),
            _styles().small,
        ),
        Spacer(1, 6),
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
    ]
    table = FastTable([[left, right]], colWidths=(left_width + 8, right_width))
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (0, 0), 8),
            ]
        )
    )
    return table


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


def _tier(tier: TierProgress, fmt: MoneyFormat, t: Gettext) -> list[Any]:
    s = _styles()
    current = tier.current_tier or t(N_("no tier yet"))
    title = (
        t(N_("Tier: %(current)s \u2192 next tier %(next)s"))
        % {"current": current, "next": tier.next_tier}
        if tier.next_tier
        else t(N_("Tier: %(current)s (top tier)")) % {"current": current}
    )
    parts: list[Any] = [_paragraph(_markup(title), s.heading)]
    for requirement in tier.requirements:
        parts.append(
            _RequirementBar(
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
    at_risk = t(N_("At risk:"))
    if gap_text:
        parts.append(Spacer(1, 3))
        parts.append(_paragraph(_markup(gap_text), s.body))
    if tier.at_risk:
        warning = FastTable(
            [[_paragraph(f"<b>{escape(at_risk)}</b> {_markup(at_risk_text)}", s.warn)]],
            colWidths=(CONTENT_WIDTH,),
            style=TableStyle(
                [
                    ("BACKGROUND", (0, 0), (-1, -1), WARN_BG),
                    ("BOX", (0, 0), (-1, -1), 0.8, WARN),
                    ("LEFTPADDING", (0, 0), (-1, -1), 6),
                    ("TOPPADDING", (0, 0), (-1, -1), 4),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                ]
            ),
        )
        parts.append(Spacer(1, 4))
        parts.append(warning)
    return [KeepTogether(parts)]


def _subtotals(statement: Statement, fmt: MoneyFormat, t: Gettext) -> list[Any]:
    if not statement.subtotals:
        return []
    f = fonts()
    data: list[list[str]] = [[t(N_("Component")), t(N_("Kind")), t(N_("Lines")), t(N_("Amount"))]]
    margin = " " + t(N_("(margin, not payable)"))
    for subtotal in statement.subtotals:
        kind = subtotal.component_kind + ("" if subtotal.payable else margin)
        data.append(
            [
                _fit(_plain(subtotal.component), 190, f.regular, 8),
                _fit(_plain(kind), 170, f.regular, 8),
                str(subtotal.lines),
                fmt.money(subtotal.amount),
            ]
        )
    heights = [_string_row_height(row, 10, 1.5 + 1.5) for row in data]
    table = _laid_out(("subtotals", len(data)), partial(_subtotals_shape, len(data)), data, heights)
    heading = _paragraph(escape(t(N_("Subtotals by plan component"))), _styles().heading)
    return [KeepTogether([heading, table])]


def _subtotals_shape(row_count: int) -> Table:
    f = fonts()
    return FastTable(
        [[""] * 4 for _ in range(row_count)],
        colWidths=(200.0, 180.0, 40.0, CONTENT_WIDTH - 420.0),
        hAlign="LEFT",
        style=TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), f.regular, 8, 10),
                ("FONT", (0, 0), (-1, 0), f.bold, 8, 10),
                ("TEXTCOLOR", (0, 0), (-1, -1), INK),
                ("ALIGN", (2, 0), (-1, -1), "RIGHT"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.6, INK),
                ("BACKGROUND", (0, 0), (-1, 0), PANEL),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
            ]
        ),
    )


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
    return [
        KeepTogether(
            [
                _paragraph(escape(t(N_("Totals"))), _styles().heading),
                _figure_table(
                    rows, CONTENT_WIDTH * 0.7, t(N_("Statement totals")), label_share=0.68
                ),
                Spacer(1, 6),
                _paragraph(
                    _markup(t(N_("Plan versions: %(versions)s")) % {"versions": versions}),
                    _styles().small,
                ),
                _paragraph(escape(note), _styles().small),
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
    story: list[Any] = [_paragraph(escape(t(MANUAL_HEADING)), styles.heading)]
    for line in manual:
        steps = "; ".join(step for step in line.explanation.split("\n") if step)
        story.append(_paragraph(_markup(_plain(f"{line.source_fact}: {steps}")), styles.small))
    return [KeepTogether(story), Spacer(1, 6)]


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
            _paragraph(escape(t(heading)), s.heading),
            _paragraph(escape(t(empty_text)), s.small),
        ]
    # The heading is the table's first row: it repeats with the column header on
    # every page, so a continued page still says which lines it lists.
    return [
        CondPageBreak(40 * mm),
        _line_table(t(heading), lines, fmt, t, t(total_label), total),
    ]


# -- page furniture (two-pass: pages are held until their count is known) -----------


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


class _StatementCanvas(Canvas):  # type: ignore[misc]  # reportlab is untyped
    """Holds every page until the document ends, then draws each page's furniture
    ("Page N of M" needs M) and writes it: one layout pass, no second build."""

    def __init__(self, *args: Any, furniture: _Furniture, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._furniture = furniture
        self._held_pages: list[dict[str, Any]] = []
        # The creation date is the issue date, not the clock: same bytes every time.
        self.setDateFormatter(lambda *_: furniture.pdf_date)

    def showPage(self) -> None:  # reportlab's camelCase name
        self._held_pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._held_pages)
        for number, state in enumerate(self._held_pages, start=1):
            self.__dict__.update(state)
            self._furniture.draw(self, number, total)
            super().showPage()
        super().save()


def _canvas_maker(furniture: _Furniture) -> Callable[..., Canvas]:
    return partial(_StatementCanvas, furniture=furniture)


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


def _document(statement: Statement, document: Document, fmt: MoneyFormat, t: Gettext) -> list[Any]:
    s = _styles()
    f = fonts()
    money = fmt.money

    def amount(minor: int) -> str:
        return money(from_minor(minor, document.currency), document.currency)

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
    rate = fmt.rate(document.rate)
    header = [
        t(N_("Line")),
        t(N_("Description")),
        t(N_("Net")),
        t(N_("VAT rate")),
        t(N_("VAT")),
        t(N_("Gross")),
    ]
    data: list[list[Any]] = [header]
    for line in document.lines:
        data.append(
            [
                _cell(line.line_id, _INVOICE_WIDTHS[0], f.regular),
                _cell(line.description, _INVOICE_WIDTHS[1], f.regular),
                amount(line.net_minor),
                rate,
                amount(line.vat_minor),
                amount(line.gross_minor),
            ]
        )
    total_label = (
        t(N_("Total of the credit note"))
        if document.kind == "credit_note"
        else t(N_("Invoice total"))
    )
    data.append(
        [
            total_label,
            "",
            amount(document.net_minor),
            "",
            amount(document.vat_minor),
            amount(document.gross_minor),
        ]
    )
    last = len(data) - 1
    table = FastLongTable(
        data,
        colWidths=_INVOICE_WIDTHS,
        repeatRows=1,
        hAlign="LEFT",
        style=TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), f.regular, _CELL_FONT_SIZE, 9),
                ("FONT", (0, 0), (-1, 0), f.bold, _CELL_FONT_SIZE, 9),
                ("FONT", (0, last), (-1, last), f.bold, 8, 10),
                ("BACKGROUND", (0, 0), (-1, 0), PANEL),
                ("LINEBELOW", (0, 0), (-1, 0), 0.6, INK),
                ("LINEABOVE", (0, last), (-1, last), 0.8, INK),
                ("SPAN", (0, last), (1, last)),
                ("ALIGN", (2, 0), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
            ]
        ),
    )
    parts: list[Any] = [
        CondPageBreak(40 * mm),
        _paragraph(_markup(_document_title(document, t)), s.heading),
        _paragraph(_markup(parties), s.small),
        Spacer(1, 4),
        table,
    ]
    mention = RULE_MENTIONS[document.rule.value]
    if mention:
        parts.append(Spacer(1, 3))
        parts.append(_paragraph(f"<b>{escape(t(mention))}</b>", s.body))
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
    story.append(Spacer(1, 6))
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
    digest = compute_hash(statement)
    if statement.content_hash is not None and statement.content_hash != digest:
        raise ValueError(
            f"statement carries content hash {statement.content_hash}, its content hashes to"
            f" {digest}"
        )
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
    story: list[Any] = [
        _header(statement, fmt, t),
        Spacer(1, 8),
        _summary(statement, fmt, t, payout),
    ]
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

    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM,
        title=t(N_("Partner statement %(partner)s %(period)s"))
        % {"partner": statement.partner_id, "period": statement.period},
        author="partner-payouts",
        subject=t(N_("content hash %(hash)s")) % {"hash": digest},
        creator="partner-payouts",
        invariant=1,
        initialFontName=f.regular,
    )
    document.build(story, canvasmaker=_canvas_maker(furniture))
    return buffer.getvalue()
