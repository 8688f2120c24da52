"""The draft of a period: calculated lines as stored rows, their digest, and storing them.

A month can hold a million lines, so this module is built for that:

- partners are calculated in slices, and each slice is turned into bytes at once: the
  rows in PostgreSQL's COPY text format (what worker processes send back, see
  `parallel`);
- the run hashes and COPYs slice after slice;
- the digest of the draft is SHA-256 over that same text, rows in stored order (the
  encoding is exact and unambiguous: typed columns, escaped text, \\N for NULL). It
  is computed here from the calculation and again by `stored_digest` from what the
  database returns; the two must agree (the approval is bound to it, and a close
  refuses a draft that changed).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import Table, column, insert, select
from sqlalchemy import table as sql_table
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import TableClause

from payouts.batch import accounting, payees
from payouts.batch.calculation import (
    Line,
    PartnerWork,
    PeriodWork,
    RepLine,
    Run,
    partner_runs,
)
from payouts.batch.models import DraftLine, RepCreditLine
from plans.line_kinds import LineKind
from plans.money import Rounding, minor_exponent, minor_quantum, round_money, to_minor

LINE_FIELDS = (
    "period", "partner_id", "line_no", "entry_kind", "prior_period", "plan_label",
    "component_id", "component_kind", "source_fact", "fact_date", "customer_id", "deal_id",
    "invoice_id", "base_minor", "base_currency", "rate", "fx_rate", "fx_source", "unrounded",
    "amount_minor", "currency", "explanation",
)  # fmt: skip
"""The columns a draft line shares with a ledger entry (what a close posts)."""

COLUMNS = (*LINE_FIELDS, "payable")
"""A stored draft row, in this order: what is hashed and what is copied."""

REP_COLUMNS = (
    "period", "rep_id", "deal_id", "partner_ids", "via_partner", "plan_label", "credit_basis",
    "credit_minor", "commission_rate", "commission_minor", "currency", "explanation",
)  # fmt: skip
"""A stored rep credit row, in this order (`rep_copy_text` writes exactly these)."""
REP_SEPARATOR = b"--rep credit--\n"
MANUAL_SEPARATOR = b"--manual adjustments--\n"
MANUAL_SOURCE = "manual:"
"""Approved manual adjustments (`payouts.adjustments`) are draft lines whose source fact
starts so; the digest hashes them after the payees, in a part of their own."""
SLICE_PARTNERS = 250

Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Slice:
    """Some partners' draft rows in stored order: their COPY text, and the rows
    themselves when they are to be inserted rather than copied. `order` is the slice's
    place in partner order (slices from several processes arrive in any order)."""

    order: int
    partners: int
    lines: int
    text: bytes
    rows: list[Row]


def rows_of(period: str, partner_id: str, lines: list[Line]) -> list[Row]:
    """One partner's lines as stored rows (COLUMNS order), numbered from 1."""
    return [_row(period, partner_id, number, line) for number, line in enumerate(lines, start=1)]


def _row(period: str, partner_id: str, number: int, line: Line) -> Row:
    e = line.earning
    return (
        period,
        partner_id,
        number,
        line.entry_kind,
        line.prior_period,
        line.plan_label,
        e.component_id,
        e.component_kind,
        e.source_fact,
        e.fact_date,
        e.customer_id,
        e.deal_id,
        e.invoice_id,
        _base_minor(e.base_amount, e.base_currency),
        e.base_currency,
        _text(e.rate),
        _text(e.fx_rate),
        e.fx_source,
        _text(e.unrounded),
        to_minor(e.amount, e.currency),
        e.currency,
        "\n".join(e.explanation),
        e.payable,
    )


def rep_rows_of(period: str, lines: list[RepLine]) -> list[Row]:
    """Rep credit lines as stored rows (REP_COLUMNS order)."""
    return [
        (
            period,
            r.rep_id,
            r.deal_id,
            r.partner_ids,
            r.via_partner,
            r.plan_label,
            r.credit_basis,
            to_minor(r.credit, r.currency),
            _text(r.commission_rate),
            to_minor(r.commission, r.currency),
            r.currency,
            r.explanation,
        )
        for r in lines
    ]


def _base_minor(amount: Decimal, currency: str) -> int:
    # A base (e.g. a pro-rata share or a converted volume) may carry more digits than
    # the currency; the exact value lives in the explanation, the column keeps cents.
    return to_minor(round_money(amount, currency, Rounding.half_up), currency)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.normalize():f}"


# PostgreSQL COPY text format: tab-separated, \N for NULL, backslash escapes.
_NULL = "\\N"


def _escape(value: str | None) -> str:
    """A text value for COPY (the common case, nothing to escape, costs four scans)."""
    if value is None:
        return _NULL
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return (
            value.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return value


def _plain(value: object) -> str:
    """A value that never needs escaping (int, date, decimal text, code), or NULL."""
    return _NULL if value is None else str(value)


def copy_text(rows: Iterable[Row]) -> bytes:
    """Draft rows (COLUMNS order) in PostgreSQL's COPY text format, UTF-8.

    Written out column by column: a generic per-value formatter was most of the time
    of storing a large draft. Free text (ids, labels, explanations) is escaped;
    periods, numbers, dates, currency codes and decimal text never need it."""
    e, p = _escape, _plain
    return "".join(
        [
            f"{r[0]}\t{e(r[1])}\t{r[2]}\t{r[3]}\t{p(r[4])}\t{e(r[5])}\t{e(r[6])}\t{e(r[7])}\t"
            f"{e(r[8])}\t{r[9]}\t{e(r[10])}\t{e(r[11])}\t{e(r[12])}\t{r[13]}\t{r[14]}\t"
            f"{p(r[15])}\t{p(r[16])}\t{e(r[17])}\t{r[18]}\t{r[19]}\t{r[20]}\t{e(r[21])}\t"
            f"{'t' if r[22] else 'f'}\n"
            for r in rows
        ]
    ).encode()


def rep_copy_text(rows: Iterable[Row]) -> bytes:
    """Rep credit rows (REP_COLUMNS order) in COPY text format."""
    e, p = _escape, _plain
    return "".join(
        [
            f"{r[0]}\t{e(r[1])}\t{e(r[2])}\t{e(r[3])}\t{'t' if r[4] else 'f'}\t{e(r[5])}\t"
            f"{e(r[6])}\t{r[7]}\t{p(r[8])}\t{r[9]}\t{r[10]}\t{e(r[11])}\n"
            for r in rows
        ]
    ).encode()


def calculate_slice(
    order: int, period: str, partners: Sequence[PartnerWork], as_copy: bool
) -> Slice:
    text = _SliceText(period)
    rows: list[Row] = []
    for work in partners:
        runs = partner_runs(work)
        text.add(work.partner_id, runs)
        if not as_copy:
            lines = [Line(e, label, prior) for label, prior, earnings in runs for e in earnings]
            rows.extend(rows_of(period, work.partner_id, lines))
    return Slice(order, len(partners), text.lines, text.encode(), rows)


_Minor = tuple[Decimal, Decimal, dict[Decimal, str]]

_ENTRY_KIND = {
    (line_kind, payable, late): accounting.entry_kind(
        line_kind, payable=payable, prior_period="late" if late else None
    ).value
    for line_kind in LineKind
    for payable in (False, True)
    for late in (False, True)
}
"""`accounting.entry_kind` of every (line kind, payable, dated in an earlier month):
looked up once a line here rather than called (the encoding runs a million times)."""


class _SliceText:
    """A slice's draft lines written straight into COPY text.

    Byte for byte what `copy_text(rows_of(...))` writes, at a fraction of the cost (the
    encoding was a third of a batch's time): no Row tuple, one f-string a line, free text
    checked for what COPY would misread all at once and escaped only then (never, in
    practice), and the values that repeat across lines (dates, rates, FX rates)
    formatted once per slice rather than once per line."""

    __slots__ = ("_dates", "_decimals", "_minor", "_parts", "_period", "lines")

    def __init__(self, period: str) -> None:
        self._period = period
        self._parts: list[str] = []
        self._dates: dict[date, str] = {}
        self._decimals: dict[Decimal, str] = {}
        self._minor: dict[str, _Minor] = {}
        self.lines = 0

    def encode(self) -> bytes:
        return "".join(self._parts).encode()

    def add(self, partner_id: str, runs: list[Run]) -> None:
        """Append one partner's lines, numbered from 1 in the order of `runs`."""
        try:
            parts = self._partner(partner_id, runs)
        except (ArithmeticError, ValueError):
            # A value the fast path cannot take: the generic path raises the real error.
            lines = [Line(e, label, prior) for label, prior, earnings in runs for e in earnings]
            parts = [copy_text(rows_of(self._period, partner_id, lines)).decode()]
        self._parts.extend(parts)
        self.lines += sum(len(earnings) for _, _, earnings in runs)

    def _partner(self, partner_id: str, runs: list[Run]) -> list[str]:
        period = self._period
        dates, decimals, minor = self._dates, self._decimals, self._minor
        parts: list[str] = []
        append = parts.append
        head = f"{period}\t{_escape(partner_id)}\t"
        number = 0
        for label, prior, earnings in runs:
            middle = f"{_plain(prior)}\t{_escape(label)}\t"
            for e in earnings:
                number += 1
                (
                    _, _, _, component_id, component_kind, line_kind, payable, source, day,
                    customer, deal, invoice, base, base_currency, rate, _, fx_rate, fx_source,
                    currency, unrounded, amount, steps,
                ) = e  # fmt: skip
                explanation = "\\n".join(steps)
                # Every free-text value at once: the only backslashes are the separators.
                free = (
                    f"{component_id}{component_kind}{source}{customer}{deal}{invoice}"
                    f"{fx_source}{explanation}"
                )
                if _needs_escaping(free, len(steps) - 1):
                    row = _row(period, partner_id, number, Line(e, label, prior))
                    append(copy_text([row]).decode())
                    continue
                kind = _ENTRY_KIND[line_kind, payable, prior is not None]
                day_text = dates.get(day)
                if day_text is None:
                    day_text = dates[day] = f"{day}"
                # Minor units as text: a plain digit string is exactly the integer (a
                # rounded product would have an exponent); a sign, a point or an exponent
                # take the reference path (which raises on an amount off minor precision).
                # The text depends on the value alone (not its exponent), and a base is
                # mostly an invoice amount, one Decimal shared by its lines (whose hash,
                # unlike a new Decimal's, is already known): kept per value.
                base_texts = (minor.get(base_currency) or self._scales(base_currency))[2]
                base_minor = base_texts.get(base) or self._base_text(base, base_currency)
                amount_minor = str(amount * (minor.get(currency) or self._scales(currency))[1])
                if not amount_minor.isdigit():
                    amount_minor = str(to_minor(amount, currency))
                rate_text = _NULL if rate is None else decimals.get(rate) or self._decimal(rate)
                fx_text = (
                    _NULL if fx_rate is None else decimals.get(fx_rate) or self._decimal(fx_rate)
                )
                append(
                    f"{head}{number}\t{kind}\t{middle}{component_id}\t{component_kind}\t"
                    f"{source}\t{day_text}\t{_NULL if customer is None else customer}\t"
                    f"{_NULL if deal is None else deal}\t{_NULL if invoice is None else invoice}\t"
                    f"{base_minor}\t{base_currency}\t{rate_text}\t{fx_text}\t"
                    f"{_NULL if fx_source is None else fx_source}\t{_unrounded_text(unrounded)}\t"
                    f"{amount_minor}\t{currency}\t{explanation}\t{'t' if payable else 'f'}\n"
                )
        return parts

    def _base_text(self, base: Decimal, currency: str) -> str:
        """A base in minor units as text, kept for the next line with the same base."""
        quantum, scale, base_texts = self._minor.get(currency) or self._scales(currency)
        text = str(base.quantize(quantum, ROUND_HALF_UP) * scale)
        if not text.isdigit():
            text = str(_base_minor(base, currency))
        base_texts[base] = text
        return text

    def _scales(self, currency: str) -> _Minor:
        """(minor unit, its inverse, texts of bases met): 0.01 and 1E+2 for USD. The
        inverse has a one-digit coefficient, so multiplying by it only moves the exponent,
        like `to_minor`'s scaleb."""
        quantum = minor_quantum(currency)
        scales = self._minor[currency] = (
            quantum,
            Decimal(1).scaleb(minor_exponent(currency)),
            {},
        )
        return scales

    def _decimal(self, value: Decimal) -> str:
        text = _text(value)
        assert text is not None
        if value:  # 0 and -0 are equal keys but different texts
            self._decimals[value] = text
        return text


def _needs_escaping(free: str, separators: int) -> bool:
    """Whether COPY would misread some free text: a tab, a line break, or a backslash
    other than the `separators` between explanation steps."""
    return "\t" in free or "\n" in free or "\r" in free or free.count("\\") != separators


def _unrounded_text(unrounded: Decimal) -> str:
    """`_text`: str() is the same digits as "f" unless it uses an exponent."""
    normal = unrounded.normalize()
    text = str(normal)
    if "E" in text or "e" in text:
        text = f"{normal:f}"
    return text


def calculate(
    work: PeriodWork, *, as_copy: bool, slice_size: int = SLICE_PARTNERS
) -> Iterator[Slice]:
    """Every partner's draft rows in this process, slice by slice in partner order."""
    for order, start in enumerate(range(0, len(work.partners), slice_size)):
        yield calculate_slice(
            order, work.period, work.partners[start : start + slice_size], as_copy
        )


def store(
    session: Session,
    slices: Iterable[Slice],
    *,
    as_copy: bool,
    table: str = "draft_lines",
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, int, Any]:
    """Store the draft rows of `slices` in `table`; return (partners, lines, running
    digest). After each slice stored, `progress` (if any) is told the slices and the
    partners stored so far.

    Slices may arrive in any order; each is stored and hashed in its `order`, which is
    partner order: the table is written in the order of its key, so the index that
    `partitions.install` builds afterwards needs no real sort. COPY on PostgreSQL (an
    executemany INSERT sends one statement per row)."""
    digest = hashlib.sha256()
    partners = lines = 0
    waiting: dict[int, Slice] = {}  # arrived early: stored once those before them are
    stored = 0
    target = sql_table(table, *(column(c) for c in COLUMNS))
    with _copy(session, table, COLUMNS) if as_copy else nullcontext() as copy:
        for arrived in slices:
            waiting[arrived.order] = arrived
            while stored in waiting:
                part = waiting.pop(stored)
                if copy is not None:
                    copy.write(part.text)
                else:
                    _insert(session, target, COLUMNS, part.rows)
                digest.update(part.text)
                partners += part.partners
                lines += part.lines
                stored += 1
                if progress is not None:
                    progress(stored, partners)
    if waiting:
        raise RuntimeError(f"draft slices missing before slice {stored}")
    return partners, lines, digest


def store_rep_rows(session: Session, rows: list[Row], *, as_copy: bool) -> bytes:
    """Store the rep credit rows; return their COPY text, which the digest ends with."""
    text = rep_copy_text(rows)
    if not rows:
        return text
    if as_copy:
        with _copy(session, "rep_credit_lines", REP_COLUMNS) as copy:
            copy.write(text)
    else:
        _insert(session, cast(Table, RepCreditLine.__table__), REP_COLUMNS, rows)
    return text


@contextmanager
def _copy(session: Session, table: str, columns: Sequence[str]) -> Iterator[Any]:
    """A COPY ... FROM STDIN on the session's own connection (same transaction)."""
    cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        yield copy


def _insert(session: Session, table: TableClause, columns: Sequence[str], rows: list[Row]) -> None:
    for start in range(0, len(rows), 10_000):
        chunk = rows[start : start + 10_000]
        session.execute(insert(table), [dict(zip(columns, r, strict=True)) for r in chunk])


def store_manual_rows(session: Session, rows: list[Row], *, table: str) -> bytes:
    """Store the manual adjustments' draft rows in `table`; return their text for the
    digest (empty without any: a month without adjustments hashes as it always did)."""
    if not rows:
        return b""
    _insert(session, sql_table(table, *(column(c) for c in COLUMNS)), COLUMNS, rows)
    return copy_text(rows)


def finish_digest(digest: Any, rep_text: bytes, payee_text: bytes, manual_text: bytes = b"") -> str:
    """The draft's hash: its lines, then its rep credit, then the payee details frozen
    with it (`payees`), then any manual adjustments, each part after its separator."""
    digest.update(REP_SEPARATOR)
    digest.update(rep_text)
    digest.update(payees.SEPARATOR)
    digest.update(payee_text)
    if manual_text:
        digest.update(MANUAL_SEPARATOR)
        digest.update(manual_text)
    return str(digest.hexdigest())


def stored_digest(session: Session, period: str) -> str:
    """The digest of the draft as stored: must equal the one computed when it was run."""
    columns = [getattr(DraftLine, k) for k in COLUMNS]
    # Sorted here, not by ORDER BY: the database's collation may order partner ids
    # differently from Python, and the digest must not depend on the server's locale.
    every = sorted(
        (tuple(r) for r in session.execute(select(*columns).where(DraftLine.period == period))),
        key=itemgetter(1, 2),
    )
    source = COLUMNS.index("source_fact")
    rows = [r for r in every if not str(r[source]).startswith(MANUAL_SOURCE)]
    manual = [r for r in every if str(r[source]).startswith(MANUAL_SOURCE)]
    rep_columns = [getattr(RepCreditLine, k) for k in REP_COLUMNS]
    rep_rows = [
        tuple(r)
        for r in session.execute(
            select(*rep_columns).where(RepCreditLine.period == period).order_by(RepCreditLine.id)
        )
    ]
    return finish_digest(
        hashlib.sha256(copy_text(rows)),
        rep_copy_text(rep_rows),
        payees.stored_text(session, period),
        copy_text(manual) if manual else b"",
    )
