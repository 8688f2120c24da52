"""The statement: one partner's month, as the renderers and the API see it.

This module is the contract between the builder (which reads the ledger) and the
renderings (canonical JSON and its hash, PDF, CSV). It holds no database, HTTP or
clock code, and it never rounds: every line amount arrives already rounded once,
upstream, to the payout currency's minor unit; every total here is a plain sum.

The arithmetic, enforced on every construction (``Statement(...)`` validates,
``Statement.create(...)`` computes the derived fields from the lines first), with
``payable(k)`` the sum of ``amount`` over lines of kind ``k``:

    earnings_total        = payable(earning)
    clawbacks_total       = payable(clawback)          (each clawback line <= 0)
    adjustments_total     = payable(adjustment)
    margin_earned_total   = sum of margin lines        (shown apart, never payable)
    payouts_total         = sum of payout lines        (each payout line <= 0)
    activity_total        = earnings_total + clawbacks_total + adjustments_total
    closing_balance       = opening_balance + activity_total + payouts_total
    amount_payable        = closing_balance   when closing_balance > 0 and no holds
                          = 0                 otherwise
    carry_forward         = closing_balance - amount_payable
    subtotals             = one row per (component, payable) over all non-payout
                            lines, whose amounts add up to
                            activity_total + margin_earned_total

Earning, clawback and adjustment lines are payable; margin and payout lines are not
(``line.payable`` must agree with its kind). Every amount and balance is in the
payout currency at exactly its minor-unit precision (``10.00`` USD, ``1000`` JPY);
an amount that is not exact there is refused rather than rounded.

Lines are held in a deterministic order, ``(date, source_fact, component, line_id)``,
whatever order they were given in, so the same lines always give the same
statement, the same canonical JSON and the same hash.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import InitVar, dataclass, field, fields, replace
from datetime import date
from decimal import Decimal
from functools import lru_cache

import moneyed
from babel import Locale, UnknownLocaleError

from plans.line_kinds import LineKind

__all__ = [
    "ComponentSubtotal",
    "Hold",
    "LineKind",
    "Statement",
    "StatementInvalid",
    "StatementLine",
    "TierProgress",
    "TierRequirement",
    "YearToDate",
    "minor_exponent",
]

_Date = date  # the line's ``date`` field shadows the type inside StatementLine
_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_ZERO = Decimal(0)
COUNT_UNIT = "count"
"""The ``unit`` of a tier requirement counted in whole things (certifications, campaigns)."""


class StatementInvalid(ValueError):
    """A statement whose figures do not add up or whose fields are malformed.

    ``problems`` lists every problem found, not only the first, so the builder's
    author sees them all at once.
    """

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        super().__init__("invalid statement: " + "; ".join(self.problems))


@lru_cache(maxsize=256)
def minor_exponent(currency: str) -> int:
    """Digits after the decimal point of an ISO 4217 currency: USD 2, JPY 0, KWD 3.

    Raises ``KeyError`` for an unknown code.
    """
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isupper()):
        raise KeyError(currency)
    sub_unit = int(moneyed.CURRENCIES[currency].sub_unit)
    return len(str(sub_unit)) - 1


def _is_decimal(value: object) -> bool:
    return isinstance(value, Decimal) and value.is_finite()


def _at_minor(value: Decimal, exponent: int) -> Decimal | None:
    """``value`` written with exactly ``exponent`` decimals, or None if that would round.

    Lossless only: ``Decimal("10")`` becomes ``Decimal("10.00")`` for USD, while
    ``Decimal("10.005")`` is refused. A zero is written without a sign.
    """
    if value.as_tuple().exponent == -exponent and (value or not value.is_signed()):
        return value  # already written so (as every amount the builder reads is)
    quantum = Decimal(1).scaleb(-exponent)
    exact = value.quantize(quantum)
    if exact != value:
        return None
    return exact.copy_abs() if exact == 0 else exact


@dataclass(frozen=True, slots=True)
class Hold:
    """Why (part of) the balance is not paid this period."""

    code: str
    """Stable machine code: ``below_minimum``, ``partner_on_hold``, ``negative_balance``."""
    reason: str
    """Human text as printed: "below minimum payout 50.00"."""


@dataclass(frozen=True, slots=True)
class PayoutState:
    """What became of the statement's payout, as known when a document is rendered.

    Not part of the issued statement (nor of its hash): the bank reports after the
    close. A rendering shows it beside the payout reference, which is issued."""

    status: str
    """``pending`` (in the payout file), ``paid`` or ``failed``."""
    bank_reference: str | None = None
    reason: str | None = None
    """Why a payout failed."""
    returned_in: str | None = None
    """The period a failed payout returned to the balance in."""

    def describe(self) -> str:
        if self.status == "paid":
            return "paid" + (
                f", bank reference {self.bank_reference}" if self.bank_reference else ""
            )
        if self.status == "failed":
            where = f"; returned to the balance in {self.returned_in}" if self.returned_in else ""
            return f"failed ({self.reason or 'no reason given'}){where}"
        return "sent to the bank, no result yet"


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One ledger line as the partner sees it. ``amount`` is final and never recomputed."""

    line_id: str
    date: date
    source_fact: str
    """The billing fact that produced the line: ``invoice:INV-1``, ``refund:RF-9``."""
    customer: str | None
    component: str
    """The plan component id that produced the line (``payout`` for payout lines)."""
    component_kind: str
    line_kind: LineKind
    prior_period: str | None
    """``"2026-01"`` when the line adjusts an earlier, closed period; else None."""
    base_amount: Decimal
    base_currency: str
    rate: Decimal | None
    """A fraction: ``Decimal("0.08")`` for 8 %."""
    fx_rate: Decimal | None
    """Payout-currency units per base-currency unit, when the base was converted."""
    amount: Decimal
    """In the statement's payout currency, already rounded to its minor unit."""
    payable: bool
    plan_version: str
    """``reseller-2026@v2#ab12cd34``; empty for a line no plan produced (a returned payout)."""
    explanation: str

    def sort_key(self) -> tuple[_Date, str, str, str]:
        return (self.date, self.source_fact, self.component, self.line_id)


@dataclass(frozen=True, slots=True)
class ComponentSubtotal:
    """Sum of the lines of one plan component (payable and margin lines apart)."""

    component: str
    component_kind: str
    payable: bool
    lines: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class TierRequirement:
    """One qualification metric measured against the next tier's threshold."""

    metric: str
    """"sourced revenue (trailing 12 months)", "active certifications"."""
    unit: str
    """An ISO 4217 code for money metrics, or ``"count"``."""
    actual: Decimal
    threshold: Decimal
    gap: Decimal
    """``max(threshold - actual, 0)``."""

    @property
    def progress(self) -> Decimal:
        """Share of the threshold reached, between 0 and 1."""
        if self.threshold <= 0:
            return Decimal(1)
        return max(_ZERO, min(Decimal(1), self.actual / self.threshold))


@dataclass(frozen=True, slots=True)
class TierProgress:
    """Where the partner stands in the tier ladder and what the next tier takes."""

    current_tier: str | None
    next_tier: str | None
    """None at the top of the ladder."""
    requirements: tuple[TierRequirement, ...]
    gap_text: str
    """"4,200.00 more sourced revenue or 1 more certification to reach Gold"."""
    at_risk: bool
    at_risk_text: str | None
    """Why the next evaluation would demote; required when ``at_risk``."""


@dataclass(frozen=True, slots=True)
class YearToDate:
    """Calendar-year totals up to and including this period, in the payout currency."""

    earnings: Decimal
    clawbacks: Decimal
    adjustments: Decimal
    paid: Decimal


@dataclass(frozen=True, slots=True)
class Statement:
    """One partner's statement for one period. See the module docstring for the sums.

    Build it with :meth:`create`, which derives every total from the lines; the
    plain constructor (used when reading canonical JSON back) checks that the
    given totals are exactly those sums and raises :class:`StatementInvalid` if not.
    """

    partner_id: str
    partner_name: str
    partner_type: str
    partner_locale: str
    period: str
    period_start: date
    period_end: date
    payout_currency: str
    opening_balance: Decimal
    lines: tuple[StatementLine, ...]
    subtotals: tuple[ComponentSubtotal, ...]
    earnings_total: Decimal
    clawbacks_total: Decimal
    adjustments_total: Decimal
    margin_earned_total: Decimal
    payouts_total: Decimal
    closing_balance: Decimal
    holds: tuple[Hold, ...]
    carry_forward: Decimal
    amount_payable: Decimal
    payout_reference: str | None
    tier: TierProgress | None
    ytd: YearToDate
    plan_versions: tuple[str, ...]
    issued_on: date
    content_hash: str | None = field(default=None)
    _derived: InitVar[bool] = False
    """Set by `create` alone: its lines are normalised and sorted, and its totals,
    balances and subtotals are their sums, so they are not checked again."""

    # -- construction -------------------------------------------------------------

    @classmethod
    def create(
        cls,
        *,
        partner_id: str,
        partner_name: str,
        partner_type: str,
        partner_locale: str,
        period: str,
        period_start: date,
        period_end: date,
        payout_currency: str,
        opening_balance: Decimal,
        lines: Iterable[StatementLine],
        holds: Iterable[Hold] = (),
        ytd: YearToDate,
        tier: TierProgress | None = None,
        payout_reference: str | None = None,
        plan_versions: Iterable[str] = (),
        issued_on: date | None = None,
    ) -> Statement:
        """A statement whose totals, balances and subtotals are computed from ``lines``.

        ``issued_on`` defaults to ``period_end`` (never the wall clock).
        ``plan_versions`` is the union of the given ones and those named by the lines.
        """
        exponent = _exponent_or_raise(payout_currency)
        problems: list[str] = []
        checked = [_normalised_line(line, exponent, problems) for line in lines]
        if problems:  # refuse before summing: a float or an unrounded amount is a bug upstream
            raise StatementInvalid(problems)
        ordered = tuple(sorted(checked, key=StatementLine.sort_key))
        sums = _kind_sums(ordered, exponent)
        opening = _at_minor(opening_balance, exponent) if _is_decimal(opening_balance) else None
        if opening is None:
            raise StatementInvalid(
                [f"opening_balance {opening_balance!r} is not an exact {payout_currency} amount"]
            )
        holds = tuple(holds)
        closing = (
            opening
            + sums[LineKind.earning]
            + sums[LineKind.clawback]
            + sums[LineKind.adjustment]
            + sums[LineKind.payout]
        )
        payable = closing if closing > 0 and not holds else _zero(exponent)
        versions = set(plan_versions) | {line.plan_version for line in ordered if line.plan_version}
        return cls(
            partner_id=partner_id,
            partner_name=partner_name,
            partner_type=partner_type,
            partner_locale=partner_locale,
            period=period,
            period_start=period_start,
            period_end=period_end,
            payout_currency=payout_currency,
            opening_balance=opening,
            lines=ordered,
            subtotals=_subtotals(ordered, exponent),
            earnings_total=sums[LineKind.earning],
            clawbacks_total=sums[LineKind.clawback],
            adjustments_total=sums[LineKind.adjustment],
            margin_earned_total=sums[LineKind.margin],
            payouts_total=sums[LineKind.payout],
            closing_balance=closing,
            holds=holds,
            carry_forward=closing - payable,
            amount_payable=payable,
            payout_reference=payout_reference,
            tier=tier,
            ytd=ytd,
            plan_versions=tuple(sorted(versions)),
            issued_on=period_end if issued_on is None else issued_on,
            _derived=True,
        )

    def __post_init__(self, _derived: bool) -> None:
        problems: list[str] = []
        try:
            exponent = minor_exponent(self.payout_currency)
        except KeyError:
            raise StatementInvalid([f"unknown payout currency {self.payout_currency!r}"]) from None
        # Normalise (losslessly) so that equal statements have equal canonical forms.
        if not _derived:
            object.__setattr__(self, "lines", tuple(sorted(self.lines, key=StatementLine.sort_key)))
        object.__setattr__(self, "holds", tuple(self.holds))
        object.__setattr__(self, "subtotals", tuple(self.subtotals))
        object.__setattr__(self, "plan_versions", tuple(self.plan_versions))
        for name in _MONEY_FIELDS:
            value = getattr(self, name)
            exact = _at_minor(value, exponent) if _is_decimal(value) else None
            if exact is None:
                problems.append(f"{name} {value!r} is not an exact {self.payout_currency} amount")
            else:
                object.__setattr__(self, name, exact)
        if problems:
            raise StatementInvalid(problems)
        object.__setattr__(self, "ytd", _normalised_ytd(self.ytd, exponent, problems))
        if not _derived:
            object.__setattr__(
                self,
                "lines",
                tuple(_normalised_line(line, exponent, problems) for line in self.lines),
            )
        if problems:
            raise StatementInvalid(problems)
        problems.extend(self._header_problems())
        problems.extend(self._line_problems())
        if not _derived:
            problems.extend(self._sum_problems(exponent))
        if problems:
            raise StatementInvalid(problems)

    # -- derived views ------------------------------------------------------------

    @property
    def activity_total(self) -> Decimal:
        """Earnings + clawbacks + adjustments: the payable lines of the period."""
        return self.earnings_total + self.clawbacks_total + self.adjustments_total

    def lines_of(self, *kinds: LineKind) -> tuple[StatementLine, ...]:
        return tuple(line for line in self.lines if line.line_kind in kinds)

    # -- validation ---------------------------------------------------------------

    def _header_problems(self) -> list[str]:
        problems: list[str] = []
        for name in ("partner_id", "partner_name", "partner_type"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name).strip():
                problems.append(f"{name} must be a non-empty string")
        try:
            Locale.parse(self.partner_locale)
        except (UnknownLocaleError, ValueError, TypeError):
            problems.append(f"unknown partner_locale {self.partner_locale!r}")
        match = _PERIOD.match(self.period) if isinstance(self.period, str) else None
        if match is None:
            problems.append(f"period {self.period!r} is not YYYY-MM")
        elif (self.period_start.year, self.period_start.month) != (
            int(match[1]),
            int(match[2]),
        ):
            problems.append(f"period_start {self.period_start} is not in period {self.period}")
        if self.period_end < self.period_start:
            problems.append(f"period_end {self.period_end} is before period_start")
        if self.issued_on < self.period_end:
            problems.append(f"issued_on {self.issued_on} is before the period ends")
        if self.content_hash is not None and not re.fullmatch(r"[0-9a-f]{64}", self.content_hash):
            problems.append("content_hash must be 64 lower-case hex digits")
        if self.tier is not None:
            problems.extend(_tier_problems(self.tier))
        line_versions = {line.plan_version for line in self.lines if line.plan_version}
        if missing := sorted(line_versions - set(self.plan_versions)):
            problems.append(f"plan_versions lacks versions named by lines: {missing}")
        if list(self.plan_versions) != sorted(set(self.plan_versions)):
            problems.append("plan_versions must be sorted and unique")
        return problems

    def _line_problems(self) -> list[str]:
        problems: list[str] = []
        seen: set[str] = set()
        for line in self.lines:
            where = f"line {line.line_id}"
            if line.line_id in seen:
                problems.append(f"{where} appears twice")
            seen.add(line.line_id)
            if line.payable != line.line_kind.payable:
                problems.append(
                    f"{where}: a {line.line_kind} line must have payable={line.line_kind.payable}"
                )
            if line.line_kind in (LineKind.clawback, LineKind.payout) and line.amount > 0:
                problems.append(f"{where}: a {line.line_kind} line cannot be positive")
            if line.date > self.period_end:
                problems.append(f"{where} is dated {line.date}, after the period ends")
            if line.prior_period is None:
                if line.date < self.period_start:
                    problems.append(
                        f"{where} is dated {line.date}, before the period, without prior_period"
                    )
            elif not _PERIOD.match(line.prior_period) or line.prior_period >= self.period:
                problems.append(f"{where}: prior_period {line.prior_period!r} is not before")
            # plan_version may be empty: a returned payout is no plan's doing.
            for name in ("source_fact", "component", "component_kind"):
                if not getattr(line, name):
                    problems.append(f"{where}: {name} is empty")
        return problems

    def _sum_problems(self, exponent: int) -> list[str]:
        problems: list[str] = []
        sums = _kind_sums(self.lines, exponent)
        expected = {
            "earnings_total": sums[LineKind.earning],
            "clawbacks_total": sums[LineKind.clawback],
            "adjustments_total": sums[LineKind.adjustment],
            "margin_earned_total": sums[LineKind.margin],
            "payouts_total": sums[LineKind.payout],
        }
        for name, value in expected.items():
            if getattr(self, name) != value:
                problems.append(f"{name} is {getattr(self, name)} but its lines sum to {value}")
        closing = self.opening_balance + self.activity_total + self.payouts_total
        if self.closing_balance != closing:
            problems.append(
                f"closing_balance is {self.closing_balance} but opening + activity + payouts"
                f" is {closing}"
            )
        payable = self.closing_balance if self.closing_balance > 0 and not self.holds else 0
        if self.amount_payable != payable:
            problems.append(f"amount_payable is {self.amount_payable}, expected {payable}")
        if self.carry_forward != self.closing_balance - self.amount_payable:
            problems.append(
                f"carry_forward is {self.carry_forward}, expected closing_balance - amount_payable"
                f" = {self.closing_balance - self.amount_payable}"
            )
        if self.subtotals != _subtotals(self.lines, exponent):
            problems.append("subtotals do not match the lines")
        return problems


_MONEY_FIELDS = (
    "opening_balance",
    "earnings_total",
    "clawbacks_total",
    "adjustments_total",
    "margin_earned_total",
    "payouts_total",
    "closing_balance",
    "carry_forward",
    "amount_payable",
)


def _exponent_or_raise(currency: str) -> int:
    try:
        return minor_exponent(currency)
    except KeyError:
        raise StatementInvalid([f"unknown payout currency {currency!r}"]) from None


def _zero(exponent: int) -> Decimal:
    return Decimal(0).scaleb(-exponent)


def _kind_sums(lines: Iterable[StatementLine], exponent: int) -> dict[LineKind, Decimal]:
    sums = {kind: _zero(exponent) for kind in LineKind}
    for line in lines:
        sums[line.line_kind] += line.amount
    return sums


def _subtotals(lines: Iterable[StatementLine], exponent: int) -> tuple[ComponentSubtotal, ...]:
    groups: dict[tuple[str, bool], tuple[str, int, Decimal]] = {}
    for line in lines:
        if line.line_kind is LineKind.payout:
            continue
        key = (line.component, line.payable)
        kind, count, amount = groups.get(key, (line.component_kind, 0, _zero(exponent)))
        groups[key] = (kind, count + 1, amount + line.amount)
    return tuple(
        ComponentSubtotal(component, kind, payable, count, amount)
        for (component, payable), (kind, count, amount) in sorted(
            groups.items(), key=lambda item: (not item[0][1], item[0][0])
        )
    )


def _normalised_line(line: StatementLine, exponent: int, problems: list[str]) -> StatementLine:
    where = f"line {line.line_id}"
    amount = _at_minor(line.amount, exponent) if _is_decimal(line.amount) else None
    if amount is None:
        problems.append(f"{where}: amount {line.amount!r} is not an exact payout-currency amount")
        return line
    base = line.base_amount
    try:
        base_exponent = minor_exponent(line.base_currency)
    except KeyError:
        problems.append(f"{where}: unknown base_currency {line.base_currency!r}")
        return line
    if not _is_decimal(base):
        problems.append(f"{where}: base_amount {base!r} is not a Decimal")
        return line
    # A base more precise than its currency (a pro-rated volume) is kept as given.
    base = _at_minor(base, base_exponent) or base
    for name in ("rate", "fx_rate"):
        value = getattr(line, name)
        if value is not None and not _is_decimal(value):
            problems.append(f"{where}: {name} {value!r} is not a Decimal")
    given: object = line.line_kind  # a plain string is accepted and converted
    try:
        kind = given if isinstance(given, LineKind) else LineKind(str(given))
    except ValueError:
        problems.append(f"{where}: unknown line_kind {line.line_kind!r}")
        return line
    if amount is line.amount and base is line.base_amount and kind is line.line_kind:
        return line
    return replace(line, amount=amount, base_amount=base, line_kind=kind)


def _normalised_ytd(ytd: YearToDate, exponent: int, problems: list[str]) -> YearToDate:
    values: dict[str, Decimal] = {}
    for f in fields(ytd):
        value = getattr(ytd, f.name)
        exact = _at_minor(value, exponent) if _is_decimal(value) else None
        if exact is None:
            problems.append(f"ytd.{f.name} {value!r} is not an exact payout-currency amount")
            return ytd
        values[f.name] = exact
    return YearToDate(**values)


def _tier_problems(tier: TierProgress) -> list[str]:
    problems: list[str] = []
    if tier.at_risk and not tier.at_risk_text:
        problems.append("tier.at_risk needs an at_risk_text")
    for requirement in tier.requirements:
        values = (requirement.actual, requirement.threshold, requirement.gap)
        if not all(_is_decimal(v) for v in values):
            problems.append(f"tier requirement {requirement.metric!r}: values must be Decimals")
            continue
        gap = max(requirement.threshold - requirement.actual, _ZERO)
        if requirement.gap != gap:
            problems.append(
                f"tier requirement {requirement.metric!r}: gap is {requirement.gap}, expected {gap}"
            )
        if requirement.unit != COUNT_UNIT:
            try:
                minor_exponent(requirement.unit)
            except KeyError:
                problems.append(f"tier requirement {requirement.metric!r}: unknown unit")
    return problems
