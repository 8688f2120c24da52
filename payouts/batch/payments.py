"""Recording what the bank did with the payout file.

Each outcome is a `PayoutResult` of its own, recorded once and never changed (the
database refuses a second one and any edit), so a payout once paid can never be
turned into a failure that would pay it twice. A paid payout keeps the bank's
reference. A failed payout returns to the partner's balance: a `payout_reversal`
entry in the next open month (a closed month never changes), so it is paid again at
the next close; a self-billed payout's documents are cancelled by a credit note first
(`payouts.tax.invoices.cancel`), so that close invoices the amount once. Results are
all-or-nothing and idempotent: the same outcome twice is a no-op, a contradicting one
is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from payouts import audit, ledger, periods
from payouts.base import utcnow
from payouts.batch.errors import PayoutResultsRefused
from payouts.batch.models import PayoutInstruction, PayoutResult
from payouts.ledger import LedgerEntry
from payouts.periods import Month
from payouts.tax import invoices
from plans.line_kinds import PAYOUT_REVERSAL

RESULT_COLUMNS = ("end_to_end_id", "status", "bank_reference", "reason")


@dataclass
class MarkPaidResult:
    period: str
    paid: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    reversal_period: str | None = None


def _checked(
    period: str, rows: list[dict[str, str]], instructions: dict[str, PayoutInstruction]
) -> list[tuple[PayoutInstruction, dict[str, str]]]:
    """Each row with its payout instruction, or every problem at once, nothing recorded."""
    problems: list[str] = []
    plan: list[tuple[PayoutInstruction, dict[str, str]]] = []
    seen: set[str] = set()
    for number, row in enumerate(rows, start=1):
        ref = (row.get("end_to_end_id") or "").strip()
        status = (row.get("status") or "").strip().lower()
        where = f"row {number}" + (f" ({ref})" if ref else "")
        instruction = instructions.get(ref)
        problem = _row_problem(period, ref, status, row, instruction, seen)
        if instruction is not None and ref not in seen:
            seen.add(ref)
        if problem is not None:
            problems.append(f"{where}: {problem}")
            continue
        assert instruction is not None
        plan.append((instruction, {**row, "status": status}))
    if problems:
        raise PayoutResultsRefused(
            f"{len(problems)} payout result(s) refused, nothing recorded: " + "; ".join(problems)
        )
    return plan


def _row_problem(
    period: str,
    ref: str,
    status: str,
    row: dict[str, str],
    instruction: PayoutInstruction | None,
    seen: set[str],
) -> str | None:
    """What is wrong with one result row, if anything (the first problem found)."""
    if instruction is None:
        return f"no payout {ref!r} in {period}"
    if ref in seen:
        return "appears twice"
    if status not in ("paid", "failed"):
        return f"status must be paid or failed, not {status!r}"
    if status == "failed" and not (row.get("reason") or "").strip():
        return "a failed payout needs a reason"
    if instruction.status not in ("pending", status):
        return f"already recorded as {instruction.status}"
    return None


def mark_paid(
    session: Session, period: str, rows: list[dict[str, str]], *, actor: str
) -> MarkPaidResult:
    period = str(Month.parse(period))
    instructions = {
        i.end_to_end_id: i
        for i in session.scalars(
            select(PayoutInstruction).where(PayoutInstruction.period == period)
        )
    }
    plan = _checked(period, rows, instructions)
    result = MarkPaidResult(period)
    reversal_period: str | None = None
    now = utcnow()
    for instruction, row in plan:
        if instruction.status == row["status"]:
            result.unchanged.append(instruction.end_to_end_id)
            continue
        reason = (row.get("reason") or "").strip() or None
        session.add(
            PayoutResult(
                instruction_id=instruction.id,
                status=row["status"],
                bank_reference=(row.get("bank_reference") or "").strip() or None,
                reason=reason,
                recorded_by=actor,
                recorded_at=now,
            )
        )
        if row["status"] == "paid":
            result.paid.append(instruction.end_to_end_id)
            continue
        if reversal_period is None:
            months = {str(Month.parse(period).next())}
            reversal_period = periods.assign_accounting_periods(session, months).popitem()[1]
        # What returns to the balance is the commission, not the VAT a self-billed
        # invoice added to the payout: that invoice is cancelled by a credit note, and
        # the close that pays the commission invoices it again.
        returned = instruction.amount_minor - invoices.cancel(
            session, instruction.partner_id, period, now.date()
        )
        session.add(
            LedgerEntry(
                period=reversal_period,
                partner_id=instruction.partner_id,
                line_no=ledger.next_line_no(session, reversal_period, instruction.partner_id),
                entry_kind=PAYOUT_REVERSAL,
                prior_period=period,
                plan_label=None,
                component_id=None,
                component_kind=None,
                source_fact=f"payout:{instruction.end_to_end_id}",
                fact_date=Month.parse(reversal_period).start,
                customer_id=None,
                deal_id=None,
                invoice_id=None,
                base_minor=returned,
                base_currency=instruction.currency,
                rate=None,
                fx_rate=None,
                fx_source=None,
                unrounded=str(returned),
                amount_minor=returned,
                currency=instruction.currency,
                explanation=(
                    f"payout {instruction.end_to_end_id} of {period} failed "
                    f"({reason}); the amount returns to the balance"
                ),
                posted_by=actor,
            )
        )
        session.flush()
        result.failed.append(instruction.end_to_end_id)
    result.reversal_period = reversal_period
    audit.record(
        session,
        actor=actor,
        action="batch.mark_paid",
        subject_type="batch",
        subject_id=period,
        after={"paid": result.paid, "failed": result.failed},
    )
    return result
