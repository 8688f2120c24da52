"""The journal of a closed month: its ledger as balanced double-entry entries.

Derived on demand from the append-only ledger, so it needs nothing stored at close
and gives the same bytes every time it is made (entries, postings and their order
depend only on the ledger, the plan versions and the chart). Every entry is dated
the month's last day, balances in its one currency, and carries the month's close
hash (the approved draft hash the month was closed with).

Entries, in this order, per currency:
- accrual: each component's earnings to its expense, contra revenue or capitalised
  costs account (the plan's accounting treatment), against accrued commissions payable;
- clawbacks: the same accounts, reversed;
- prior-period adjustments: named with the month the facts belong to;
- amortisation of capitalised costs (`capitalisation`);
- payouts decided at close: accrued commissions payable to partner payables;
- the payout file: partner payables to bank clearing; for partners that self-bill, the
  VAT their invoices add to the payout is debited to input VAT, so that bank clearing
  is credited with what the payout file sends;
- failed payouts returned at `mark-paid`: bank clearing back to accrued commissions
  payable (the ledger's payout reversals, in the month they are posted to), and the
  VAT the bank returned with them back from input VAT (their documents are cancelled);
- rep commission: rep commission expense against accrued rep commissions.

The FX differences account is in the chart for finance's own revaluations: ledger
lines are already converted into the partner's currency at the rate recorded on the
line, so the journal itself never posts to it.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from payouts.accounting import capitalisation, sources
from payouts.accounting.chart import Account, Chart
from payouts.errors import PayoutsError
from payouts.periods import Month
from plans.accounting import Accounting, Treatment
from plans.money import from_minor


class ChartIncomplete(PayoutsError):
    code = "chart-incomplete"
    status = 422


class JournalUnbalanced(PayoutsError):
    """A bug, never a user's mistake: the journal refuses to exist unbalanced."""

    code = "journal-unbalanced"
    status = 500


@dataclass(frozen=True, slots=True)
class Posting:
    """One journal line: an account debited or credited (minor units, one side only)."""

    account: Account
    debit_minor: int
    credit_minor: int
    description: str


@dataclass(frozen=True, slots=True)
class Entry:
    number: str
    kind: str
    period: str
    day: date
    currency: str
    narration: str
    close_hash: str
    postings: tuple[Posting, ...]

    @property
    def debits(self) -> int:
        return sum(p.debit_minor for p in self.postings)

    @property
    def credits(self) -> int:
        return sum(p.credit_minor for p in self.postings)


@dataclass(frozen=True, slots=True)
class Journal:
    period: str
    day: date
    close_hash: str
    chart: str
    entries: tuple[Entry, ...]

    def totals(self) -> dict[str, tuple[int, int]]:
        """Currency -> (debits, credits) in minor units; equal in every currency."""
        out: dict[str, tuple[int, int]] = {}
        for entry in self.entries:
            debit, credit = out.get(entry.currency, (0, 0))
            out[entry.currency] = (debit + entry.debits, credit + entry.credits)
        return out

    def movement(self, account_code: str, currency: str) -> int:
        """Debits minus credits on one account in one currency (minor units)."""
        return sum(
            p.debit_minor - p.credit_minor
            for e in self.entries
            if e.currency == currency
            for p in e.postings
            if p.account.code == account_code
        )

    def canonical(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "date": self.day.isoformat(),
            "close_hash": self.close_hash,
            "chart": self.chart,
            "entries": [_entry_document(e) for e in self.entries],
        }

    def to_json(self) -> bytes:
        """Canonical JSON: sorted keys, amounts as decimal strings; the same bytes on
        every derivation of the same month."""
        text = json.dumps(self.canonical(), sort_keys=True, indent=1, ensure_ascii=False)
        return (text + "\n").encode("utf-8")

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.to_json()).hexdigest()


def journal(session: Session, period: str, chart: Chart) -> Journal:
    """The journal of a closed month (`MonthNotClosed` otherwise)."""
    month = sources.closed_month(session, period)
    day = Month.parse(month.period).end
    known = sources.treatments(session)
    builder = _Builder(month.period, day, month.close_hash)
    groups = sources.ledger_groups(session, month.period)
    _cost_entries(builder, chart, known, groups)
    _amortisation_entries(builder, chart, capitalisation.layers(session, month.period))
    _payout_entries(builder, chart, groups, sources.self_billed_vat(session, month.period))
    for currency, amount in sorted(sources.rep_commissions(session, month.period).items()):
        builder.add(
            "rep_commission",
            currency,
            "rep commission accrual",
            [(chart.accounts.rep_commission_expense, amount, "rep commission of the month")],
            chart.accounts.accrued_rep_commissions,
            "rep commission accrued",
        )
    return builder.journal(chart.name)


def _cost_entries(
    builder: _Builder,
    chart: Chart,
    known: dict[tuple[str, str], Accounting],
    groups: list[sources.LedgerGroup],
) -> None:
    kinds = {"earning": "accrual", "clawback": "clawback", "adjustment": "prior_period_adjustment"}
    bucket: dict[tuple[str, str, str], dict[tuple[Account, str], int]] = defaultdict(
        lambda: defaultdict(int)
    )
    for group in groups:
        kind = kinds.get(group.entry_kind)
        if kind is None:
            continue
        treatment = sources.treatment_of(known, group).booked_as
        account = chart.cost_account(group.component_id, group.component_kind, treatment)
        what = group.component_id or "manual adjustment"
        label = (
            f"{what} ({group.component_kind}, {treatment.value})" if group.component_kind else what
        )
        bucket[(kind, group.prior_period or "", group.currency)][(account, label)] += (
            group.amount_minor
        )
    order = {"accrual": 0, "clawback": 1, "prior_period_adjustment": 2}
    for (kind, prior, currency), amounts in sorted(
        bucket.items(), key=lambda i: (order[i[0][0]], i[0][1:])
    ):
        title = {
            "accrual": "commission accrual",
            "clawback": "clawbacks reversed",
            "prior_period_adjustment": f"prior-period adjustment for {prior}",
        }[kind]
        lines = [(account, amount, label) for (account, label), amount in amounts.items()]
        builder.add(kind, currency, title, lines, chart.accounts.accrued_commissions_payable, title)


def _amortisation_entries(
    builder: _Builder, chart: Chart, layers: list[capitalisation.Layer]
) -> None:
    by_currency: dict[str, dict[tuple[str | None, str | None], int]] = defaultdict(
        lambda: defaultdict(int)
    )
    for layer in layers:
        by_currency[layer.currency][(layer.component_id, layer.component_kind)] += (
            layer.amortisation(builder.period)
        )
    for currency, amounts in sorted(by_currency.items()):
        postings: list[Posting] = []
        for (component_id, kind), amount in sorted(amounts.items(), key=lambda i: str(i[0])):
            what = f"{component_id or 'manual adjustment'} ({kind})"
            expense = chart.amortisation_account(component_id, kind)
            asset = chart.cost_account(component_id, kind, Treatment.capitalise)
            postings += _sided(expense, amount, f"amortisation of {what}")
            postings += _sided(asset, -amount, f"capitalised cost of {what} amortised")
        builder.entry("amortisation", currency, "amortisation of capitalised costs", postings)


def _payout_entries(
    builder: _Builder, chart: Chart, groups: list[sources.LedgerGroup], vat: sources.SelfBilledVat
) -> None:
    accounts = chart.accounts
    paid: dict[str, tuple[int, int]] = {}
    returned: dict[str, tuple[int, int]] = {}
    for group in groups:
        target = {"payout": paid, "payout_reversal": returned}.get(group.entry_kind)
        if target is not None:
            amount, count = target.get(group.currency, (0, 0))
            target[group.currency] = (amount + group.amount_minor, count + group.entries)
    for currency, (amount, count) in sorted(paid.items()):
        builder.add(
            "payouts",
            currency,
            "payouts decided at close",
            [(accounts.accrued_commissions_payable, -amount, f"{count} payout(s) to partners")],
            accounts.partner_payables,
            "payable to partners",
        )
        vat_paid, documents = vat.paid.get(currency, (0, 0))
        builder.add(
            "payout_file",
            currency,
            "payout file",
            [
                (accounts.partner_payables, -amount, f"{count} payout(s) in the payout file"),
                *_input_vat(chart, vat_paid, f"VAT of {documents} self-billed document(s)"),
            ],
            accounts.bank_clearing,
            "sent to the bank",
        )
    for currency, (amount, count) in sorted(returned.items()):
        vat_back, documents = vat.returned.get(currency, (0, 0))
        builder.add(
            "payout_reversal",
            currency,
            "failed payouts returned to balances",
            [
                (
                    accounts.bank_clearing,
                    amount + vat_back,
                    f"{count} failed payout(s) returned by the bank",
                ),
                *_input_vat(chart, -vat_back, f"VAT of {documents} cancelled document(s)"),
            ],
            accounts.accrued_commissions_payable,
            "returned to partners' balances",
        )


def _input_vat(chart: Chart, vat_minor: int, description: str) -> list[tuple[Account, int, str]]:
    """The signed VAT on the input VAT account (nothing for none); a chart without that
    account serves only months without VAT."""
    if not vat_minor:
        return []
    if chart.accounts.input_vat is None:
        raise ChartIncomplete(
            "the month's self-billed invoices carry VAT, and the chart of accounts names no "
            "accounts.input_vat to book it to"
        )
    return [(chart.accounts.input_vat, vat_minor, description)]


def _sided(account: Account, signed_minor: int, description: str) -> list[Posting]:
    """A debit for a positive amount, a credit for a negative one, nothing for zero."""
    if signed_minor > 0:
        return [Posting(account, signed_minor, 0, description)]
    if signed_minor < 0:
        return [Posting(account, 0, -signed_minor, description)]
    return []


class _Builder:
    def __init__(self, period: str, day: date, close_hash: str) -> None:
        self.period, self.day, self.close_hash = period, day, close_hash
        self.entries: list[Entry] = []

    def add(
        self,
        kind: str,
        currency: str,
        title: str,
        lines: Iterable[tuple[Account, int, str]],
        counter: Account,
        counter_description: str,
    ) -> None:
        """An entry of signed amounts (debit positive) balanced on `counter`."""
        postings: list[Posting] = []
        total = 0
        for account, amount, description in lines:
            postings += _sided(account, amount, description)
            total += amount
        postings += _sided(counter, -total, counter_description)
        self.entry(kind, currency, title, postings)

    def entry(self, kind: str, currency: str, title: str, postings: list[Posting]) -> None:
        if not postings:
            return
        number = f"{self.period}-{len(self.entries) + 1:02d}"
        entry = Entry(
            number=number,
            kind=kind,
            period=self.period,
            day=self.day,
            currency=currency,
            narration=f"Partner payouts {number}: {title} ({currency})",
            close_hash=self.close_hash,
            postings=tuple(sorted(postings, key=_posting_order)),
        )
        if entry.debits != entry.credits:
            raise JournalUnbalanced(
                f"journal entry {number} does not balance: debits {entry.debits}, "
                f"credits {entry.credits} ({currency})"
            )
        self.entries.append(entry)

    def journal(self, chart: str) -> Journal:
        return Journal(self.period, self.day, self.close_hash, chart, tuple(self.entries))


def _posting_order(p: Posting) -> tuple[int, str, str]:
    return (0 if p.debit_minor else 1, p.account.code, p.description)


def _entry_document(e: Entry) -> dict[str, Any]:
    return {
        "number": e.number,
        "kind": e.kind,
        "date": e.day.isoformat(),
        "currency": e.currency,
        "narration": e.narration,
        "close_hash": e.close_hash,
        "postings": [
            {
                "account_code": p.account.code,
                "account_name": p.account.name,
                "department": p.account.department,
                "class": p.account.class_,
                "location": p.account.location,
                "debit": decimal_text(p.debit_minor, e.currency) if p.debit_minor else None,
                "credit": decimal_text(p.credit_minor, e.currency) if p.credit_minor else None,
                "description": p.description,
            }
            for p in e.postings
        ],
    }


def decimal_text(minor: int, currency: str) -> str:
    """An amount as a plain decimal string at the currency's precision: `1234.50`."""
    return str(from_minor(minor, currency))
