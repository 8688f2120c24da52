"""How a period is accounted: under which plan version each fact is calculated, which
month it belongs to, and so which kind of ledger entry each line becomes.

Facts are grouped into segments by the month of their date and the plan version in
force on that date: a plan change in the middle of a month splits the month, and a
partner's assignment to a plan starts and ends on given days.

A fact dated in a month that is already closed (a late invoice, a payment of an old
invoice) is calculated under the plan in force in its own month, but a closed month
is never edited: its lines are filed in the open period as prior-period adjustments,
naming the month they belong to (`prior_period`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from payouts import plan_book
from payouts.periods import Month
from plans.line_kinds import LineKind
from plans.model import PlanVersion

if TYPE_CHECKING:
    from payouts.batch.calculation import PartnerWork

Spans = tuple[tuple[date, date | None], ...]
"""A partner's assignments to one plan: [from, to) each, in order."""


@dataclass(frozen=True, slots=True)
class Segment:
    """Days of one month (`start` to `end`) calculated under one plan version."""

    plan: PlanVersion
    plan_label: str
    month: str
    start: date
    end: date


def entry_kind(line_kind: LineKind, *, payable: bool, prior_period: str | None) -> LineKind:
    """The kind of entry a calculated line becomes: margin is never payable; any payable
    line of an earlier month is an adjustment; the rest keep the calculation's kind."""
    if not payable:
        return LineKind.margin
    if prior_period is not None:
        return LineKind.adjustment
    return LineKind.clawback if line_kind is LineKind.clawback else LineKind.earning


def plan_segments(
    works: Iterable[PartnerWork],
    assignments: list[plan_book.Assigned],
    timeline: plan_book.PlanTimeline,
    month: Month,
) -> dict[str, set[str]]:
    """Give each partner's work the segments of the months its new facts are dated in,
    for each plan it is assigned; return partner -> plan ids assigned."""
    by_partner: dict[str, set[str]] = defaultdict(set)
    # Indexed once: scanning every assignment for every partner and day was quadratic.
    by_pair: dict[tuple[str, str], list[plan_book.Assigned]] = defaultdict(list)
    for a in assignments:
        if a.partner_id is not None:
            by_partner[a.partner_id].add(a.plan_id)
            by_pair[(a.partner_id, a.plan_id)].append(a)
    segments: dict[tuple[str, str, Spans], list[Segment]] = {}
    for work in works:
        months = fact_months(work, month)
        for plan_id in sorted(by_partner.get(work.partner_id, ())):
            spans = tuple(
                sorted(
                    (
                        (a.effective_from, a.effective_to)
                        for a in by_pair[(work.partner_id, plan_id)]
                    ),
                    key=lambda span: (span[0], span[1] or date.max),
                )
            )
            for fact_month in months:
                key = (plan_id, fact_month, spans)
                if key not in segments:
                    segments[key] = month_segments(
                        timeline, spans, plan_id, Month.parse(fact_month)
                    )
                work.segments.extend(segments[key])
    return by_partner


def fact_months(work: PartnerWork, month: Month) -> list[str]:
    """Months of this partner's new facts: the period itself, plus any late ones."""
    start, end = month.start, month.end
    months = {str(month), *(str(Month.of(day)) for day in work.late_days)}
    for refund in work.refunds:
        if (f"refund:{refund.refund_id}", None) in work.allowed:
            months.add(str(Month.of(min(refund.refund_date, end))))
    for c in work.cancellations:
        if (f"cancellation:{c.cancellation_id}", None) in work.allowed:
            months.add(str(Month.of(min(c.end_date, end))))
    for deal in work.deals.values():
        if deal.close_date < start and (f"deal:{deal.deal_id}", None) in work.allowed:
            months.add(str(Month.of(deal.close_date)))
    return sorted(months)


def month_segments(
    timeline: plan_book.PlanTimeline,
    spans: Spans,
    plan_id: str,
    month: Month,
) -> list[Segment]:
    """Split a month by plan version and a partner's assignment `spans` to the plan
    ([from, to) each). Partners with the same spans share the result."""
    segments: list[Segment] = []
    day, end = month.start, month.end
    current: tuple[PlanVersion, date] | None = None
    while day <= end:
        assigned = any(since <= day and (until is None or day < until) for since, until in spans)
        plan = timeline.in_force(plan_id, day) if assigned else None
        if current is not None and (plan is None or plan != current[0]):
            segments.append(
                Segment(
                    current[0],
                    timeline.label(current[0]),
                    str(month),
                    current[1],
                    day - timedelta(days=1),
                )
            )
            current = None
        if plan is not None and current is None:
            current = (plan, day)
        day += timedelta(days=1)
    if current is not None:
        segments.append(
            Segment(current[0], timeline.label(current[0]), str(month), current[1], end)
        )
    return segments
