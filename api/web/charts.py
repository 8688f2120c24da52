"""Charts drawn on the server as SVG: no script, readable without JavaScript.

The geometry is computed here from Decimals (scaled to whole pixels, never floats
of money); the template only places the shapes. Each chart comes with its figures
as a table for screen readers and for copying.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from statements.model import TierRequirement
from statements.overview import MonthFigures

WIDTH = 720
HEIGHT = 220
TOP = 16
BOTTOM = 28
LEFT = 8
BAR_GAP = 2
MAX_BAR = 28


@dataclass(frozen=True, slots=True)
class Bar:
    x: int
    y: int
    width: int
    height: int
    kind: str
    """earnings, clawbacks or paid: the bar's CSS class."""
    title: str


@dataclass(frozen=True, slots=True)
class MonthChart:
    width: int
    height: int
    zero_y: int
    bars: tuple[Bar, ...]
    labels: tuple[tuple[int, str], ...]
    """(x of the label's centre, text)."""


def _px(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


def month_chart(months: tuple[MonthFigures, ...], label: dict[str, str]) -> MonthChart | None:
    """Three bars a month: earnings and payouts up, clawbacks down from the zero line.

    `label` maps each period to the text under its bars."""
    if not months:
        return None
    up = max([m.earnings for m in months] + [m.paid for m in months] + [Decimal(0)])
    down = max([-m.clawbacks for m in months] + [Decimal(0)])
    span = (up + down) or Decimal(1)
    plot = Decimal(HEIGHT - TOP - BOTTOM)
    zero_y = TOP + _px(plot * up / span)
    slot = (WIDTH - LEFT) // len(months)
    bar_width = max(4, min(MAX_BAR, (slot - 8) // 3 - BAR_GAP))
    inset = (slot - 3 * (bar_width + BAR_GAP)) // 2  # a month's bars centred in its slot
    bars: list[Bar] = []
    labels: list[tuple[int, str]] = []
    for index, month in enumerate(months):
        x = LEFT + index * slot + inset
        for offset, (kind, value) in enumerate(
            (("earnings", month.earnings), ("paid", month.paid), ("clawbacks", month.clawbacks))
        ):
            height = _px(plot * abs(value) / span)
            y = zero_y - height if value >= 0 else zero_y
            bars.append(
                Bar(x + offset * (bar_width + BAR_GAP), y, bar_width, height, kind, month.period)
            )
        labels.append((LEFT + index * slot + slot // 2, label[month.period]))
    return MonthChart(WIDTH, HEIGHT, zero_y, tuple(bars), tuple(labels))


def progress_percent(requirement: TierRequirement) -> int:
    """The share of the threshold reached, in whole percent (0 to 100), for a bar."""
    return _px(requirement.progress * 100)
