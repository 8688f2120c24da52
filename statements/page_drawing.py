"""Ink for a laid-out statement page: strings through `statements.page_text`, which
writes reportlab's own text operators, and rectangles, rules and fills on the canvas.

Tables are drawn in reportlab's order (fills, then cell text row by row, then rules),
with its rules' round caps and joins, so that what overlaps overlaps the same way.
"""

from __future__ import annotations

from typing import Any

from reportlab.pdfbase.pdfmetrics import stringWidth

from statements.page_layout import (
    Bar,
    Columns,
    Flowed,
    Gap,
    Page,
    Row,
    Stack,
    Table,
    TextLines,
    TextStyle,
)
from statements.page_text import StringWriter, draw_moved_string

__all__ = ["BAR_WIDTH", "LABEL_WIDTH", "Pen", "draw_block", "draw_page"]

ROUND = 1
"""reportlab's default cap and join of table rules."""


class Pen:
    """The canvas with the fill colour and font last set, so that a run of strings in
    one style sets them once (as reportlab's table drawing does)."""

    __slots__ = ("canvas", "fill", "style", "writer")

    def __init__(self, canvas: Any) -> None:
        self.canvas = canvas
        self.fill: Any = None
        self.style: TextStyle | None = None
        self.writer = StringWriter(canvas)

    def text_style(self, style: TextStyle) -> None:
        current = self.style
        canvas = self.canvas
        if self.fill is not style.color:
            canvas.setFillColor(style.color)
            self.fill = style.color
        if current is style:
            return
        if (
            current is None
            or current.font != style.font
            or current.size != style.size
            or current.leading != style.leading
        ):
            canvas.setFont(style.font, style.size, style.leading)
            self.writer.use()
        self.style = style

    def fill_colour(self, colour: Any) -> None:
        if self.fill is not colour:
            self.canvas.setFillColor(colour)
            self.fill = colour

    def forget(self) -> None:
        """After a drawing that set colours or fonts behind the pen's back."""
        self.fill = None
        self.style = None


def _text_lines(pen: Pen, block: TextLines, x: float, y: float) -> None:
    style = block.style
    pen.text_style(style)
    canvas = pen.canvas
    baseline = y + block.height - style.size
    for line in block.lines:
        if block.right:
            width = stringWidth(line, style.font, style.size)
            draw_moved_string(canvas, x, baseline, block.width - width, line)
        else:
            pen.writer.left(x, baseline, line)
        baseline -= style.leading


def _flowed(pen: Pen, block: Flowed, x: float, y: float) -> None:
    block.flowable.drawOn(pen.canvas, x, y)
    pen.forget()


LABEL_WIDTH = 170.0
BAR_WIDTH = 120.0
BAR_HEIGHT = 7.0


def _bar(pen: Pen, block: Bar, x: float, y: float) -> None:
    canvas = pen.canvas
    empty, met, progress = block.colours
    baseline = y + 4.0
    pen.text_style(block.style)
    pen.writer.left(x, baseline, block.label)
    left = x + LABEL_WIDTH
    bottom = baseline - 1
    pen.fill_colour(empty)
    canvas.setStrokeColor(empty)
    canvas.roundRect(left, bottom, BAR_WIDTH, BAR_HEIGHT, 2, stroke=0, fill=1)
    filled = block.share * BAR_WIDTH
    if filled > 0:
        pen.fill_colour(met if block.met else progress)
        canvas.roundRect(left, bottom, max(filled, 3.0), BAR_HEIGHT, 2, stroke=0, fill=1)
    pen.fill_colour(block.style.color)
    pen.writer.left(left + BAR_WIDTH + 8, baseline, block.figures)


def _fills(pen: Pen, table: Table, x: float, tops: list[float]) -> None:
    canvas = pen.canvas
    if table.background is not None:
        pen.fill_colour(table.background)
        canvas.rect(x, tops[-1], table.width, tops[0] - tops[-1], stroke=0, fill=1)
    if table.stripe is not None:
        pen.fill_colour(table.stripe)
        for index, each in enumerate(table.rows):
            if each.shape.striped and (index - table.repeat) % 2:
                canvas.rect(x, tops[index + 1], table.width, each.height, stroke=0, fill=1)
    for index, each in enumerate(table.rows):
        if each.shape.background is not None:
            pen.fill_colour(each.shape.background)
            canvas.rect(x, tops[index + 1], table.width, each.height, stroke=0, fill=1)


def _row_text(pen: Pen, each: Row, x: float, top: float) -> None:
    shape = each.shape
    style = shape.style
    pen.text_style(style)
    writer = pen.writer
    first = top - shape.top - style.size
    for cell, value in zip(shape.cells, each.values, strict=True):
        if value.__class__ is str:
            if not value:
                continue
            draw = writer.right if cell.right else writer.left
            if "\n" not in value:
                draw(x + cell.x, first, value)
                continue
            baseline = first
            for line in value.split("\n"):
                draw(x + cell.x, baseline, line)
                baseline -= style.leading
        else:
            draw_block(pen, value, x + cell.x, top - shape.top - value.height)
            pen.text_style(style)


def _rule(canvas: Any, rule: tuple[float, Any], x0: float, x1: float, y: float) -> None:
    canvas.setStrokeColor(rule[1])
    canvas.setLineWidth(rule[0])
    canvas.line(x0, y, x1, y)


def _rules(pen: Pen, table: Table, x: float, tops: list[float]) -> None:
    canvas = pen.canvas
    right = x + table.width
    if table.box is not None:
        _rule(canvas, table.box, x, right, tops[0])
        canvas.line(x, tops[-1], right, tops[-1])
        canvas.line(x, tops[-1], x, tops[0])
        canvas.line(right, tops[-1], right, tops[0])
    for index, each in enumerate(table.rows):
        if each.shape.rule_above is not None:
            _rule(canvas, each.shape.rule_above, x, right, tops[index])
        if each.shape.rule_below is not None:
            _rule(canvas, each.shape.rule_below, x, right, tops[index + 1])
    if table.rule_at_bottom is not None:
        _rule(canvas, table.rule_at_bottom, x, right, tops[-1])


def _table(pen: Pen, table: Table, x: float, y: float) -> None:
    tops = [y + table.height]
    for each in table.rows:
        tops.append(tops[-1] - each.height)
    _fills(pen, table, x, tops)
    for index, each in enumerate(table.rows):
        _row_text(pen, each, x, tops[index])
    if (
        table.box is not None
        or table.rule_at_bottom is not None
        or any(
            each.shape.rule_above is not None or each.shape.rule_below is not None
            for each in table.rows
        )
    ):
        _rules(pen, table, x, tops)


def _stack(pen: Pen, stack: Stack, x: float, top: float) -> None:
    if not stack.blocks:
        return
    y = top + stack.blocks[0].space_before
    for block in stack.blocks:
        y -= block.space_before
        y -= block.height
        draw_block(pen, block, x + stack.x, y)
        y -= block.space_after


def _columns(pen: Pen, block: Columns, x: float, y: float) -> None:
    top = y + block.height - block.top
    for stack in block.stacks:
        _stack(pen, stack, x, top)
    if block.rule_below is not None:
        _rule(pen.canvas, block.rule_below, x, x + block.width, y)


_DRAW: dict[type, Any] = {
    TextLines: _text_lines,
    Table: _table,
    Bar: _bar,
    Flowed: _flowed,
    Columns: _columns,
    Gap: lambda pen, block, x, y: None,
}


def draw_block(pen: Pen, block: Any, x: float, y: float) -> None:
    _DRAW[type(block)](pen, block, x, y)


def draw_page(canvas: Any, page: Page) -> None:
    """Everything placed on `page`, in the order it was placed."""
    pen = Pen(canvas)
    # Rules have round caps and joins, as reportlab's tables draw them; the page's
    # furniture after them is drawn with the canvas' defaults.
    canvas.setLineCap(ROUND)
    canvas.setLineJoin(ROUND)
    for placed in page.placed:
        draw_block(pen, placed.block, placed.x, placed.y)
    canvas.setLineCap(0)
    canvas.setLineJoin(0)
    canvas.setLineWidth(1)
