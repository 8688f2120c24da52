"""What the finance console shows of the months: each month's state and totals, and a
month's review a page at a time with its outliers flagged.

A month's state, in the order it moves: `open` (no draft yet), `draft` (run, not
approved), `approved`, `closed` (posted; payouts decided), `paid` (closed, and the
bank's result of every payout recorded). Totals are per currency: the draft's payable
lines before the close, the ledger's after it.

The review is `payouts.batch.review` (the same figures as `payouts batch review` and
the API), filtered, sorted and cut into pages here. An outlier is a partner whose
payable changed by more than `OUTLIER_CHANGE` against last month (or appeared from
nothing) while being at or above its plan's minimum payout: the few an approver
should look at among thousands.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from payouts.batch import payout_policy, review, service
from payouts.batch.models import Batch, DraftLine, PayoutInstruction, PayoutResult
from payouts.ledger import LedgerEntry
from payouts.periods import Period
from plans.money import from_minor

OUTLIER_CHANGE = Decimal("0.5")
PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


class MonthState(StrEnum):
    OPEN = "open"
    DRAFT = "draft"
    APPROVED = "approved"
    CLOSED = "closed"
    PAID = "paid"


@dataclass(frozen=True, slots=True)
class MonthSummary:
    period: str
    state: MonthState
    totals: dict[str, Decimal]
    """Currency -> payable total (the draft's, or once closed the ledger's)."""


def _sums(
    session: Session, model: type[DraftLine] | type[LedgerEntry], where: object
) -> dict[tuple[str, str], int]:
    query = (
        select(model.period, model.currency, func.sum(model.amount_minor))
        .where(where)  # type: ignore[arg-type]
        .group_by(model.period, model.currency)
    )
    return {(p, c): int(total or 0) for p, c, total in session.execute(query)}


def months(session: Session) -> list[MonthSummary]:
    """Every month the program knows, newest first, with its state and totals."""
    batches = {b.period: b.status for b in session.scalars(select(Batch))}
    known = {p.period: p.status for p in session.scalars(select(Period))}
    drafted = _sums(session, DraftLine, DraftLine.payable)
    posted = _sums(
        session,
        LedgerEntry,
        LedgerEntry.entry_kind.in_(("earning", "clawback", "adjustment", "payout_reversal")),
    )
    unpaid = set(
        session.scalars(
            select(PayoutInstruction.period)
            .outerjoin(PayoutResult, PayoutResult.instruction_id == PayoutInstruction.id)
            .where(PayoutResult.id.is_(None))
            .distinct()
        )
    )
    out = []
    for period in sorted(set(known) | set(batches), reverse=True):
        closed = known.get(period) == "closed" or batches.get(period) == "closed"
        if closed:
            state = MonthState.CLOSED if period in unpaid else MonthState.PAID
        else:
            state = MonthState(batches.get(period, "open"))
        source = posted if closed else drafted
        totals = {
            currency: from_minor(total, currency)
            for (p, currency), total in sorted(source.items())
            if p == period
        }
        out.append(MonthSummary(period, state, totals))
    return out


def is_outlier(total: review.PartnerTotal, minimum: payout_policy.Minimum | None) -> bool:
    """A change over OUTLIER_CHANGE (or from nothing) at or above the minimum payout
    (the close's own minimum, `payout_policy.minimums`)."""
    if (
        minimum is not None
        and minimum.currency == total.currency
        and total.payable < minimum.amount
    ):
        return False
    if total.payable <= 0 and total.previous <= 0:
        return False
    if total.previous == 0:
        return True
    return abs(total.change) > abs(total.previous) * OUTLIER_CHANGE


class SortKey(StrEnum):
    PARTNER = "partner"
    PAYABLE = "payable"
    CHANGE = "change"
    LINES = "lines"


@dataclass(frozen=True, slots=True)
class ReviewRow:
    total: review.PartnerTotal
    outlier: bool


@dataclass(frozen=True, slots=True)
class ReviewPage:
    review: review.Review
    rows: list[ReviewRow]
    page: int
    pages: int
    matching: int
    outliers: int


def _sort_key(key: SortKey) -> object:
    if key is SortKey.PAYABLE:
        return lambda r: (r.total.payable, r.total.partner_id)
    if key is SortKey.CHANGE:
        return lambda r: (abs(r.total.change), r.total.partner_id)
    if key is SortKey.LINES:
        return lambda r: (r.total.lines, r.total.partner_id)
    return lambda r: (r.total.partner_id, r.total.currency)


def review_page(
    session: Session,
    period: str,
    *,
    page: int = 1,
    size: int = PAGE_SIZE,
    partner: str = "",
    outliers_only: bool = False,
    sort: SortKey = SortKey.PARTNER,
    descending: bool = False,
) -> ReviewPage:
    """One page of the month's review: partners filtered (id contains `partner`; only
    outliers), sorted, `size` to a page."""
    whole, flagged = _reviewed(session, period)
    rows = list(flagged)
    outliers = sum(1 for r in rows if r.outlier)
    wanted = partner.strip().lower()
    if wanted:
        rows = [r for r in rows if wanted in r.total.partner_id.lower()]
    if outliers_only:
        rows = [r for r in rows if r.outlier]
    rows.sort(key=_sort_key(sort), reverse=descending)  # type: ignore[arg-type]
    size = max(1, min(size, MAX_PAGE_SIZE))
    pages = max(1, -(-len(rows) // size))
    page = max(1, min(page, pages))
    start = (page - 1) * size
    return ReviewPage(whole, rows[start : start + size], page, pages, len(rows), outliers)


_REVIEWED: OrderedDict[tuple[str, ...], tuple[review.Review, tuple[ReviewRow, ...]]] = OrderedDict()
_REVIEWED_LOCK = threading.Lock()
REVIEWS_KEPT = 8


def _reviewed(session: Session, period: str) -> tuple[review.Review, tuple[ReviewRow, ...]]:
    """The month's whole review with its outliers, computed once per draft.

    A draft named by its hash never changes (its lines, rep credit and payees are what
    the hash covers; last month is closed), so its review is kept, keyed by database,
    period, run, hash and status (an approval changes what the page says). A 10,000
    partner month aggregates 800,000 lines: seconds once, then each page reads from
    here (measured in `bench/bench_console.py`)."""
    batch = service.get(session, period)
    key = (
        session.get_bind().engine.url.render_as_string(hide_password=True),
        batch.period,
        str(batch.run_no),
        batch.draft_hash,
        batch.status,
    )
    with _REVIEWED_LOCK:
        kept = _REVIEWED.get(key)
        if kept is not None:
            _REVIEWED.move_to_end(key)
            return kept
    whole = review.review(session, period)
    minimums = payout_policy.minimums(session, period, {t.partner_id for t in whole.partners})
    rows = tuple(ReviewRow(t, is_outlier(t, minimums.get(t.partner_id))) for t in whole.partners)
    with _REVIEWED_LOCK:
        _REVIEWED[key] = (whole, rows)
        while len(_REVIEWED) > REVIEWS_KEPT:
            _REVIEWED.popitem(last=False)
    return whole, rows


@dataclass(frozen=True, slots=True)
class DraftLineView:
    line_no: int
    entry_kind: str
    component_id: str | None
    source_fact: str
    fact_date: str
    amount: Decimal
    currency: str
    payable: bool
    explanation: str


def partner_lines(session: Session, period: str, partner_id: str) -> list[DraftLineView]:
    """One partner's draft lines of the month, in order, with their explanations."""
    return [
        DraftLineView(
            line.line_no,
            line.entry_kind,
            line.component_id,
            line.source_fact,
            line.fact_date.isoformat(),
            from_minor(line.amount_minor, line.currency),
            line.currency,
            line.payable,
            line.explanation,
        )
        for line in session.scalars(
            select(DraftLine)
            .where(DraftLine.period == period, DraftLine.partner_id == partner_id)
            .order_by(DraftLine.line_no)
        )
    ]
