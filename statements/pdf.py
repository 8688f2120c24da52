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
CJK characters the main font lacks are set in the Adobe Asian CID font
``HeiseiKakuGo-W5``, which PDF viewers supply themselves (not embedded; a viewer
without Asian font support shows blanks there). Other missing characters print as
the font's missing-glyph box.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
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
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
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

from statements.canonical import content_hash as compute_hash
from statements.model import (
    COUNT_UNIT,
    LineKind,
    PayoutState,
    Statement,
    StatementLine,
    TierProgress,
)

__all__ = ["FONT_SEARCH_PATHS", "MoneyFormat", "fonts", "render_pdf"]

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
CJK_FONT = "HeiseiKakuGo-W5"


# -- fonts --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fonts:
    regular: str
    bold: str
    family: str
    """"DejaVu Sans" or "Bitstream Vera Sans": what was found."""
    coverage: frozenset[int]
    ellipsis: str


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
    pdfmetrics.registerFont(regular)
    pdfmetrics.registerFont(bold)
    pdfmetrics.registerFontFamily(
        "StatementSans",
        normal="StatementSans",
        bold="StatementSans-Bold",
        italic="StatementSans",
        boldItalic="StatementSans-Bold",
    )
    pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    coverage = frozenset(regular.face.charToGlyph)
    return Fonts(
        regular="StatementSans",
        bold="StatementSans-Bold",
        family=family,
        coverage=coverage,
        ellipsis="\u2026" if 0x2026 in coverage else "...",
    )


# Characters babel emits that some fonts lack, and a safe stand-in for each.
_STAND_INS = {0x202F: "\u00a0", 0x2009: "\u00a0", 0x2212: "-", 0xFFE5: "\u00a5"}


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return 0x2E80 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0xFF00 <= code <= 0xFFEF


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
    """Paragraph markup for ``text``: escaped, CJK runs switched to the CID font."""
    text = _plain(text)
    if _covered(text):
        return escape(text)
    coverage = fonts().coverage
    out: list[str] = []
    run: list[str] = []
    for char in text:
        if ord(char) not in coverage and _is_cjk(char):
            run.append(char)
            continue
        if run:
            out.append(f'<font name="{CJK_FONT}">{escape("".join(run))}</font>')
            run = []
        out.append(escape(char))
    if run:
        out.append(f'<font name="{CJK_FONT}">{escape("".join(run))}</font>')
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

    def __init__(self, locale: str, currency: str) -> None:
        self.locale = Locale.parse(locale)
        self.currency = currency

    def money(self, amount: Decimal, currency: str | None = None) -> str:
        text = format_currency(
            amount, currency or self.currency, locale=self.locale, decimal_quantization=False
        )
        return _plain(text)

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
        canvas.drawString(0, baseline, _fit(self.label, self.LABEL_WIDTH - 6, f.regular, 8))
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
        canvas.drawString(text_x, baseline, _fit(self.figures, self.width - text_x, f.regular, 8))


# -- the document -------------------------------------------------------------------

_LINE_COLUMNS = ("Date", "Source", "Customer", "Component", "Base", "Rate", "Amount")
_LINE_WIDTHS = (50.0, 88.0, 98.0, 108.0, 66.0, 30.0, 0.0)
_LINE_WIDTHS = (*_LINE_WIDTHS[:-1], CONTENT_WIDTH - sum(_LINE_WIDTHS[:-1]))
_CELL_FONT_SIZE = 7.5
_CELL_PAD = 3.0

PAYABLE_HEADING = "Earnings, clawbacks and adjustments"
PAYABLE_TOTAL_LABEL = "Total earnings, clawbacks and adjustments"
PAYOUT_HEADING = "Other payouts in the period"
PAYOUT_TOTAL_LABEL = "Total of other payouts"
MARGIN_HEADING = "Resale margin earned (not payable)"
MARGIN_TOTAL_LABEL = "Total margin earned (not payable)"


def _cell(text: str, width: float, font: str) -> Any:
    """A one-line table cell: a plain string when the main font covers it (fast), a
    Paragraph with CJK runs otherwise."""
    fitted = _fit(_plain(text), width - 2 * _CELL_PAD, font, _CELL_FONT_SIZE)
    if _covered(fitted):
        return fitted
    return Paragraph(_markup(fitted), _styles().cell)


def _line_rows(
    lines: Sequence[StatementLine], fmt: MoneyFormat
) -> tuple[list[list[Any]], list[int]]:
    f = fonts()
    rows: list[list[Any]] = []
    prior_rows: list[int] = []
    w = _LINE_WIDTHS
    for index, line in enumerate(lines, start=1):
        day = line.date.isoformat()
        if line.prior_period is not None:
            day = f"{day}\nfor {line.prior_period}"
            prior_rows.append(index)
        base = fmt.money(line.base_amount, line.base_currency)
        if line.fx_rate is not None:
            base = f"{base}\n\u00d7 {fmt.number(line.fx_rate)} fx"
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


def _line_table(
    heading: str,
    lines: Sequence[StatementLine],
    fmt: MoneyFormat,
    total_label: str,
    total: Decimal,
) -> LongTable:
    """The lines under a title row and a column header row, both repeated on every
    page the table runs onto, and a total row at the end."""
    f = fonts()
    rows, prior_rows = _line_rows(lines, fmt)
    blank = [""] * (len(_LINE_COLUMNS) - 1)
    data: list[list[Any]] = [
        [heading, *blank],
        list(_LINE_COLUMNS),
        *rows,
        [total_label, *blank[:-1], fmt.money(total)],
    ]
    last = len(data) - 1
    commands: list[tuple[Any, ...]] = [
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
    return LongTable(
        data, colWidths=_LINE_WIDTHS, repeatRows=2, style=TableStyle(commands), hAlign="LEFT"
    )


def _header(statement: Statement, fmt: MoneyFormat) -> Table:
    s = _styles()
    left = [
        Paragraph("PARTNER STATEMENT", s.title),
        Paragraph(_markup(statement.partner_name), s.name),
        Paragraph(
            _markup(f"Partner {statement.partner_id} \u00b7 {statement.partner_type}"), s.small
        ),
    ]
    right = [
        Paragraph(f"<b>Period {escape(statement.period)}</b>", s.small_right),
        Paragraph(
            escape(
                f"{fmt.long_date(statement.period_start)} \u2013 "
                f"{fmt.long_date(statement.period_end)}"
            ),
            s.small_right,
        ),
        Paragraph(escape(f"Issued on {statement.issued_on.isoformat()}"), s.small_right),
        Paragraph(escape(f"Payout currency {statement.payout_currency}"), s.small_right),
    ]
    table = Table([[left, right]], colWidths=(CONTENT_WIDTH * 0.62, CONTENT_WIDTH * 0.38))
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
    data: list[list[str]] = [[title, ""]]
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
    label_width = width * label_share - 12
    for label, value, strong in rows:
        data.append([_fit(label, label_width, f.regular, 8.5), value])
        if strong:
            row = len(data) - 1
            commands.append(("FONT", (0, row), (-1, row), f.bold, 9, 12))
            commands.append(("LINEABOVE", (0, row), (-1, row), 0.6, INK))
    return Table(
        data,
        colWidths=(width * label_share, width * (1 - label_share)),
        style=TableStyle(commands),
        hAlign="LEFT",
    )


def _summary(statement: Statement, fmt: MoneyFormat, payout: PayoutState | None) -> Table:
    s = statement
    money = fmt.money
    balance_rows = [
        ("Opening balance", money(s.opening_balance), False),
        ("Earnings", money(s.earnings_total), False),
        ("Clawbacks", money(s.clawbacks_total), False),
        ("Adjustments", money(s.adjustments_total), False),
    ]
    if s.payouts_total:
        # Payouts other than this statement's own (which is the amount payable below).
        balance_rows.append(("Other payouts in the period", money(s.payouts_total), False))
    balance_rows += [
        ("Closing balance", money(s.closing_balance), True),
        ("Carried forward", money(s.carry_forward), False),
        ("Amount payable", money(s.amount_payable), True),
    ]
    if s.payout_reference:
        balance_rows.append(("Paid by transfer, reference", _plain(s.payout_reference), False))
        if payout is not None:
            balance_rows.append(("Payout status", _plain(payout.describe()), False))
    left_width = CONTENT_WIDTH * 0.56
    right_width = CONTENT_WIDTH - left_width - 8
    left: list[Any] = [_figure_table(balance_rows, left_width, "Summary")]
    if s.holds:
        reasons = "; ".join(hold.reason for hold in s.holds)
        left.append(Spacer(1, 4))
        left.append(Paragraph(f"<b>On hold:</b> {_markup(reasons)}", _styles().warn))
    right: list[Any] = [
        _figure_table(
            [
                ("Margin earned", money(s.margin_earned_total), False),
            ],
            right_width,
            "Resale margin (not payable)",
            background=colors.white,
        ),
        Paragraph(
            "Margin you earned through your buy price; it is not part of the amount payable.",
            _styles().small,
        ),
        Spacer(1, 6),
        _figure_table(
            [
                ("Earnings", money(s.ytd.earnings), False),
                ("Clawbacks", money(s.ytd.clawbacks), False),
                ("Adjustments", money(s.ytd.adjustments), False),
                ("Paid", money(s.ytd.paid), True),
            ],
            right_width,
            f"Year to date {s.period[:4]}",
            background=colors.white,
        ),
    ]
    table = Table([[left, right]], colWidths=(left_width + 8, right_width))
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
    unit: str, actual: Decimal, threshold: Decimal, gap: Decimal, fmt: MoneyFormat
) -> str:
    def show(value: Decimal) -> str:
        return fmt.number(value) if unit == COUNT_UNIT else fmt.money(value, unit)

    progress = f"{show(actual)} / {show(threshold)}"
    return f"{progress} \u00b7 met" if gap <= 0 else f"{progress} \u00b7 {show(gap)} to go"


def _tier(tier: TierProgress, fmt: MoneyFormat) -> list[Any]:
    s = _styles()
    current = tier.current_tier or "no tier yet"
    title = (
        f"Tier: {current} \u2192 next tier {tier.next_tier}"
        if tier.next_tier
        else f"Tier: {current} (top tier)"
    )
    parts: list[Any] = [Paragraph(_markup(title), s.heading)]
    for requirement in tier.requirements:
        parts.append(
            _RequirementBar(
                _plain(requirement.metric),
                requirement.progress,
                _requirement_figures(
                    requirement.unit,
                    requirement.actual,
                    requirement.threshold,
                    requirement.gap,
                    fmt,
                ),
                requirement.gap <= 0,
            )
        )
    if tier.gap_text:
        parts.append(Spacer(1, 3))
        parts.append(Paragraph(_markup(tier.gap_text), s.body))
    if tier.at_risk:
        warning = Table(
            [[Paragraph(f"<b>At risk:</b> {_markup(tier.at_risk_text or '')}", s.warn)]],
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


def _subtotals(statement: Statement, fmt: MoneyFormat) -> list[Any]:
    if not statement.subtotals:
        return []
    f = fonts()
    data: list[list[str]] = [["Component", "Kind", "Lines", "Amount"]]
    for subtotal in statement.subtotals:
        kind = subtotal.component_kind + ("" if subtotal.payable else " (margin, not payable)")
        data.append(
            [
                _fit(_plain(subtotal.component), 190, f.regular, 8),
                _fit(_plain(kind), 170, f.regular, 8),
                str(subtotal.lines),
                fmt.money(subtotal.amount),
            ]
        )
    table = Table(
        data,
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
    return [KeepTogether([Paragraph("Subtotals by plan component", _styles().heading), table])]


def _totals(statement: Statement, fmt: MoneyFormat) -> list[Any]:
    s = statement
    money = fmt.money
    rows = [
        ("Opening balance", money(s.opening_balance), False),
        (PAYABLE_TOTAL_LABEL, money(s.activity_total), False),
    ]
    if s.payouts_total:
        rows.append((PAYOUT_TOTAL_LABEL, money(s.payouts_total), False))
    rows += [
        ("Closing balance", money(s.closing_balance), True),
        ("Carried forward", money(s.carry_forward), False),
        ("Amount payable", money(s.amount_payable), True),
        (MARGIN_TOTAL_LABEL, money(s.margin_earned_total), False),
    ]
    versions = ", ".join(s.plan_versions) or "none"
    return [
        KeepTogether(
            [
                Paragraph("Totals", _styles().heading),
                _figure_table(rows, CONTENT_WIDTH * 0.7, "Statement totals", label_share=0.68),
                Spacer(1, 6),
                Paragraph(_markup(f"Plan versions: {versions}"), _styles().small),
                Paragraph(
                    "Prior-period adjustments are highlighted and show the period they "
                    "adjust under their date. Every figure is the sum of the lines shown; "
                    "verify this statement with its content hash below.",
                    _styles().small,
                ),
            ]
        )
    ]


MANUAL_HEADING = "Manual adjustments and their reasons"
MANUAL_KIND = "manual"
"""The component kind of a manual adjustment's line (`payouts.adjustments`)."""


def _manual_reasons(statement: Statement) -> list[Any]:
    """Each manual adjustment's line with the reason finance gave (its explanation)."""
    manual = [
        line
        for line in statement.lines_of(LineKind.adjustment)
        if line.component_kind == MANUAL_KIND
    ]
    if not manual:
        return []
    styles = _styles()
    story: list[Any] = [Paragraph(MANUAL_HEADING, styles.heading)]
    for line in manual:
        steps = "; ".join(step for step in line.explanation.split("\n") if step)
        story.append(Paragraph(_markup(_plain(f"{line.source_fact}: {steps}")), styles.small))
    return [KeepTogether(story), Spacer(1, 6)]


def _section(
    heading: str,
    lines: Sequence[StatementLine],
    fmt: MoneyFormat,
    total_label: str,
    total: Decimal,
    empty_text: str | None,
) -> list[Any]:
    s = _styles()
    if not lines:
        if empty_text is None:
            return []
        return [Paragraph(escape(heading), s.heading), Paragraph(escape(empty_text), s.small)]
    # The heading is the table's first row: it repeats with the column header on
    # every page, so a continued page still says which lines it lists.
    return [CondPageBreak(40 * mm), _line_table(heading, lines, fmt, total_label, total)]


# -- page furniture (two-pass: pages are held until their count is known) -----------


def _draw_mixed(canvas: Any, x: float, y: float, text: str, size: float) -> None:
    """Draw ``text`` in the main font, switching to the CJK font for CJK runs it lacks."""
    f = fonts()
    coverage = f.coverage
    runs: list[tuple[str, str]] = []
    for char in _plain(text):
        font = f.regular if ord(char) in coverage or not _is_cjk(char) else CJK_FONT
        if runs and runs[-1][0] == font:
            runs[-1] = (font, runs[-1][1] + char)
        else:
            runs.append((font, char))
    for font, run in runs:
        canvas.setFont(font, size)
        canvas.drawString(x, y, run)
        x += float(pdfmetrics.stringWidth(run, font, size))


@dataclass(frozen=True, slots=True)
class _Furniture:
    running_title: str
    hash_text: str
    versions_text: str
    pdf_date: str

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
        page_text = f"Page {number} of {total}"
        canvas.drawRightString(PAGE_WIDTH - MARGIN_X, 12.5 * mm, page_text)
        text_width = CONTENT_WIDTH - float(pdfmetrics.stringWidth(page_text, f.bold, 7)) - 12
        canvas.drawString(MARGIN_X, 12.5 * mm, _fit(self.hash_text, text_width, f.regular, 6.5))
        canvas.drawString(MARGIN_X, 9.5 * mm, _fit(self.versions_text, text_width, f.regular, 6.5))
        canvas.restoreState()


def _canvas_maker(furniture: _Furniture) -> Callable[..., Canvas]:
    class StatementCanvas(Canvas):  # type: ignore[misc]  # reportlab is untyped
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
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
                furniture.draw(self, number, total)
                super().showPage()
            super().save()

    return StatementCanvas


def _versions_text(versions: Sequence[str]) -> str:
    if not versions:
        return "Plan versions: none"
    shown = list(versions[:3])
    more = len(versions) - len(shown)
    return (
        "Plan versions: "
        + ", ".join(shown)
        + (f" (+{more} more, listed in Totals)" if more else "")
    )


def render_pdf(statement: Statement, payout: PayoutState | None = None) -> bytes:
    """The statement as PDF bytes; the same statement (and payout state) always gives
    the same bytes. `payout` is what the bank did with the statement's payout, when
    known; it is printed beside the reference, outside the hashed content.

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
    fmt = MoneyFormat(statement.partner_locale, statement.payout_currency)
    issued = statement.issued_on
    furniture = _Furniture(
        running_title=_plain(
            f"{statement.partner_name} \u00b7 {statement.partner_id} \u00b7 statement "
            f"{statement.period}"
        ),
        hash_text=f"Content hash (SHA-256): {digest}",
        versions_text=_plain(_versions_text(statement.plan_versions)),
        pdf_date=f"D:{issued.year:04d}{issued.month:02d}{issued.day:02d}000000+00'00'",
    )
    story: list[Any] = [_header(statement, fmt), Spacer(1, 8), _summary(statement, fmt, payout)]
    if statement.tier is not None:
        story.extend(_tier(statement.tier, fmt))
    story.extend(_subtotals(statement, fmt))
    story.extend(
        _section(
            PAYABLE_HEADING,
            statement.lines_of(LineKind.earning, LineKind.clawback, LineKind.adjustment),
            fmt,
            PAYABLE_TOTAL_LABEL,
            statement.activity_total,
            "No earnings, clawbacks or adjustments in this period.",
        )
    )
    story.extend(_manual_reasons(statement))
    story.extend(
        _section(
            PAYOUT_HEADING,
            statement.lines_of(LineKind.payout),
            fmt,
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
            MARGIN_TOTAL_LABEL,
            statement.margin_earned_total,
            None,
        )
    )
    story.extend(_totals(statement, fmt))

    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM,
        title=f"Partner statement {statement.partner_id} {statement.period}",
        author="partner-payouts",
        subject=f"content hash {digest}",
        creator="partner-payouts",
        invariant=1,
        initialFontName=f.regular,
    )
    document.build(story, canvasmaker=_canvas_maker(furniture))
    return buffer.getvalue()
