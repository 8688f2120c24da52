"""Canonical JSON of a statement and its SHA-256 content hash.

The canonical form is what a closed period's hash is computed over, so it must
never depend on anything but the statement's content:

- keys sorted, no insignificant whitespace (``separators=(",", ":")``), UTF-8;
- every Decimal as a plain string (``"1234.50"``, never exponent notation), money at
  its currency's exact minor-unit precision (the model normalises that), so
  ``"10.00"`` and ``"10"`` can never both describe the same USD amount;
- dates as ISO ``YYYY-MM-DD``; no floats anywhere (checked before dumping: a float
  is a bug upstream and raises ``TypeError``);
- lines in the statement's deterministic order;
- a ``"schema"`` key naming the layout, so a future change of layout is a new
  schema rather than a silent change of every hash.

``content_hash`` hashes the canonical form without its ``content_hash`` key;
``from_canonical`` reads the JSON back into a validated :class:`Statement` and
refuses one whose totals do not add up or whose stated hash does not match.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable
from dataclasses import replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

from statements.model import (
    ComponentSubtotal,
    Hold,
    LineKind,
    Statement,
    StatementInvalid,
    StatementLine,
    TierProgress,
    TierRequirement,
    YearToDate,
)

__all__ = [
    "SCHEMA",
    "ContentHashMismatch",
    "canonical_json",
    "content_hash",
    "from_canonical",
    "seal",
    "sealed_hash",
    "to_document",
    "verify",
]

SCHEMA = "partner-statement/1"

JSON = None | bool | int | str | list["JSON"] | dict[str, "JSON"]


class ContentHashMismatch(ValueError):
    """The content hash stated on a statement is not the hash of its content."""

    def __init__(self, stated: str, computed: str) -> None:
        self.stated = stated
        self.computed = computed
        super().__init__(f"content hash mismatch: stated {stated}, computed {computed}")


# -- to JSON ------------------------------------------------------------------------


def decimal_text(value: Decimal) -> str:
    """A decimal as JSON and CSV write it."""
    # "f" never uses exponent notation; a negative zero is written as zero.
    text = format(value, "f")
    return text[1:] if text.startswith("-") and value == 0 else text


def _opt_dec(value: Decimal | None) -> str | None:
    return None if value is None else decimal_text(value)


def _line(line: StatementLine) -> dict[str, JSON]:
    return {
        "line_id": line.line_id,
        "date": line.date.isoformat(),
        "source_fact": line.source_fact,
        "customer": line.customer,
        "component": line.component,
        "component_kind": line.component_kind,
        "line_kind": line.line_kind.value,
        "prior_period": line.prior_period,
        "base_amount": decimal_text(line.base_amount),
        "base_currency": line.base_currency,
        "rate": _opt_dec(line.rate),
        "fx_rate": _opt_dec(line.fx_rate),
        "amount": decimal_text(line.amount),
        "payable": line.payable,
        "plan_version": line.plan_version,
        "explanation": line.explanation,
    }


def _tier(tier: TierProgress | None) -> dict[str, JSON] | None:
    if tier is None:
        return None
    return {
        "current_tier": tier.current_tier,
        "next_tier": tier.next_tier,
        "requirements": [
            {
                "metric": r.metric,
                "unit": r.unit,
                "actual": decimal_text(r.actual),
                "threshold": decimal_text(r.threshold),
                "gap": decimal_text(r.gap),
            }
            for r in tier.requirements
        ],
        "gap_text": tier.gap_text,
        "at_risk": tier.at_risk,
        "at_risk_text": tier.at_risk_text,
    }


def to_document(statement: Statement, *, include_hash: bool = True) -> dict[str, JSON]:
    """The statement as plain JSON values (str, int, bool, None, list, dict)."""
    s = statement
    document: dict[str, JSON] = {
        "schema": SCHEMA,
        "partner_id": s.partner_id,
        "partner_name": s.partner_name,
        "partner_type": s.partner_type,
        "partner_locale": s.partner_locale,
        "period": s.period,
        "period_start": s.period_start.isoformat(),
        "period_end": s.period_end.isoformat(),
        "payout_currency": s.payout_currency,
        "opening_balance": decimal_text(s.opening_balance),
        "lines": [_line(line) for line in s.lines],
        "subtotals": [
            {
                "component": t.component,
                "component_kind": t.component_kind,
                "payable": t.payable,
                "lines": t.lines,
                "amount": decimal_text(t.amount),
            }
            for t in s.subtotals
        ],
        "earnings_total": decimal_text(s.earnings_total),
        "clawbacks_total": decimal_text(s.clawbacks_total),
        "adjustments_total": decimal_text(s.adjustments_total),
        "margin_earned_total": decimal_text(s.margin_earned_total),
        "payouts_total": decimal_text(s.payouts_total),
        "closing_balance": decimal_text(s.closing_balance),
        "holds": [{"code": h.code, "reason": h.reason} for h in s.holds],
        "carry_forward": decimal_text(s.carry_forward),
        "amount_payable": decimal_text(s.amount_payable),
        "payout_reference": s.payout_reference,
        "tier": _tier(s.tier),
        "ytd": {
            "earnings": decimal_text(s.ytd.earnings),
            "clawbacks": decimal_text(s.ytd.clawbacks),
            "adjustments": decimal_text(s.ytd.adjustments),
            "paid": decimal_text(s.ytd.paid),
        },
        "plan_versions": list(s.plan_versions),
        "issued_on": s.issued_on.isoformat(),
    }
    if include_hash:
        document["content_hash"] = s.content_hash
    return document


def _assert_no_float(value: object, path: str = "$") -> None:
    """IMPORTANT: a float in the canonical form would make the hash depend on binary
    rounding; refuse it loudly instead of serialising it."""
    if isinstance(value, float):
        raise TypeError(f"float at {path} in a canonical statement")
    # A line is all leaves: a dict or list of leaves only is passed in one check; one
    # holding anything else (a float among them) is walked, to name where.
    if isinstance(value, dict):
        if _LEAVES.issuperset(map(type, value.values())):
            return
        items: Iterable[tuple[object, object]] = value.items()
    elif isinstance(value, list):
        if _LEAVES.issuperset(map(type, value)):
            return
        items = enumerate(value)
    else:
        return
    for key, item in items:
        # A statement is mostly strings: those are passed over without a call.
        if type(item) not in _LEAVES:
            _assert_no_float(item, f"{path}.{key}" if isinstance(value, dict) else f"{path}[{key}]")


_LEAVES = frozenset({str, int, bool, type(None)})


def _dumps(document: dict[str, JSON]) -> str:
    _assert_no_float(document)
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def canonical_json(statement: Statement, *, include_hash: bool = True) -> str:
    """The canonical JSON text (includes ``content_hash`` unless told not to)."""
    return _dumps(to_document(statement, include_hash=include_hash))


def content_hash(statement: Statement) -> str:
    """SHA-256 hex of the UTF-8 canonical JSON without the ``content_hash`` key."""
    payload = canonical_json(statement, include_hash=False).encode("utf-8")
    return hashlib.sha256(payload).hexdigest()


SEALED_KEPT = 16
"""How many of the statements `seal` made last it remembers (a render worker renders a
statement right after sealing it)."""
_sealed: dict[int, Statement] = {}
_sealed_lock = threading.Lock()  # the API seals in several threads at once


def seal(statement: Statement) -> Statement:
    """The statement carrying its own content hash (as issued at period close).

    The statement was checked and normalised when it was made (both constructors do),
    and only its hash changes here, so the copy is not checked again (``_derived``):
    checking it re-sorted and re-summed every line a second time per statement."""
    sealed = replace(statement, content_hash=content_hash(statement), _derived=True)
    with _sealed_lock:
        if len(_sealed) >= SEALED_KEPT:
            del _sealed[next(iter(_sealed))]
        _sealed[id(sealed)] = sealed
    return sealed


def sealed_hash(statement: Statement) -> str | None:
    """The hash `seal` gave this very statement (one of the last it made), else None.

    A statement is frozen, and so is everything it holds, so the hash `seal` computed
    is still its content's: the renderer need not hash it again. Any other statement
    (a copy with another hash, one that came through a pickle) is not known here."""
    with _sealed_lock:
        known = _sealed.get(id(statement))
    if known is statement:
        return statement.content_hash
    return None


def verify(statement: Statement) -> bool:
    """True when the statement carries a hash and it is the hash of its content."""
    return statement.content_hash is not None and statement.content_hash == content_hash(statement)


# -- from JSON ----------------------------------------------------------------------


def _refuse_float(text: str) -> NoReturn:
    raise StatementInvalid([f"float {text} in statement JSON; amounts must be strings"])


def _to_dec(value: Any, where: str) -> Decimal:
    if not isinstance(value, str):
        raise StatementInvalid([f"{where} must be a decimal string, got {value!r}"])
    try:
        result = Decimal(value)
    except InvalidOperation:
        raise StatementInvalid([f"{where} {value!r} is not a decimal"]) from None
    if not result.is_finite():
        raise StatementInvalid([f"{where} {value!r} is not finite"])
    return result


def _to_opt_dec(value: Any, where: str) -> Decimal | None:
    return None if value is None else _to_dec(value, where)


def _to_date(value: Any, where: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise StatementInvalid([f"{where} {value!r} is not an ISO date"]) from None


def _from_line(raw: dict[str, Any]) -> StatementLine:
    where = f"line {raw.get('line_id')}"
    return StatementLine(
        line_id=raw["line_id"],
        date=_to_date(raw["date"], f"{where} date"),
        source_fact=raw["source_fact"],
        customer=raw["customer"],
        component=raw["component"],
        component_kind=raw["component_kind"],
        line_kind=LineKind(raw["line_kind"]),
        prior_period=raw["prior_period"],
        base_amount=_to_dec(raw["base_amount"], f"{where} base_amount"),
        base_currency=raw["base_currency"],
        rate=_to_opt_dec(raw["rate"], f"{where} rate"),
        fx_rate=_to_opt_dec(raw["fx_rate"], f"{where} fx_rate"),
        amount=_to_dec(raw["amount"], f"{where} amount"),
        payable=raw["payable"],
        plan_version=raw["plan_version"],
        explanation=raw["explanation"],
    )


def _from_tier(raw: dict[str, Any] | None) -> TierProgress | None:
    if raw is None:
        return None
    return TierProgress(
        current_tier=raw["current_tier"],
        next_tier=raw["next_tier"],
        requirements=tuple(
            TierRequirement(
                metric=r["metric"],
                unit=r["unit"],
                actual=_to_dec(r["actual"], "tier actual"),
                threshold=_to_dec(r["threshold"], "tier threshold"),
                gap=_to_dec(r["gap"], "tier gap"),
            )
            for r in raw["requirements"]
        ),
        gap_text=raw["gap_text"],
        at_risk=raw["at_risk"],
        at_risk_text=raw["at_risk_text"],
    )


def from_canonical(text: str | bytes) -> Statement:
    """Read canonical JSON back into a validated :class:`Statement`.

    Raises :class:`StatementInvalid` when the JSON is malformed or its figures do not
    add up, and :class:`ContentHashMismatch` when it states a hash that is not the
    hash of its content.
    """
    try:
        raw = json.loads(text, parse_float=_refuse_float)
    except json.JSONDecodeError as exc:
        raise StatementInvalid([f"not JSON: {exc}"]) from None
    if not isinstance(raw, dict) or raw.get("schema") != SCHEMA:
        raise StatementInvalid([f"not a {SCHEMA} document"])
    try:
        statement = Statement(
            partner_id=raw["partner_id"],
            partner_name=raw["partner_name"],
            partner_type=raw["partner_type"],
            partner_locale=raw["partner_locale"],
            period=raw["period"],
            period_start=_to_date(raw["period_start"], "period_start"),
            period_end=_to_date(raw["period_end"], "period_end"),
            payout_currency=raw["payout_currency"],
            opening_balance=_to_dec(raw["opening_balance"], "opening_balance"),
            lines=tuple(_from_line(line) for line in raw["lines"]),
            subtotals=tuple(
                ComponentSubtotal(
                    component=t["component"],
                    component_kind=t["component_kind"],
                    payable=t["payable"],
                    lines=t["lines"],
                    amount=_to_dec(t["amount"], "subtotal amount"),
                )
                for t in raw["subtotals"]
            ),
            earnings_total=_to_dec(raw["earnings_total"], "earnings_total"),
            clawbacks_total=_to_dec(raw["clawbacks_total"], "clawbacks_total"),
            adjustments_total=_to_dec(raw["adjustments_total"], "adjustments_total"),
            margin_earned_total=_to_dec(raw["margin_earned_total"], "margin_earned_total"),
            payouts_total=_to_dec(raw["payouts_total"], "payouts_total"),
            closing_balance=_to_dec(raw["closing_balance"], "closing_balance"),
            holds=tuple(Hold(code=h["code"], reason=h["reason"]) for h in raw["holds"]),
            carry_forward=_to_dec(raw["carry_forward"], "carry_forward"),
            amount_payable=_to_dec(raw["amount_payable"], "amount_payable"),
            payout_reference=raw["payout_reference"],
            tier=_from_tier(raw["tier"]),
            ytd=YearToDate(
                earnings=_to_dec(raw["ytd"]["earnings"], "ytd.earnings"),
                clawbacks=_to_dec(raw["ytd"]["clawbacks"], "ytd.clawbacks"),
                adjustments=_to_dec(raw["ytd"]["adjustments"], "ytd.adjustments"),
                paid=_to_dec(raw["ytd"]["paid"], "ytd.paid"),
            ),
            plan_versions=tuple(raw["plan_versions"]),
            issued_on=_to_date(raw["issued_on"], "issued_on"),
            content_hash=raw.get("content_hash"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, StatementInvalid):
            raise
        raise StatementInvalid([f"malformed statement JSON: {exc!r}"]) from None
    if statement.content_hash is not None:
        computed = content_hash(statement)
        if computed != statement.content_hash:
            raise ContentHashMismatch(statement.content_hash, computed)
    return statement
