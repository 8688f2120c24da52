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

import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import CursorResult, delete, insert, select, text
from sqlalchemy.orm import Session

from payouts import actors, adjustments, audit, fx, ledger, partner_holds, periods, snapshots
from payouts.base import utcnow
from payouts.batch import draft, parallel, partitions, payees, payout_policy, references
from payouts.batch.errors import (
    AlreadyApproved,
    BatchBusy,
    BatchNotApproved,
    BatchNotFound,
    DraftChanged,
    EarlierPeriodOpen,
    MakerCheckerViolation,
    PeriodClosed,
)
from payouts.batch.models import (
    Batch,
    BatchApproval,
    DraftLine,
    PayoutHold,
    PayoutInstruction,
    RepCreditLine,
)
from payouts.facts import statistics as fact_statistics
from payouts.ledger import LedgerEntry
from payouts.periods import Month, Period
from payouts.reference.models import Partner
from payouts.tax import profiles as tax_forms
from payouts.tax.invoices import Invoicing
from plans.line_kinds import LineKind


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


def run(
    session: Session,
    period: str,
    *,
    actor: str,
    workers: int = 1,
    distributed: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> RunResult:
    """Calculate the period's draft, replacing any earlier draft.

    With `workers` > 1 on PostgreSQL the work is split over processes (`parallel`);
    `distributed`, over `payouts worker`s through the broker (`jobs`).
    `progress`, if given, is told the slices and partners stored as each slice is."""
    period = str(Month.parse(period))
    _lock(session, period)
    # Asked before the row lock below.
    split = (workers > 1 or distributed) and snapshots.untouched(session)
    # Facts loaded in bulk and not analysed yet would be read through nested loops.
    fact_statistics.refresh(session)
    row = _period_row(session, period)
    as_copy = _can_copy(session)
    partitioned = session.get_bind().dialect.name == "postgresql"
    with parallel.calculation(
        session,
        period,
        row.fact_revision,
        workers=workers if split else 1,
        as_copy=as_copy,
        distributed=distributed and split,
    ) as calculated:
        # The new draft goes into a partition of its own on PostgreSQL (`partitions`).
        if partitioned:
            table = partitions.begin(session, period)
        else:
            table = "draft_lines"
            session.execute(delete(DraftLine).where(DraftLine.period == period))
        session.execute(delete(RepCreditLine).where(RepCreditLine.period == period))
        # Rep credit first: it is ready while the workers are still gathering.
        draft.store_rep_lines(session, period, calculated.rep_lines(), as_copy=as_copy)
        payee_text = payees.snapshot(session, period)
        partners, lines, running = draft.store(
            session, calculated.slices, as_copy=as_copy, table=table, progress=progress
        )
        # Approved manual adjustments: lines of the draft (and of its hash) like any other.
        manual = adjustments.draft_rows(session, period, table)
        manual_text = draft.store_manual_rows(session, manual, table=table)
        lines += len(manual)
    if partitioned:
        partitions.install(session, period)
    digest = draft.finish_digest(
        running, draft.stored_rep_text(session, period), payee_text, manual_text
    )

    batch = session.get(Batch, period)
    voided = batch is not None and batch.status == "approved"
    now = utcnow()
    if batch is None:
        batch = Batch(period=period, run_no=0)
        session.add(batch)
    batch.run_no += 1
    batch.status = "draft"
    batch.draft_hash = digest
    batch.fact_revision = row.fact_revision
    batch.line_count = lines
    batch.calculated_by = actor
    batch.calculated_at = now
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="batch.run",
        subject_type="batch",
        subject_id=period,
        after={
            "run_no": batch.run_no,
            "draft_hash": digest,
            "lines": lines,
            "partners": partners,
            "approval_voided": voided,
        },
    )
    return RunResult(period, partners, lines, digest, voided)


def _can_copy(session: Session) -> bool:
    """Whether draft rows go in by COPY: PostgreSQL with a UTF-8 client encoding."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    dbapi = session.connection().connection.dbapi_connection
    return str(getattr(getattr(dbapi, "info", None), "encoding", "")) == "utf-8"


def months_to_catch_up(session: Session, through: str) -> list[str]:
    """The open months up to `through` that hold facts, oldest first: what must be
    closed, in this order, before `through` is (each run needs the months before it
    closed)."""
    last = str(Month.parse(through))
    return list(
        session.scalars(
            select(Period.period)
            .where(Period.period <= last, Period.status == "open", Period.fact_revision > 0)
            .order_by(Period.period)
        )
    )


def get(session: Session, period: str) -> Batch:
    batch = session.get(Batch, str(Month.parse(period)))
    if batch is None:
        raise BatchNotFound(f"no batch for {period}: run `payouts batch run {period}` first")
    return batch


def approve(session: Session, period: str, *, actor: str) -> Batch:
    """Approve the current draft (its lines, rep credit and payee details, as hashed);
    refused to the holder who calculated it. The approval is a record of its own that
    nobody can rewrite; a later run leaves it behind."""
    batch = get(session, period)
    if batch.status == "closed":
        raise PeriodClosed(f"period {batch.period} is already closed")
    if actors.same_person(batch.calculated_by, actor):
        raise MakerCheckerViolation(
            f"{actor} calculated the {batch.period} batch and cannot also approve it"
        )
    if batch.status == "approved" and batch.approval is not None:
        raise AlreadyApproved(
            f"run {batch.run_no} of {batch.period} is already approved by "
            f"{batch.approval.approved_by}"
        )
    row = session.get(Period, batch.period)
    if row is not None and row.fact_revision != batch.fact_revision:
        raise DraftChanged(
            f"facts for {batch.period} arrived after the draft was calculated: run it again"
        )
    session.add(
        BatchApproval(
            period=batch.period,
            run_no=batch.run_no,
            draft_hash=batch.draft_hash,
            approved_by=actor,
            approved_at=utcnow(),
        )
    )
    session.flush()  # the approval first: the database refuses an approved batch without it
    batch.status = "approved"
    session.flush()
    session.refresh(batch, ["approvals"])
    audit.record(
        session,
        actor=actor,
        action="batch.approve",
        subject_type="batch",
        subject_id=batch.period,
        after={"run_no": batch.run_no, "approved_hash": batch.draft_hash},
    )
    return batch


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
    # Asked before the row lock below: whether the draft can be checked by another
    # connection, under this transaction's snapshot, while this one posts it.
    alongside = snapshots.untouched(session)
    batch = get(session, period)
    if batch.status == "closed":
        raise PeriodClosed(f"period {period} is already closed")
    row = _period_row(session, period)
    approval = batch.approval
    if batch.status != "approved" or approval is None:
        raise BatchNotApproved(f"the {period} batch is not approved")
    if row.fact_revision != batch.fact_revision:
        raise DraftChanged(
            f"facts for {period} arrived after the draft was calculated: run and approve again"
        )
    now = utcnow()
    with _draft_as_approved(session, period, approval.draft_hash, alongside=alongside):
        posted = _post_draft(session, period, actor, now)
        columns = ", ".join(draft.LINE_FIELDS)
        session.execute(
            text(
                f"INSERT INTO margin_lines ({columns}, posted_at) "  # noqa: S608
                f"SELECT {columns}, :now FROM draft_lines "
                "WHERE period = :period AND NOT payable ORDER BY partner_id, line_no"
            ),
            {"now": now, "period": period},
        )
    # What follows (payout lines, then the statements) reads the month just posted.
    ledger.refresh_statistics(session)
    payouts, held = _payouts(session, period, actor)
    row.status = "closed"
    batch.status = "closed"
    batch.closed_by = actor
    batch.closed_at = now
    session.flush()
    payable: dict[str, int] = defaultdict(int)
    for currency, amount_minor in payouts:
        payable[currency] += amount_minor
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
            "approved_hash": approval.draft_hash,
        },
    )
    return CloseResult(period, posted, len(payouts), dict(payable), held)


@contextmanager
def _draft_as_approved(
    session: Session, period: str, approved_hash: str, *, alongside: bool
) -> Iterator[None]:
    """Refuse the close, with nothing posted, if the stored draft (lines, rep credit,
    payees) is not what was approved; what the block posts is kept only if it is.

    The check reads and hashes the whole draft. Given `alongside` (PostgreSQL, nothing
    written by this transaction before the close), it runs on a connection of its
    own under this transaction's snapshot, which holds that same draft (the batch
    lock keeps any run out, and a close changes no draft), while the block posts it:
    the block runs in a savepoint, rolled back if the hashes differ. Otherwise the
    draft is checked first and the block runs only if it passes."""
    if not alongside:
        _refuse_unless(period, draft.stored_digest(session, period), approved_hash)
        yield
        return
    shared = snapshots.share(session)
    engine = session.get_bind().engine
    with ThreadPoolExecutor(max_workers=1) as pool:
        checked = pool.submit(_digest_under, engine, shared.snapshot, period)
        posting = session.begin_nested()
        try:
            yield
            stored = checked.result()
        except BaseException:
            posting.rollback()
            raise
        if stored != approved_hash:
            posting.rollback()
        else:
            posting.commit()
    _refuse_unless(period, stored, approved_hash)


def _digest_under(engine: Any, snapshot: str, period: str) -> str:
    with snapshots.reading(engine, snapshot) as reader:
        return draft.stored_digest(reader, period)


def _refuse_unless(period: str, stored_hash: str, approved_hash: str) -> None:
    if stored_hash != approved_hash:
        raise DraftChanged(
            f"the {period} draft (lines, rep credit or payee details) differs from what "
            "was approved"
        )


def _post_draft(session: Session, period: str, actor: str, now: Any) -> int:
    """Copy the approved payable draft lines into the ledger, in one statement.

    A failed payout of an earlier month may already have put a reversal entry in this
    period; then the draft's line numbers are shifted after it, partner by partner."""
    columns = ", ".join(draft.LINE_FIELDS)
    taken = ledger.last_line_numbers(session, period)
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
    for line in drafts:
        row = {k: getattr(line, k) for k in draft.LINE_FIELDS}
        row["line_no"] += taken.get(line.partner_id, 0)
        rows.append({**row, "posted_at": now, "posted_by": actor})
    if rows:
        session.execute(insert(LedgerEntry), rows)
    return len(rows)


def _payout_entry(
    period: str, partner_id: str, line_no: int, balance_minor: int, currency: str, actor: str
) -> dict[str, Any]:
    """The ledger entry that pays a partner's balance (its payout line)."""
    reference = references.end_to_end_id(period, partner_id)
    return {
        "period": period,
        "partner_id": partner_id,
        "line_no": line_no,
        "entry_kind": LineKind.payout,
        "prior_period": None,
        "plan_label": None,
        "component_id": None,
        "component_kind": None,
        "source_fact": f"payout:{reference}",
        "fact_date": Month.parse(period).end,
        "customer_id": None,
        "deal_id": None,
        "invoice_id": None,
        "base_minor": balance_minor,
        "base_currency": currency,
        "rate": None,
        "fx_rate": None,
        "fx_source": None,
        "unrounded": str(-balance_minor),
        "amount_minor": -balance_minor,
        "currency": currency,
        "explanation": f"payout of the balance {balance_minor} minor units {currency}",
        "posted_by": actor,
    }


def _payouts(
    session: Session, period: str, actor: str
) -> tuple[list[tuple[str, int]], dict[str, str]]:
    """Pay every non-zero balance that `payout_policy` does not hold; record each hold."""
    month = Month.parse(period)
    partners: dict[str, str] = dict(session.execute(select(Partner.id, Partner.status)).all())
    frozen = payees.of_period(session, period)
    totals = ledger.balances(session)
    last_line = ledger.last_line_numbers(session, period)
    rates = fx.table(session)
    minimums = payout_policy.minimums(session, period, {p for p, _ in totals})
    # Tax forms: a partner whose required form is missing or expired on the month's
    # last day is held (`payout_policy.TAX_FORM`) until the first close after one arrives.
    waiting_for_form = tax_forms.gaps(session, month.end)
    # Finance holds live in their own record, which no amendment of a partner changes.
    held_by_finance = partner_holds.held(session)
    # Self-billing partners' payouts are invoices too: the VAT they add is paid with them.
    self_billing = Invoicing.for_close(session, period)
    instructions: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    holds: list[dict[str, Any]] = []
    held: dict[str, str] = {}
    for (partner_id, currency), balance_minor in sorted(totals.items()):
        if balance_minor == 0:
            continue
        hold = payout_policy.hold_of(
            balance_minor=balance_minor,
            currency=currency,
            partner_status=partners[partner_id],
            finance_hold=partner_id in held_by_finance,
            tax_form_missing=partner_id in waiting_for_form,
            minimum=minimums.get(partner_id),
            rates=rates,
            month=month,
        )
        if hold is not None:
            held[partner_id] = hold.reason
            holds.append(
                {
                    "period": period,
                    "partner_id": partner_id,
                    "code": hold.code,
                    "reason": hold.reason,
                    "balance_minor": balance_minor,
                    "currency": currency,
                }
            )
            continue
        # Numbered here, not by a query per payout.
        line_no = last_line.get(partner_id, 0) + 1
        last_line[partner_id] = line_no
        payee = frozen.get(partner_id)
        if payee is None:
            raise DraftChanged(
                f"partner {partner_id} has no payee details in the approved {period} draft: "
                "run and approve the batch again"
            )
        reference = references.end_to_end_id(period, partner_id)
        entries.append(_payout_entry(period, partner_id, line_no, balance_minor, currency, actor))
        instructions.append(
            {
                "period": period,
                "partner_id": partner_id,
                "amount_minor": balance_minor
                + self_billing.issue(partner_id, balance_minor, currency),
                "currency": currency,
                "end_to_end_id": reference,
                "payee_name": payee.name,
                "account_holder": payee.account_holder,
                "iban": payee.iban,
                "bic": payee.bic,
            }
        )
    # In bulk, a statement per table for the month (an object per partner cost more
    # than deciding the payouts).
    for model, rows in (
        (PayoutHold, holds),
        (LedgerEntry, entries),
        (PayoutInstruction, instructions),
    ):
        if rows:
            session.execute(insert(model), rows)
    session.flush()
    return [(row["currency"], row["amount_minor"]) for row in instructions], held
