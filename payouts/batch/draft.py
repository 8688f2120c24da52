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
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar, cast

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
from plans.money import Rounding, minor_exponent, round_money, to_minor


class Form(Enum):
    """How a column's values are written in COPY text."""

    TEXT = "free text: ids, labels, explanations; escaped"
    PLAIN = "periods, numbers, codes, decimal text: never need escaping"
    DATE = "a date, in ISO form"
    FLAG = "a boolean: t or f"


_T, _P = Form.TEXT, Form.PLAIN
DRAFT_COLUMNS: tuple[tuple[str, Form], ...] = (
    ("period", _P), ("partner_id", _T), ("line_no", _P), ("entry_kind", _P),
    ("prior_period", _P), ("plan_label", _T), ("component_id", _T), ("component_kind", _T),
    ("source_fact", _T), ("fact_date", Form.DATE), ("customer_id", _T), ("deal_id", _T),
    ("invoice_id", _T), ("base_minor", _P), ("base_currency", _P), ("rate", _P),
    ("fx_rate", _P), ("fx_source", _T), ("unrounded", _P), ("amount_minor", _P),
    ("currency", _P), ("explanation", _T), ("payable", Form.FLAG),
)  # fmt: skip
"""A stored draft row, in this order, and how each column is written: what is hashed
and what is copied. The one list the encoder, the table and the digest follow."""

COLUMNS = tuple(name for name, _ in DRAFT_COLUMNS)
LINE_FIELDS = COLUMNS[:-1]
"""The columns a draft line shares with a ledger entry (what a close posts)."""

REP_CREDIT_COLUMNS: tuple[tuple[str, Form], ...] = (
    ("period", _P), ("rep_id", _T), ("deal_id", _T), ("partner_ids", _T),
    ("via_partner", Form.FLAG), ("plan_label", _T), ("credit_basis", _T),
    ("credit_minor", _P), ("commission_rate", _P), ("commission_minor", _P),
    ("currency", _P), ("explanation", _T),
)  # fmt: skip
"""A stored rep credit row, in this order, and how each column is written."""
REP_COLUMNS = tuple(name for name, _ in REP_CREDIT_COLUMNS)
REP_SEPARATOR = b"--rep credit--\n"
MANUAL_SEPARATOR = b"--manual adjustments--\n"
MANUAL_SOURCE = "manual:"
"""Approved manual adjustments (`payouts.adjustments`) are draft lines whose source fact
starts so; the digest hashes them after the payees, in a part of their own."""
SLICE_PARTNERS = 250

Row = tuple[Any, ...]
_Made = TypeVar("_Made")


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
    rows = _Rows(period)
    runs: list[Run] = [(line.plan_label, line.prior_period, [line.earning]) for line in lines]
    return rows.of(partner_id, runs, _row)


def _row(*values: Any) -> Row:
    return values


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


def _text(value: Decimal | None) -> str | None:
    """Decimal text without exponent: str() is the same digits as "f" unless it uses one."""
    if value is None:
        return None
    normal = value.normalize()
    text = str(normal)
    return f"{normal:f}" if "E" in text else text


_ENTRY_KIND = tuple(
    tuple(
        {
            line_kind: accounting.entry_kind(
                line_kind, payable=payable, prior_period="late" if late else None
            ).value
            for line_kind in LineKind
        }
        for payable in (False, True)
    )
    for late in (False, True)
)
"""`accounting.entry_kind` of a line, as `_ENTRY_KIND[late][payable][line_kind]` (late:
dated in an earlier month), as the column stores it (its text, which writes faster than
the enum member): looked up rather than called, as rows are made a million times."""


_UNSEEN = "unseen"  # a rate not met yet (None, no rate, has its text: None)


class _Rows:
    """Lines as stored rows (COLUMNS order), for one period.

    What repeats across lines is converted once and kept for the next: a base in minor
    units (a base is mostly an invoice amount, shared by its lines), the text of rates
    and FX rates, a currency's minor exponent."""

    __slots__ = ("_bases", "_decimals", "_exponents", "_period")

    def __init__(self, period: str) -> None:
        self._period = period
        self._bases: dict[str, dict[Decimal, int]] = {}
        self._decimals: dict[Decimal | None, str | None] = {}
        self._exponents: dict[str, int] = {}

    def of(self, partner_id: str, runs: list[Run], make: Callable[..., _Made]) -> list[_Made]:
        """One partner's lines, numbered from 1 in the order of `runs`, each made by
        `make` from its values in COLUMNS order: a row (`_row`), or at once its COPY text
        (`DRAFT_TEXT.line`), which spares building a row only to write it."""
        period, bases, decimals, exponents = (
            self._period, self._bases, self._decimals, self._exponents
        )  # fmt: skip
        rows: list[_Made] = []
        append = rows.append
        number = 0
        for label, prior, earnings in runs:
            kinds = _ENTRY_KIND[prior is not None]
            for e in earnings:
                (
                    _, _, _, component_id, component_kind, line_kind, payable, source, day,
                    customer, deal, invoice, base, base_currency, rate, _, fx_rate, fx_source,
                    currency, unrounded, amount, steps,
                ) = e  # fmt: skip
                number += 1
                base_minor = (bases.get(base_currency) or {}).get(base)
                if base_minor is None:
                    base_minor = self._base_minor(base, base_currency)
                rate_text = decimals.get(rate, _UNSEEN)
                if rate_text is _UNSEEN:
                    rate_text = self._decimal(rate)
                fx_text = decimals.get(fx_rate, _UNSEEN)
                if fx_text is _UNSEEN:
                    fx_text = self._decimal(fx_rate)
                exponent = exponents.get(currency)
                if exponent is None:
                    exponent = self._exponent(currency)
                # Minor units through their text: a plain (signed) digit string is exactly
                # the integer; an exponent or a point (an amount off minor precision) takes
                # `to_minor`, which raises the real error. Cheaper than comparing an int
                # with a Decimal.
                digits = str(amount.scaleb(exponent))
                if digits.lstrip("-").isdigit():
                    amount_minor = int(digits)
                else:
                    amount_minor = to_minor(amount, currency)
                normal = unrounded.normalize()  # `_text`, inline
                unrounded_text = str(normal)
                if "E" in unrounded_text:
                    unrounded_text = f"{normal:f}"
                append(
                    make(
                        period, partner_id, number, kinds[payable][line_kind], prior,
                        label, component_id, component_kind, source, day, customer, deal,
                        invoice, base_minor, base_currency, rate_text, fx_text, fx_source,
                        unrounded_text, amount_minor, currency, "\n".join(steps), payable,
                    )
                )  # fmt: skip
        return rows

    def _exponent(self, currency: str) -> int:
        exponent = self._exponents[currency] = minor_exponent(currency)
        return exponent

    def _minor(self, amount: Decimal, currency: str) -> int:
        """`to_minor`, the currency's exponent looked up once."""
        exponent = self._exponents.get(currency)
        scaled = amount.scaleb(exponent if exponent is not None else self._exponent(currency))
        if scaled.is_finite() and scaled == (units := int(scaled)):
            return units
        return to_minor(amount, currency)  # raises the real error

    def _base_minor(self, amount: Decimal, currency: str) -> int:
        # A base (e.g. a pro-rata share or a converted volume) may carry more digits than
        # the currency; the exact value lives in the explanation, the column keeps cents.
        units = self._minor(round_money(amount, currency, Rounding.half_up), currency)
        self._bases.setdefault(currency, {})[amount] = units  # by value, whatever its form
        return units

    def _decimal(self, value: Decimal | None) -> str | None:
        text = _text(value)
        if value is None or value:  # 0 and -0 are equal keys but different texts
            self._decimals[value] = text
        return text


# PostgreSQL COPY text format: tab-separated, \N for NULL, backslash escapes.
_NULL = "\\N"


def _escape(value: str | None) -> str:
    """A text value for COPY."""
    if value is None:
        return _NULL
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def _plain(value: object) -> str:
    """A value that never needs escaping (int, date, decimal text, code), or NULL."""
    return _NULL if value is None else str(value)


class _Dates(dict[date, str]):
    """Dates as ISO text, each written once: the lines of a month share a few hundred
    dates, and writing a date costs as much as writing the rest of its line."""

    def __missing__(self, day: date) -> str:
        text = self[day] = str(day)
        return text


class CopyEncoder:
    """Rows in PostgreSQL's COPY text format, UTF-8, each column written as its form says.

    The one encoder of stored rows: the run's slices, the digest of what the database
    holds, the rep credit and the manual adjustments all go through it. Storing a large
    draft spends its time here, so a row is written by one function generated from the
    column list (as `collections.namedtuple` generates its class), which takes the
    row's values as its arguments, one per column, and writes them with one f-string:
    NULL as \\N, a flag as t or f, a date through a table of the dates already
    written, the rest as is. It first checks the row's free text at once; in practice
    that holds nothing COPY would misread but the line breaks of explanations, and no
    other column can hold one, so one replace over the line escapes them. Only a row
    with a backslash, tab or carriage return in its free text has each of its text
    values escaped first."""

    __slots__ = ("line",)

    def __init__(self, columns: Sequence[tuple[str, Form]], table: Table) -> None:
        names = [name for name, _ in columns]
        if any(not n.isidentifier() or n in _GENERATED_NAMES for n in names):
            raise ValueError(f"column names must be plain identifiers: {names}")
        texts = [name for name, form in columns if form is Form.TEXT]
        fields = "\\t".join(
            _field(name, form, bool(table.c[name].nullable)) for name, form in columns
        )
        arguments = ", ".join(names)
        source = (
            f"def write({arguments}):\n"
            f'    return f"{fields}"\n'
            f"def line({arguments}):\n"
            f'    free = f"{"".join(f"{{{n}}}" for n in texts)}"\n'  # NULL as "None": plain
            '    if "\\\\" in free or "\\t" in free or "\\r" in free:\n'
            f"        return write(*escaped(({arguments},))).replace('\\n', '\\\\n')\n"
            f'    return f"{fields}".replace("\\n", "\\\\n")\n'
        )
        at_texts = frozenset(names.index(n) for n in texts)

        def escaped(row: Row) -> list[Any]:
            return [_escape(v) if at in at_texts else v for at, v in enumerate(row)]

        namespace: dict[str, Any] = {"N": _NULL, "D": _Dates(), "escaped": escaped}
        exec(source, namespace)  # our own column list, checked above
        self.line: Callable[..., str] = namespace["line"]
        """One row's line, without its newline: `line(*row)`."""

    def encode(self, rows: Iterable[Row]) -> bytes:
        line = self.line
        return self.joined([line(*row) for row in rows])

    @staticmethod
    def joined(lines: list[str]) -> bytes:
        """Lines from `line` as COPY text: each ended by a newline."""
        lines.append("")
        return "\n".join(lines).encode()


_GENERATED_NAMES = frozenset({"N", "D", "escaped", "write", "line", "free"})
"""Names the generated writer uses itself: no column may be called so."""


def _field(name: str, form: Form, nullable: bool) -> str:
    """The f-string field writing column `name`: a flag as t or f, a date from the table
    `D`, NULL as \\N where the column may hold one, any other value as itself."""
    if form is Form.FLAG:
        return f"{{'t' if {name} else 'f'}}"
    value = f"D[{name}]" if form is Form.DATE else name
    return f"{{N if {name} is None else {value}}}" if nullable else f"{{{value}}}"


DRAFT_TEXT = CopyEncoder(DRAFT_COLUMNS, cast(Table, DraftLine.__table__))
REP_CREDIT_TEXT = CopyEncoder(REP_CREDIT_COLUMNS, cast(Table, RepCreditLine.__table__))


def copy_text(rows: Iterable[Row]) -> bytes:
    """Draft rows (COLUMNS order) in COPY text format."""
    return DRAFT_TEXT.encode(rows)


def rep_copy_text(rows: Iterable[Row]) -> bytes:
    """Rep credit rows (REP_COLUMNS order) in COPY text format."""
    return REP_CREDIT_TEXT.encode(rows)


def calculate_slice(
    order: int, period: str, partners: Sequence[PartnerWork], as_copy: bool
) -> Slice:
    """Some partners' lines calculated and encoded (see `encode_slice`), a partner at a
    time: a partner's calculated lines are let go once written, so a slice holds its
    facts and its text, never all its partners' lines at once."""
    return encode_slice(
        order, period, ((work.partner_id, partner_runs(work)) for work in partners), as_copy
    )


def encode_slice(
    order: int, period: str, partners: Iterable[tuple[str, list[Run]]], as_copy: bool
) -> Slice:
    """Some partners' calculated lines as rows and their COPY text; the rows are kept
    when they are to be inserted rather than copied."""
    maker = _Rows(period)
    count = 0
    if as_copy:
        lines: list[str] = []
        for partner_id, runs in partners:
            lines.extend(maker.of(partner_id, runs, DRAFT_TEXT.line))
            count += 1
        return Slice(order, count, len(lines), DRAFT_TEXT.joined(lines), [])
    rows: list[Row] = []
    for partner_id, runs in partners:
        rows.extend(maker.of(partner_id, runs, _row))
        count += 1
    return Slice(order, count, len(rows), copy_text(rows), rows)


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
    # One COPY a slice, ended before the next slice is asked for: a slice may be read
    # from the database on this same connection (`parallel`, `jobs`).
    for arrived in slices:
        waiting[arrived.order] = arrived
        while stored in waiting:
            part = waiting.pop(stored)
            if as_copy:
                with _copy(session, table, COLUMNS) as copy:
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


def store_rep_lines(
    session: Session, period: str, chunks: Iterable[list[RepLine]], *, as_copy: bool
) -> None:
    """Store the rep credit lines a chunk at a time, in their order (the table's ids keep
    it: `stored_rep_text` reads them back in it for the digest)."""
    for lines in chunks:
        rows = rep_rows_of(period, lines)
        if not rows:
            continue
        if as_copy:
            with _copy(session, "rep_credit_lines", REP_COLUMNS) as copy:
                copy.write(rep_copy_text(rows))
        else:
            _insert(session, cast(Table, RepCreditLine.__table__), REP_COLUMNS, rows)


def stored_rep_text(session: Session, period: str) -> Iterator[bytes]:
    """The stored rep credit lines of `period` as COPY text, a chunk at a time, in the
    order they were stored: what the digest ends with."""
    session.flush()
    query = (
        select(*[getattr(RepCreditLine, k) for k in REP_COLUMNS])
        .where(RepCreditLine.period == period)
        .order_by(RepCreditLine.id)
        .execution_options(yield_per=STORED_DIGEST_CHUNK)
    )
    for chunk in session.execute(query).partitions():
        yield rep_copy_text(tuple(row) for row in chunk)  # each row's text is its own


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


def finish_digest(
    digest: Any, rep_text: Iterable[bytes], payee_text: bytes, manual_text: bytes = b""
) -> str:
    """The draft's hash: its lines, then its rep credit (its text in parts), then the
    payee details frozen with it (`payees`), then any manual adjustments, each part
    after its separator."""
    digest.update(REP_SEPARATOR)
    for part in rep_text:
        digest.update(part)
    digest.update(payees.SEPARATOR)
    digest.update(payee_text)
    if manual_text:
        digest.update(MANUAL_SEPARATOR)
        digest.update(manual_text)
    return str(digest.hexdigest())


STORED_DIGEST_CHUNK = 20_000
"""Draft rows read and hashed at a time by `stored_digest`."""


def stored_digest(session: Session, period: str, *, server_text: bool = True) -> str:
    """The digest of the draft as stored: must equal the one computed when it was run.

    The lines go through the hash in Python's order of partner ids: code-point order,
    which is PostgreSQL's "C" collation and SQLite's binary one, so the digest never
    depends on the server's locale. On PostgreSQL the server writes them in COPY text
    (`copied_lines_digest`), which is what this encoder writes; where it could differ,
    on SQLite, and without `server_text`, they are read and encoded here."""
    digest = None
    if server_text and session.get_bind().dialect.name == "postgresql":
        digest = copied_lines_digest(session, period)
    if digest is None:
        digest, manual = _encoded_lines_digest(session, period)
    else:
        manual = _manual_rows(session, period)
    return finish_digest(
        digest,
        stored_rep_text(session, period),
        payees.stored_text(session, period),
        copy_text(manual) if manual else b"",
    )


def _by_key(session: Session) -> tuple[Any, Any]:
    """The draft's order for hashing: partner ids in code-point order, then line."""
    partner_id: Any = DraftLine.partner_id
    if session.get_bind().dialect.name == "postgresql":
        partner_id = partner_id.collate("C")
    return partner_id, DraftLine.line_no


def _encoded_lines_digest(session: Session, period: str) -> tuple[Any, list[Row]]:
    """The running digest of the draft's lines but manual adjustments, read and encoded
    here; and the manual adjustments' rows (hashed in a part of their own).

    The lines stream through the hash a chunk at a time (a month's draft as Python
    tuples is gigabytes)."""
    query = (
        select(*[getattr(DraftLine, k) for k in COLUMNS])
        .where(DraftLine.period == period)
        .order_by(*_by_key(session))
        .execution_options(yield_per=STORED_DIGEST_CHUNK)
    )
    source = COLUMNS.index("source_fact")
    digest = hashlib.sha256()
    manual: list[Row] = []
    for chunk in session.execute(query).partitions():
        rows: list[Row] = []
        for row in chunk:
            line = tuple(row)
            (manual if str(line[source]).startswith(MANUAL_SOURCE) else rows).append(line)
        digest.update(copy_text(rows))  # each row's text is its own: chunks concatenate
    return digest, manual


def _manual_rows(session: Session, period: str) -> list[Row]:
    """The period's manual adjustments as draft rows, in the draft's order."""
    query = (
        select(*[getattr(DraftLine, k) for k in COLUMNS])
        .where(DraftLine.period == period, DraftLine.source_fact.startswith(MANUAL_SOURCE))
        .order_by(*_by_key(session))
    )
    return [tuple(row) for row in session.execute(query)]


_SERVER_COLUMNS = ", ".join(
    f"to_char({name}, 'YYYY-MM-DD')" if form is Form.DATE else name for name, form in DRAFT_COLUMNS
)
"""The draft's columns as PostgreSQL writes them in COPY text the way `DRAFT_TEXT` does:
integers in digits, a flag as t or f, NULL as \\N, text escaped, and a date in ISO form
whatever the session's DateStyle."""

_COPY_ROWS_CHECKED = 4_096
"""Rows of the server's COPY text checked (`_hash_alike`) and hashed at a time."""


def copied_lines_digest(session: Session, period: str) -> Any | None:
    """The running digest of the draft's lines but manual adjustments, over the COPY
    text PostgreSQL writes of them: the same bytes `DRAFT_TEXT` writes, read without
    turning a million rows into Python values. None where the two could differ (a
    client encoding other than UTF-8, or an escape `_hash_alike` refuses): the caller
    then encodes the rows itself."""
    dbapi = session.connection().connection.dbapi_connection
    if dbapi is None or dbapi.info.encoding != "utf-8":
        return None
    digest = hashlib.sha256()
    query = (
        f"COPY (SELECT {_SERVER_COLUMNS} FROM draft_lines "  # noqa: S608 (our column list)
        "WHERE period = %s AND NOT starts_with(source_fact, %s) "
        'ORDER BY partner_id COLLATE "C", line_no) TO STDOUT'
    )
    alike = True
    cursor = dbapi.cursor()
    try:
        with cursor.copy(query, (period, MANUAL_SOURCE)) as copy:
            rows: list[Any] = []
            # A row at a time, as the server sends them; read to the end even once they
            # differ: leaving a COPY early cancels it, which would abort the transaction.
            for row in copy:
                if alike:
                    rows.append(row)
                    if len(rows) == _COPY_ROWS_CHECKED:
                        alike = _hash_alike(digest, rows)
                        rows = []
            alike = alike and _hash_alike(digest, rows)
    finally:
        cursor.close()
    return digest if alike else None


_OTHER_ESCAPE = re.compile(rb"\\[^nN]")
"""A backslash that starts neither \\n nor \\N."""


def _hash_alike(digest: Any, rows: list[Any]) -> bool:
    """Hash the server's COPY text of `rows`, if it is what `DRAFT_TEXT` writes; else
    False, nothing hashed.

    Both escape a line break as \\n and write NULL as \\N; they differ on the rest:
    COPY escapes a backspace, form feed and vertical tab that this encoder keeps, and
    this encoder leaves a backslash, tab or carriage return as is outside free text.
    So the text is alike when every backslash in it starts \\n or \\N (none is
    escaped itself, so each starts an escape)."""
    text = b"".join(rows)
    if _OTHER_ESCAPE.search(text) is not None:
        return False
    digest.update(text)
    return True
