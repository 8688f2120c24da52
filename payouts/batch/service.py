"""The batch lifecycle: run (draft), review, approve (maker-checker), close, mark paid.

- `run` calculates every partner's lines for the facts accounted in the period and
  replaces the draft whole; identical facts give identical lines and the same hash.
  Any recalculation voids an approval.
- `approve` is refused to the person who ran the batch, and binds the approval to
  the draft's content hash.
- `close` posts the approved lines to the append-only ledger, decides payouts
  (minimum threshold, holds, negative balances carried forward) and freezes the
  period. It is refused if the draft no longer matches what was approved or if facts
  arrived after the draft was calculated.
Only one run or close of a period happens at a time (an advisory lock on PostgreSQL;
SQLite's BEGIN IMMEDIATE serialises writers). Services never commit.
"""

from __future__ import annotations

import hashlib
import zlib
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import CursorResult, Table, delete, func, insert, select, text
from sqlalchemy.orm import Session

from payouts import audit, fx, ledger, periods, plan_book
from payouts.base import utcnow
from payouts.batch.calculation import (
    Line,
    PeriodWork,
    RepLine,
    calculate_partner,
    gather,
)
from payouts.batch.errors import (
    BatchBusy,
    BatchNotApproved,
    BatchNotFound,
    DraftChanged,
    EarlierPeriodOpen,
    MakerCheckerViolation,
    PeriodClosed,
)
from payouts.batch.models import Batch, DraftLine, PayoutHold, PayoutInstruction, RepCreditLine
from payouts.ledger import LedgerEntry
from payouts.periods import Month, Period
from payouts.reference.models import Partner
from plans.errors import MissingFxRate
from plans.money import Rounding, minor_exponent, round_money, to_minor

LINE_FIELDS = (
    "period", "partner_id", "line_no", "entry_kind", "prior_period", "plan_label",
    "component_id", "component_kind", "source_fact", "fact_date", "customer_id", "deal_id",
    "invoice_id", "base_minor", "base_currency", "rate", "fx_rate", "fx_source", "unrounded",
    "amount_minor", "currency", "explanation",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class RunResult:
    period: str
    partners: int
    lines: int
    draft_hash: str
    voided_approval: bool


def _lock(session: Session, period: str) -> None:
    """Take the period's batch lock for this transaction, or refuse at once."""
    if session.get_bind().dialect.name == "postgresql":
        key = zlib.crc32(f"partner-payouts batch {period}".encode())
        if not session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key}):
            raise BatchBusy(f"another batch operation on {period} is running; try again later")


def _period_row(session: Session, period: str) -> Period:
    periods.ensure(session, {period})
    row = session.scalars(select(Period).where(Period.period == period).with_for_update()).one()
    if row.status == "closed":
        raise PeriodClosed(f"period {period} is closed; late facts go to the next open period")
    earlier = session.scalars(
        select(Period.period)
        .where(Period.period < period, Period.status == "open", Period.fact_revision > 0)
        .order_by(Period.period)
    ).first()
    if earlier is not None:
        raise EarlierPeriodOpen(f"period {earlier} is still open: close it before {period}")
    return row


def _line_rows(period: str, work_lines: list[tuple[str, list[Line]]]) -> Iterator[dict[str, Any]]:
    for partner_id, lines in work_lines:
        for number, line in enumerate(lines, start=1):
            e = line.earning
            yield {
                "period": period,
                "partner_id": partner_id,
                "line_no": number,
                "entry_kind": line.entry_kind,
                "prior_period": line.prior_period,
                "plan_label": line.plan_label,
                "component_id": e.component_id,
                "component_kind": e.component_kind,
                "source_fact": e.source_fact,
                "fact_date": e.fact_date,
                "customer_id": e.customer_id,
                "deal_id": e.deal_id,
                "invoice_id": e.invoice_id,
                "base_minor": _base_minor(e.base_amount, e.base_currency),
                "base_currency": e.base_currency,
                "rate": _text(e.rate),
                "fx_rate": _text(e.fx_rate),
                "fx_source": e.fx_source,
                "unrounded": _text(e.unrounded),
                "amount_minor": to_minor(e.amount, e.currency),
                "currency": e.currency,
                "explanation": "\n".join(e.explanation),
                "payable": e.payable,
            }


def _base_minor(amount: Decimal, currency: str) -> int:
    # A base (e.g. a pro-rata share or a converted volume) may carry more digits than
    # the currency; the exact value lives in the explanation, the column keeps cents.
    return to_minor(round_money(amount, currency, Rounding.half_up), currency)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.normalize():f}"


def line_digest(rows: list[dict[str, Any]], rep_rows: list[dict[str, Any]]) -> str:
    """SHA-256 over every draft line and rep credit line, in their stored order.

    Each line contributes the repr of its field tuple (strings, integers, dates,
    booleans, None: all with exact, stable reprs), so the same lines always give the
    same digest whether they come from a calculation or back from the database."""
    digest = hashlib.sha256()
    fields = itemgetter(*LINE_FIELDS, "payable")
    for row in rows:
        digest.update(repr(fields(row)).encode())
        digest.update(b"\n")
    digest.update(b"--rep credit--\n")
    for row in rep_rows:
        digest.update(repr(tuple(row.values())).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def _compute(work: PeriodWork, workers: int) -> list[tuple[str, list[Line]]]:
    if workers <= 1 or len(work.partners) < 2 * workers:
        return [(w.partner_id, calculate_partner(w)) for w in work.partners]
    chunk = max(1, len(work.partners) // (workers * 8))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(calculate_partner, work.partners, chunksize=chunk))
    return [(w.partner_id, lines) for w, lines in zip(work.partners, results, strict=True)]


def _rep_rows(period: str, lines: list[RepLine]) -> list[dict[str, Any]]:
    return [
        {
            "period": period,
            "rep_id": r.rep_id,
            "deal_id": r.deal_id,
            "partner_ids": r.partner_ids,
            "via_partner": r.via_partner,
            "plan_label": r.plan_label,
            "credit_basis": r.credit_basis,
            "credit_minor": to_minor(r.credit, r.currency),
            "commission_rate": _text(r.commission_rate),
            "commission_minor": to_minor(r.commission, r.currency),
            "currency": r.currency,
            "explanation": r.explanation,
        }
        for r in lines
    ]


def run(session: Session, period: str, *, actor: str, workers: int = 1) -> RunResult:
    """Calculate the period's draft, replacing any earlier draft."""
    period = str(Month.parse(period))
    _lock(session, period)
    row = _period_row(session, period)
    work = gather(session, period, row.fact_revision)
    computed = _compute(work, workers)
    rows = list(_line_rows(period, computed))
    rep_rows = _rep_rows(period, work.rep_lines)
    digest = line_digest(rows, rep_rows)

    session.execute(delete(DraftLine).where(DraftLine.period == period))
    session.execute(delete(RepCreditLine).where(RepCreditLine.period == period))
    _insert_lines(session, rows)
    if rep_rows:
        session.execute(insert(cast(Table, RepCreditLine.__table__)), rep_rows)

    batch = session.get(Batch, period)
    voided = batch is not None and batch.status == "approved"
    now = utcnow()
    if batch is None:
        batch = Batch(period=period)
        session.add(batch)
    batch.status = "draft"
    batch.draft_hash = digest
    batch.fact_revision = row.fact_revision
    batch.line_count = len(rows)
    batch.calculated_by = actor
    batch.calculated_at = now
    batch.approved_by = batch.approved_at = batch.approved_hash = None
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="batch.run",
        subject_type="batch",
        subject_id=period,
        after={
            "draft_hash": digest,
            "lines": len(rows),
            "partners": len(computed),
            "approval_voided": voided,
        },
    )
    return RunResult(period, len(computed), len(rows), digest, voided)


def _insert_lines(session: Session, rows: list[dict[str, Any]]) -> None:
    """Store draft lines in order; COPY on PostgreSQL, where an executemany INSERT
    sends one statement per row (most of a large run's time went there)."""
    if session.get_bind().dialect.name != "postgresql" or len(rows) < 1_000:
        for start in range(0, len(rows), 10_000):
            session.execute(insert(cast(Table, DraftLine.__table__)), rows[start : start + 10_000])
        return
    columns = (*LINE_FIELDS, "payable")
    cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY draft_lines ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[k] for k in columns])


def get(session: Session, period: str) -> Batch:
    batch = session.get(Batch, str(Month.parse(period)))
    if batch is None:
        raise BatchNotFound(f"no batch for {period}: run `payouts batch run {period}` first")
    return batch


def approve(session: Session, period: str, *, actor: str) -> Batch:
    """Approve the current draft; refused to whoever calculated it."""
    batch = get(session, period)
    if batch.status == "closed":
        raise PeriodClosed(f"period {batch.period} is already closed")
    if batch.calculated_by == actor:
        raise MakerCheckerViolation(
            f"{actor} calculated the {batch.period} batch and cannot also approve it"
        )
    row = session.get(Period, batch.period)
    if row is not None and row.fact_revision != batch.fact_revision:
        raise DraftChanged(
            f"facts for {batch.period} arrived after the draft was calculated: run it again"
        )
    batch.status = "approved"
    batch.approved_by = actor
    batch.approved_at = utcnow()
    batch.approved_hash = batch.draft_hash
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="batch.approve",
        subject_type="batch",
        subject_id=batch.period,
        after={"approved_hash": batch.draft_hash},
    )
    return batch


def _stored_digest(session: Session, period: str) -> str:
    columns = [getattr(DraftLine, k) for k in (*LINE_FIELDS, "payable")]
    # Sorted here, not by ORDER BY: the database's collation may order partner ids
    # differently from Python, and the digest must not depend on the server's locale.
    rows = sorted(
        (
            dict(zip((*LINE_FIELDS, "payable"), r, strict=True))
            for r in session.execute(select(*columns).where(DraftLine.period == period))
        ),
        key=itemgetter("partner_id", "line_no"),
    )
    rep_columns = [c for c in RepCreditLine.__table__.c if c.name != "id"]
    rep_rows = [
        dict(zip([c.name for c in rep_columns], r, strict=True))
        for r in session.execute(
            select(*rep_columns).where(RepCreditLine.period == period).order_by(RepCreditLine.id)
        )
    ]
    return line_digest(rows, rep_rows)


@dataclass(frozen=True, slots=True)
class CloseResult:
    period: str
    posted: int
    payouts: int
    payable: dict[str, int]  # currency -> minor units
    held: dict[str, str]  # partner -> reason


def close(session: Session, period: str, *, actor: str) -> CloseResult:
    """Post the approved draft to the ledger, decide payouts and freeze the period."""
    period = str(Month.parse(period))
    _lock(session, period)
    batch = get(session, period)
    if batch.status == "closed":
        raise PeriodClosed(f"period {period} is already closed")
    row = _period_row(session, period)
    if batch.status != "approved" or batch.approved_hash is None:
        raise BatchNotApproved(f"the {period} batch is not approved")
    if row.fact_revision != batch.fact_revision:
        raise DraftChanged(
            f"facts for {period} arrived after the draft was calculated: run and approve again"
        )
    if _stored_digest(session, period) != batch.approved_hash:
        raise DraftChanged(f"the {period} draft lines differ from what was approved")

    now = utcnow()
    posted = _post_draft(session, period, actor, now)
    columns = ", ".join(LINE_FIELDS)
    session.execute(
        text(
            f"INSERT INTO margin_lines ({columns}, posted_at) "  # noqa: S608
            f"SELECT {columns}, :now FROM draft_lines "
            "WHERE period = :period AND NOT payable ORDER BY partner_id, line_no"
        ),
        {"now": now, "period": period},
    )
    payouts, held = _payouts(session, period, actor)
    row.status = "closed"
    batch.status = "closed"
    batch.closed_by = actor
    batch.closed_at = now
    session.flush()
    payable: dict[str, int] = defaultdict(int)
    for instruction in payouts:
        payable[instruction.currency] += instruction.amount_minor
    audit.record(
        session,
        actor=actor,
        action="batch.close",
        subject_type="batch",
        subject_id=period,
        after={
            "posted": posted,
            "payouts": len(payouts),
            "held": len(held),
            "approved_hash": batch.approved_hash,
        },
    )
    return CloseResult(period, posted, len(payouts), dict(payable), held)


def _post_draft(session: Session, period: str, actor: str, now: Any) -> int:
    """Copy the approved payable draft lines into the ledger, in one statement.

    A failed payout of an earlier month may already have put a reversal entry in this
    period; then the draft's line numbers are shifted after it, partner by partner."""
    columns = ", ".join(LINE_FIELDS)
    taken: dict[str, int] = {
        partner_id: int(last)
        for partner_id, last in session.execute(
            select(LedgerEntry.partner_id, func.max(LedgerEntry.line_no))
            .where(LedgerEntry.period == period)
            .group_by(LedgerEntry.partner_id)
        )
    }
    if not taken:
        result = session.execute(
            text(
                f"INSERT INTO ledger_entries ({columns}, posted_at, posted_by) "  # noqa: S608
                f"SELECT {columns}, :now, :actor FROM draft_lines "
                "WHERE period = :period AND payable ORDER BY partner_id, line_no"
            ),
            {"now": now, "actor": actor, "period": period},
        )
        return result.rowcount if isinstance(result, CursorResult) else 0
    drafts = session.scalars(
        select(DraftLine)
        .where(DraftLine.period == period, DraftLine.payable)
        .order_by(DraftLine.partner_id, DraftLine.line_no)
    ).all()
    rows = []
    for draft in drafts:
        row = {k: getattr(draft, k) for k in LINE_FIELDS}
        row["line_no"] += taken.get(draft.partner_id, 0)
        rows.append({**row, "posted_at": now, "posted_by": actor})
    if rows:
        session.execute(insert(LedgerEntry), rows)
    return len(rows)


def _minimums(
    session: Session, period: str, partner_ids: set[str]
) -> dict[str, tuple[Decimal, str, bool]]:
    """Per partner: (minimum payout, its currency, pay even if terminated), from its plans."""
    month = Month.parse(period)
    assignments = plan_book.assignments(session, month.end, month.end)
    timeline = plan_book.PlanTimeline.load(session, {a.plan_id for a in assignments})
    out: dict[str, tuple[Decimal, str, bool]] = {}
    for a in assignments:
        if a.partner_id not in partner_ids:
            continue
        plan = timeline.in_force(a.plan_id, month.end)
        if plan is None:
            continue
        current = out.get(a.partner_id)
        if current is None or plan.minimum_payout > current[0]:
            out[a.partner_id] = (plan.minimum_payout, plan.currency, plan.pay_terminated)
    return out


def _payouts(
    session: Session, period: str, actor: str
) -> tuple[list[PayoutInstruction], dict[str, str]]:
    """Pay every partner whose balance reaches its plan's minimum, unless on hold."""
    month = Month.parse(period)
    partners = {p.id: p for p in session.scalars(select(Partner))}
    totals = ledger.balances(session)
    rates = fx.table(session)
    minimums = _minimums(session, period, {p for p, _ in totals})
    instructions: list[PayoutInstruction] = []
    held: dict[str, str] = {}
    for (partner_id, currency), balance_minor in sorted(totals.items()):
        partner = partners[partner_id]
        if balance_minor == 0:
            continue

        def hold(
            code: str, reason: str, p: str = partner_id, c: str = currency, b: int = balance_minor
        ) -> None:
            held[p] = reason
            session.add(
                PayoutHold(
                    period=period,
                    partner_id=p,
                    code=code,
                    reason=reason,
                    balance_minor=b,
                    currency=c,
                )
            )

        amount = Decimal(balance_minor)
        if balance_minor < 0:
            hold("negative_balance", "negative balance carried forward")
            continue
        minimum, min_currency, pay_terminated = minimums.get(
            partner_id, (Decimal(0), currency, False)
        )
        if partner.status == "on_hold":
            hold("partner_on_hold", "partner on hold")
            continue
        if partner.status == "terminated" and not pay_terminated:
            hold(
                "partner_terminated",
                "partner terminated; the plan does not pay terminated partners",
            )
            continue
        if minimum and min_currency != currency:
            try:
                minimum = minimum * rates(min_currency, currency, month.end).rate
            except MissingFxRate as exc:
                raise DraftChanged(f"cannot compare the minimum payout: {exc}") from None
        if amount < to_minor_exact(minimum, currency):
            shown = round_money(minimum, currency, Rounding.half_up)
            hold("below_minimum", f"below the minimum payout {shown:f} {currency}")
            continue
        line_no = ledger.next_line_no(session, period, partner_id)
        reference = f"PP-{period}-{partner_id}"[:35]
        session.add(
            LedgerEntry(
                period=period,
                partner_id=partner_id,
                line_no=line_no,
                entry_kind="payout",
                prior_period=None,
                plan_label=None,
                component_id=None,
                component_kind=None,
                source_fact=f"payout:{reference}",
                fact_date=month.end,
                customer_id=None,
                deal_id=None,
                invoice_id=None,
                base_minor=balance_minor,
                base_currency=currency,
                rate=None,
                fx_rate=None,
                fx_source=None,
                unrounded=str(-balance_minor),
                amount_minor=-balance_minor,
                currency=currency,
                explanation=f"payout of the balance {balance_minor} minor units {currency}",
                posted_by=actor,
            )
        )
        instruction = PayoutInstruction(
            period=period,
            partner_id=partner_id,
            amount_minor=balance_minor,
            currency=currency,
            end_to_end_id=reference,
            status="pending",
        )
        session.add(instruction)
        instructions.append(instruction)
    session.flush()
    return instructions, held


def to_minor_exact(amount: Decimal, currency: str) -> Decimal:
    """A threshold in minor units (may keep fractions: compared, never stored)."""
    return amount.scaleb(minor_exponent(currency))
