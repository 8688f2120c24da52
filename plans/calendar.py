"""Calendar arithmetic for plans: months, rebate periods. Pure; no clock."""

from __future__ import annotations

import calendar
import enum
from datetime import date


class RebatePeriod(enum.StrEnum):
    month = "month"
    quarter = "quarter"
    half_year = "half_year"
    year = "year"


_MONTHS = {
    RebatePeriod.month: 1,
    RebatePeriod.quarter: 3,
    RebatePeriod.half_year: 6,
    RebatePeriod.year: 12,
}


def add_months(day: date, months: int) -> date:
    """Same day ``months`` later, clamped to the month's end (Jan 31 + 1 -> Feb 28/29)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def month_end(day: date) -> date:
    return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])


def rebate_period_bounds(period: RebatePeriod, day: date) -> tuple[date, date]:
    """First and last day of the rebate period containing ``day`` (calendar aligned)."""
    size = _MONTHS[period]
    first_month = (day.month - 1) // size * size + 1
    start = date(day.year, first_month, 1)
    return start, month_end(add_months(start, size - 1))


def rebate_period_label(period: RebatePeriod, day: date) -> str:
    """``2026-Q1``, ``2026-H2``, ``2026-03``, ``2026``."""
    start, _ = rebate_period_bounds(period, day)
    if period is RebatePeriod.quarter:
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    if period is RebatePeriod.half_year:
        return f"{start.year}-H{(start.month - 1) // 6 + 1}"
    if period is RebatePeriod.month:
        return f"{start.year}-{start.month:02d}"
    return f"{start.year}"
