"""Where things go on a statement page: blocks, their heights, and pages.

The statement used to be laid out by reportlab's platypus (flowables in one frame of a
``SimpleDocTemplate``). This module computes the same positions itself, with the rules
platypus applied to that story, so that the pages look the same:

- one frame a page, inset 6 points from the margins (platypus' default frame padding);
- a block's space before is dropped at the top of a page and overlaps the space after
  the block above (``overlapAttachedSpace``);
- a kept-together group that does not fit in what is left of the page starts a page;
- a conditional break starts a page when less than its height is left;
- a table too tall for what is left is split between rows, and its first rows (heading
  and column header) are repeated at the top of the rest, as ``repeatRows`` did; a part
  must hold at least one row besides them.

Drawing is `statements.page_drawing`'s; the blocks here know their size, not their ink.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus.paragraph import split as split_words

__all__ = [
    "CONTENT_WIDTH",
    "FRAME_BOTTOM",
    "FRAME_TOP",
    "FRAME_WIDTH",
    "FRAME_X",
    "Bar",
    "Block",
    "Cell",
    "Columns",
    "CondBreak",
    "Flowed",
    "Gap",
    "Keep",
    "Page",
    "Placed",
    "Row",
    "RowShape",
    "Stack",
    "Table",
    "TextLines",
    "TextStyle",
    "cells",
    "flowed",
    "paginate",
    "row",
    "wrap_words",
]

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_X: float = 15 * mm
MARGIN_TOP: float = 20 * mm
MARGIN_BOTTOM: float = 22 * mm
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN_X
FRAME_PADDING = 6.0
FRAME_X = MARGIN_X + FRAME_PADDING
FRAME_WIDTH = CONTENT_WIDTH - 2 * FRAME_PADDING
FRAME_TOP = PAGE_HEIGHT - MARGIN_TOP - FRAME_PADDING
FRAME_BOTTOM = MARGIN_BOTTOM + FRAME_PADDING
FUZZ = 1e-6
"""platypus' tolerance when a block ends exactly at the bottom of the frame."""


@dataclass(frozen=True, slots=True)
class TextStyle:
    font: str
    size: float
    leading: float
    color: Any


def wrap_words(text: str, font: str, size: float, width: float) -> list[str] | None:
    """`text` broken into lines of at most `width` points as reportlab's Paragraph
    breaks a paragraph of one font (words split at white space other than no-break
    spaces, greedy, spaces may shrink by 5 %); None when a line would need its spaces
    shrunk or a word is wider than a line, which the caller leaves to reportlab."""
    words = split_words(text.strip())
    if not words or words == [""]:
        return []
    space = stringWidth(" ", font, size)
    shrink = 0.05 * space
    lines: list[str] = []
    line: list[str] = []
    current = -space
    for word in words:
        word_width = stringWidth(word, font, size)
        if word_width > width:
            return None
        wider = current + space + word_width
        if wider > width + shrink * len(line) and line:
            lines.append(" ".join(line))
            line, current = [word], word_width
        else:
            if wider > width:
                return None
            line.append(word)
            current = wider
    lines.append(" ".join(line))
    return lines


class Block(Protocol):
    """Something of a fixed size: a paragraph, a table, a bar, a gap."""

    @property
    def width(self) -> float: ...
    @property
    def height(self) -> float: ...
    @property
    def space_before(self) -> float: ...
    @property
    def space_after(self) -> float: ...
    @property
    def centred(self) -> bool:
        """Placed in the middle of the frame (platypus' hAlign CENTER), else at its left."""
        ...


@dataclass(frozen=True, slots=True)
class Gap:
    """Empty space (platypus' Spacer)."""

    height: float
    width: float = 1.0
    space_before: float = 0.0
    space_after: float = 0.0
    centred: bool = False


@dataclass(frozen=True, slots=True)
class TextLines:
    """A paragraph in one font, broken into lines; the first baseline is one font size
    under the top, the next ones a leading apart."""

    style: TextStyle
    lines: tuple[str, ...]
    width: float
    right: bool = False
    space_before: float = 0.0
    space_after: float = 0.0
    centred: bool = False

    @property
    def height(self) -> float:
        return self.style.leading * len(self.lines)


@dataclass(frozen=True, slots=True)
class Flowed:
    """A reportlab flowable (a paragraph of mixed fonts) drawn at our position: rare
    content, where reportlab's own line breaking is simplest."""

    flowable: Any
    width: float
    height: float
    space_before: float = 0.0
    space_after: float = 0.0
    centred: bool = False


def flowed(flowable: Any, width: float) -> Flowed:
    _, height = flowable.wrap(width, PAGE_HEIGHT)
    return Flowed(flowable, width, height, flowable.getSpaceBefore(), flowable.getSpaceAfter())


@dataclass(frozen=True, slots=True)
class Bar:
    """A tier requirement: label, a progress bar toward the threshold, the figures."""

    label: str
    share: float
    """Of the bar's length: geometry, not money."""
    figures: str
    met: bool
    style: TextStyle
    colours: tuple[Any, Any, Any]
    """The empty bar, the bar of a met requirement, the bar of one in progress."""
    width: float = CONTENT_WIDTH
    height: float = 14.0
    space_before: float = 0.0
    space_after: float = 0.0
    centred: bool = False


@dataclass(frozen=True, slots=True)
class Cell:
    """Where a cell's text starts (or ends, right-aligned), from the table's left."""

    x: float
    right: bool = False


@dataclass(frozen=True, slots=True)
class RowShape:
    """How a row of a table is drawn: font, padding, cells, fill and rules."""

    style: TextStyle
    top: float
    bottom: float
    cells: tuple[Cell, ...]
    background: Any = None
    striped: bool = False
    """Shaded every other row, counting from the first row after the repeated ones."""
    rule_above: tuple[float, Any] | None = None
    rule_below: tuple[float, Any] | None = None

    def height(self, values: Sequence[Any]) -> float:
        """Lines times the leading plus the padding, as reportlab measures a row."""
        lines = 1
        tallest = 0.0
        for value in values:
            if isinstance(value, str):
                lines = max(lines, value.count("\n") + 1)
            else:
                tallest = max(tallest, value.height)
        return max(self.style.leading * lines, tallest) + (self.bottom + self.top)


def cells(
    widths: Sequence[float], left: float, right: float, aligned_right: set[int]
) -> tuple[Cell, ...]:
    """One cell per column of `widths`, padded `left` and `right`."""
    out: list[Cell] = []
    x = 0.0
    for index, width in enumerate(widths):
        if index in aligned_right:
            out.append(Cell(x + width - right, True))
        else:
            out.append(Cell(x + left))
        x += width
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Row:
    shape: RowShape
    values: tuple[Any, ...]
    """A string (lines split at newlines) or a `Flowed` per cell of the shape."""
    height: float


def row(shape: RowShape, values: tuple[Any, ...]) -> Row:
    return Row(shape, values, shape.height(values))


@dataclass(frozen=True, slots=True)
class Table:
    """Rows of text in fixed columns; the first `repeat` rows head every part of a
    table split across pages."""

    width: float
    rows: tuple[Row, ...]
    repeat: int = 0
    stripe: Any = None
    background: Any = None
    box: tuple[float, Any] | None = None
    centred: bool = False
    space_before: float = 0.0
    space_after: float = 0.0
    rule_at_bottom: tuple[float, Any] | None = None
    """The rule above the row that went to the next page (reportlab draws it here too)."""
    height: float = field(init=False)

    def __post_init__(self) -> None:
        height = 0.0
        for each in self.rows:
            height += each.height
        object.__setattr__(self, "height", height)

    def split(self, height: float) -> tuple[Table, Table] | None:
        """reportlab's split between rows: as many rows as fit in `height`, more than the
        repeated ones; the rest under the repeated rows."""
        fitting = 0
        used = 0.0
        for each in self.rows:
            if used + each.height > height:
                break
            used += each.height
            fitting += 1
        if fitting <= self.repeat or fitting == len(self.rows):
            return None
        first = replace(
            self, rows=self.rows[:fitting], rule_at_bottom=self.rows[fitting].shape.rule_above
        )
        rest = replace(self, rows=self.rows[: self.repeat] + self.rows[fitting:])
        return first, rest


@dataclass(frozen=True, slots=True)
class Stack:
    """Blocks one under another in a table cell (platypus' list of flowables in a cell):
    each one's space before and after is kept, not overlapped."""

    blocks: tuple[Block, ...]
    x: float

    @property
    def height(self) -> float:
        if not self.blocks:
            return 0.0
        total = 0.0
        for block in self.blocks:
            total += block.height + block.space_after + block.space_before
        return total - self.blocks[0].space_before - self.blocks[-1].space_after


@dataclass(frozen=True, slots=True)
class Columns:
    """One row of stacked blocks side by side (the header and the summary)."""

    width: float
    stacks: tuple[Stack, ...]
    top: float
    bottom: float
    rule_below: tuple[float, Any] | None = None
    space_before: float = 0.0
    space_after: float = 0.0
    centred: bool = True

    @property
    def height(self) -> float:
        return max(stack.height for stack in self.stacks) + self.top + self.bottom


@dataclass(frozen=True, slots=True)
class Keep:
    """Blocks kept on one page when they fit on one."""

    blocks: Sequence[Block]


@dataclass(frozen=True, slots=True)
class CondBreak:
    """Start a page unless `height` points are left on this one."""

    height: float


Item = Block | Keep | CondBreak


@dataclass(frozen=True, slots=True)
class Placed:
    block: Block
    x: float
    y: float


@dataclass(slots=True)
class Page:
    placed: list[Placed] = field(default_factory=list)


@dataclass(slots=True)
class _Frame:
    pages: list[Page]
    y: float = FRAME_TOP
    at_top: bool = True
    after: float = 0.0
    """The space after the last block placed, which the next block's space before overlaps."""

    def new_page(self) -> None:
        self.pages.append(Page())
        self.y, self.at_top, self.after = FRAME_TOP, True, 0.0

    def before(self, block: Block) -> float:
        if self.at_top:
            return 0.0
        return max(float(block.space_before) - self.after, 0.0)

    def room(self, space: float) -> float:
        return self.y - FRAME_BOTTOM - space

    def add(self, block: Block) -> bool:
        space = self.before(block)
        if self.room(space) <= 0:
            return False
        y = self.y - (block.height + space)
        if y < FRAME_BOTTOM - FUZZ:
            return False
        x = FRAME_X + (FRAME_WIDTH - block.width) / 2 if block.centred else FRAME_X
        self.pages[-1].placed.append(Placed(block, x, y))
        self.y = y - block.space_after
        self.after = block.space_after
        self.at_top = False
        return True

    def condition(self, height: float) -> None:
        if self.room(0.0) < height:
            self.new_page()
        else:
            self.after = 0.0  # a zero-height block was placed

    def flow(self, block: Block) -> None:
        while not self.add(block):
            split: Callable[[float], Any] | None = getattr(block, "split", None)
            parts = split(self.room(self.before(block))) if split is not None else None
            if parts is None:
                if self.at_top:
                    raise ValueError(f"{type(block).__name__} is taller than a page")
                self.new_page()
                continue
            first, block = parts
            if not self.add(first):
                raise ValueError(f"a part of {type(block).__name__} does not fit")

    def keep(self, group: Keep) -> None:
        if not group.blocks:
            return
        total = _stacked_height(group.blocks)
        if total > self.room(self.before(group.blocks[0])) and not self.at_top:
            self.new_page()
        for block in group.blocks:
            self.flow(block)


def _stacked_height(blocks: Sequence[Block]) -> float:
    """The height of blocks one under another, without the first one's space before
    and the last one's space after (platypus' ``_listWrapOn``)."""
    height = 0.0
    after = 0.0
    for index, block in enumerate(blocks):
        height += block.height
        if index:
            height += max(block.space_before - after, 0.0)
        after = block.space_after
        height += after
    return height - after


def paginate(items: Sequence[Item]) -> list[Page]:
    """The items placed on as many pages as they need."""
    frame = _Frame([])
    frame.new_page()
    for item in items:
        if isinstance(item, Keep):
            frame.keep(item)
        elif isinstance(item, CondBreak):
            frame.condition(item.height)
        else:
            frame.flow(item)
    return frame.pages
