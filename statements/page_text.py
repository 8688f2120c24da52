"""Strings on a statement page, written straight into the page's content stream.

A statement prints about a hundred short strings a page (cells, labels, amounts),
each through reportlab's ``Canvas.drawString``: a text object is made, the string's
width is measured (and unused), the string is split into font subsets one character
at a time, and the operators are joined. `draw_string` writes the same operators
reportlab writes (reportlab 5.1, ``PDFTextObject`` with a TrueType font) for a string
of the document's first font subset, and the statement fonts look up a string whose
characters all have codes already at once (`split_known_characters_at_once`): nearly
every character of a statement has its code after the first lines, and an ASCII
string is its own codes. `StringWriter` writes a run of strings of one font setting
(a table's cells) the same way with the font looked up once. Anything else (a string
reaching past the first 256 codes of its font, an empty string, a font that is not
TrueType) is drawn by reportlab itself.
"""

from __future__ import annotations

from typing import Any

from reportlab import rl_config
from reportlab.lib.rl_accel import escapePDF, fp_str
from reportlab.pdfbase import pdfmetrics

__all__ = [
    "StringWriter",
    "draw_moved_string",
    "draw_right_string",
    "draw_string",
    "split_known_characters_at_once",
]

NBSP, SPACE = 0xA0, 0x20
"""reportlab prints a no-break space as the subset's space."""


def _encoded(canvas: Any, text: str) -> tuple[Any, bytes] | None:
    """The font and the one-subset codes of `text` in this document (new characters
    are given their codes as reportlab gives them), or None when reportlab must draw
    it (see the module's docstring)."""
    if not text:
        return None
    font = pdfmetrics.getFont(canvas._fontname)
    if not font._dynamicFont:
        return None
    parts = font.splitString(text, canvas._doc)
    if len(parts) != 1 or parts[0][0] != 0:
        return None  # reportlab draws it; the codes it was given stay the same
    return font, parts[0][1]


def split_known_characters_at_once(font: Any) -> None:
    """Make `font` split a string whose characters all have codes in the document's
    first subset at once; any other string is split by reportlab's ``splitString``
    (5.1), character by character, as before. The result is the same list: paragraphs,
    which reportlab draws itself, print the same bytes faster."""
    split = font.splitString
    readable = font._asciiReadable
    # reportlab gives ASCII characters their own codes in the first subset when the
    # font is "ASCII readable" (its default): an ASCII string is its own codes.
    ascii_codes = bool(rl_config.ttfAsciiReadable if readable is None else readable)

    def split_string(text: str, doc: Any, encoding: str = "utf-8") -> Any:
        state = font.state.get(doc)
        if state is not None and text and isinstance(text, str):
            if ascii_codes and text.isascii():
                return [(0, text.encode("ascii"))]
            assignments = state.assignments
            try:
                return [
                    (0, bytes([assignments[SPACE if c == NBSP else c] for c in map(ord, text)]))
                ]
            except (KeyError, ValueError):
                pass
        return split(text, doc, encoding)

    font.splitString = split_string


def _font_operators(canvas: Any, font: Any) -> str:
    """The subset font, size and leading operators of the canvas' current font, made
    once per document and font setting (a few a document)."""
    known: dict[tuple[str, float, float], str] | None = getattr(canvas, "_font_operators", None)
    if known is None:
        known = canvas._font_operators = {}
    key = (canvas._fontname, canvas._fontsize, canvas._leading)
    operators = known.get(key)
    if operators is None:
        operators = known[key] = (
            f"{font.getSubsetInternalName(0, canvas._doc)} "
            f"{fp_str(canvas._fontsize)} Tf {fp_str(canvas._leading)} TL"
        )
    return operators


def _write(canvas: Any, font: Any, x: float, y: float, codes: bytes) -> None:
    # What PDFTextObject writes for Canvas.drawString: origin, subset font, the string.
    canvas._code.append(
        f"BT 1 0 0 1 {fp_str(x, y)} Tm {_font_operators(canvas, font)} "
        f"({escapePDF(codes)}) Tj T* ET"
    )


def draw_moved_string(canvas: Any, x: float, y: float, shift: float, text: str) -> None:
    """`text` at (x + shift, y) written as reportlab's Paragraph writes a right-aligned
    line: the text object starts at x and moves by `shift` (a reader that extracts the
    text sees the move as a space before the line, as it did in platypus' pages)."""
    font = pdfmetrics.getFont(canvas._fontname)
    if not text or not font._dynamicFont:
        canvas.drawString(x + shift, y, text)
        return
    parts = font.splitString(text, canvas._doc)
    moved = fp_str(shift)
    out = [f"BT 1 0 0 1 {fp_str(x, y)} Tm {moved} 0 Td"]
    for subset, codes in parts:
        out.append(
            f"{font.getSubsetInternalName(subset, canvas._doc)} {fp_str(canvas._fontsize)} Tf"
            f" {fp_str(canvas._leading)} TL ({canvas._escape(codes)}) Tj"
        )
    out.append(f"T* {fp_str(-shift)} 0 Td ET")
    canvas._code.append(" ".join(out))


def draw_string(canvas: Any, x: float, y: float, text: str) -> None:
    """``canvas.drawString(x, y, text)``, the same bytes, faster."""
    encoded = _encoded(canvas, text)
    if encoded is None:
        canvas.drawString(x, y, text)
    else:
        _write(canvas, encoded[0], x, y, encoded[1])


def draw_right_string(canvas: Any, x: float, y: float, text: str) -> None:
    """``canvas.drawRightString(x, y, text)``, the same bytes, faster."""
    encoded = _encoded(canvas, text)
    if encoded is None:
        canvas.drawRightString(x, y, text)
    else:
        width = pdfmetrics.stringWidth(text, canvas._fontname, canvas._fontsize)
        _write(canvas, encoded[0], x - width, y, encoded[1])


class StringWriter:
    """`draw_string` and `draw_right_string` for a run of strings in the canvas'
    current font: the font, its size and its operators are looked up once per font
    setting (`use`), and an ASCII string, once the font has codes in this document, is
    written at once as its own codes. The same bytes as `draw_string`."""

    __slots__ = ("canvas", "font", "operators", "size")

    def __init__(self, canvas: Any) -> None:
        self.canvas = canvas
        self.font: Any = None
        self.size = 0.0
        self.operators: str | None = None

    def use(self) -> None:
        """After ``canvas.setFont``: the strings that follow are in that font."""
        canvas = self.canvas
        known: dict[tuple[str, float, float], tuple[Any, str]] | None = getattr(
            canvas, "_writer_settings", None
        )
        if known is None:
            known = canvas._writer_settings = {}
        key = (canvas._fontname, canvas._fontsize, canvas._leading)
        setting = known.get(key)
        if setting is not None:  # the font has codes in this document: it stays so
            self.font, self.operators = setting
            self.size = canvas._fontsize
            return
        self.font = pdfmetrics.getFont(canvas._fontname)
        self.size = canvas._fontsize
        self.operators = None
        if self.font._dynamicFont and self.font.state.get(canvas._doc) is not None:
            self.operators = _font_operators(canvas, self.font)
            known[key] = (self.font, self.operators)

    def left(self, x: float, y: float, text: str) -> None:
        operators = self.operators
        if operators is not None and text.isascii():
            self.canvas._code.append(
                f"BT 1 0 0 1 {fp_str(x, y)} Tm {operators} "
                f"({escapePDF(text.encode('ascii'))}) Tj T* ET"
            )
            return
        draw_string(self.canvas, x, y, text)
        font = self.font
        if operators is None and font._dynamicFont and font.state.get(self.canvas._doc):
            self.use()

    def right(self, x: float, y: float, text: str) -> None:
        if not self.font._dynamicFont:
            draw_right_string(self.canvas, x, y, text)
            return
        self.left(x - self.font.stringWidth(text, self.size), y, text)
