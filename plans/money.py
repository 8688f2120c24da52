"""Money: the single rounding chokepoint, minor units and rate parsing.

IMPORTANT: every amount that lands on a ledger line is rounded here, once, by
the plan's rule. py-moneyed's ``round()`` follows the Decimal context (banker's
rounding) and ``get_amount_in_sub_unit()`` truncates, so neither is used.
Floats are refused everywhere: ``0.1 + 0.2`` has no place in a payout.
"""

from __future__ import annotations

import enum
import re
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

import moneyed

from plans.errors import InvalidAmount, UnknownCurrency


class Rounding(enum.StrEnum):
    """How a plan rounds each ledger line to the currency's minor unit."""

    half_up = "half_up"
    half_even = "half_even"


DECIMAL_ROUNDING = {Rounding.half_up: ROUND_HALF_UP, Rounding.half_even: ROUND_HALF_EVEN}
_HUNDRED = Decimal(100)


# ISO 4217 codes that name no money a partner can be paid in: they are refused as the
# currency of a fact, a plan or a payout, even though py-moneyed knows them.
NOT_PAID_IN = frozenset(
    {
        # precious metals
        "XAU",
        "XAG",
        "XPD",
        "XPT",
        # bond-market units, the IMF's special drawing right, regional units of account
        "XBA",
        "XBB",
        "XBC",
        "XBD",
        "XDR",
        "XSU",
        "XUA",
        # reserved for testing, and "no currency"
        "XTS",
        "XXX",
        # fund codes: units of account for indexation or settlement, never paid out
        "BOV",
        "CHE",
        "CHW",
        "CLF",
        "COU",
        "MXV",
        "USN",
        "USS",
        "UYI",
        "UYW",
        # offshore renminbi: a market convention, not an ISO 4217 code
        "CNH",
    }
)

# The currencies money is paid in: py-moneyed's codes still in use in some country (a
# withdrawn currency such as DEM or HRK has none), less the codes above. The one list
# behind every currency check (facts, plans, payouts) and every minor unit.
PAYABLE_CURRENCIES = frozenset(
    code
    for code, currency in moneyed.CURRENCIES.items()
    if currency.countries and code not in NOT_PAID_IN
)


def currency_problem(code: object) -> str | None:
    """Why `code` is not a currency money is paid in, or None when it is one."""
    if isinstance(code, str) and code in PAYABLE_CURRENCIES:
        return None
    if isinstance(code, str) and code in moneyed.CURRENCIES and code.isupper():
        return (
            f"{code!r} is not a currency money is paid in (precious metals, testing, "
            "fund and unit-of-account codes and withdrawn currencies are refused)"
        )
    return f"{code!r} is not an ISO 4217 currency code"


def is_payable_currency(code: str) -> bool:
    """True for an ISO 4217 code (upper case) of a currency money is paid in."""
    return isinstance(code, str) and code in PAYABLE_CURRENCIES


@lru_cache(maxsize=512)
def minor_exponent(currency: str) -> int:
    """Digits after the decimal point of the currency's minor unit: JPY 0, USD 2, KWD 3."""
    if not is_payable_currency(currency):
        raise UnknownCurrency(currency)
    sub_unit = int(moneyed.CURRENCIES[currency].sub_unit)
    exponent = len(str(sub_unit)) - 1
    if sub_unit != 10**exponent:  # pragma: no cover - no such ISO currency today
        raise UnknownCurrency(currency)
    return exponent


@lru_cache(maxsize=512)
def minor_quantum(currency: str) -> Decimal:
    """The currency's minor unit as a Decimal: ``Decimal("0.01")`` for USD."""
    return Decimal(1).scaleb(-minor_exponent(currency))


def round_money(amount: Decimal, currency: str, rounding: Rounding = Rounding.half_up) -> Decimal:
    """Round ``amount`` to the minor unit of ``currency`` by ``rounding``.

    This is the only place in the product where money is rounded.
    """
    try:
        return amount.quantize(minor_quantum(currency), rounding=DECIMAL_ROUNDING[rounding])
    except InvalidOperation as exc:
        raise InvalidAmount(f"cannot round {amount!r} {currency}") from exc


class LineRounding:
    """The one rounding of a ledger line: to the minor unit of a payout currency by the
    plan's rule. `round_money` for many lines of one currency and rule, with the unit
    and the rule looked up once."""

    __slots__ = ("_quantum", "_rounding")

    def __init__(self, currency: str, rounding: Rounding) -> None:
        self._quantum = minor_quantum(currency)
        self._rounding = DECIMAL_ROUNDING[rounding]

    def __call__(self, unrounded: Decimal) -> Decimal:
        return unrounded.quantize(self._quantum, self._rounding)


def to_minor(amount: Decimal, currency: str) -> int:
    """Integer minor units of an amount already at minor precision (``12.34 USD -> 1234``).

    Raises ``InvalidAmount`` rather than silently rounding or truncating.
    """
    scaled = amount.scaleb(minor_exponent(currency))
    try:
        units = int(scaled)  # truncates: compared below, so never silently
    except (ValueError, OverflowError):  # NaN, infinity
        units = None
    if units is None or units != scaled:
        raise InvalidAmount(f"{amount} {currency} is not at the currency's minor precision")
    return units


def from_minor(units: int, currency: str) -> Decimal:
    """The Decimal amount of integer minor units (``1234 USD -> Decimal("12.34")``)."""
    if isinstance(units, bool) or not isinstance(units, int):
        raise InvalidAmount(f"minor units must be an integer, got {units!r}")
    return Decimal(units).scaleb(-minor_exponent(currency))


def parse_decimal(value: object, what: str = "amount") -> Decimal:
    """A Decimal from an exact input: ``str``, ``int`` or ``Decimal``; never a binary float."""
    if isinstance(value, bool):
        raise InvalidAmount(f"{what} must be a number, got a boolean")
    if isinstance(value, float):
        raise InvalidAmount(
            f"{what} must be written exactly (a string or decimal), not a binary float {value!r}"
        )
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip().replace("_", ""))
        except InvalidOperation:
            raise InvalidAmount(f"{what} {value!r} is not a number") from None
    else:
        raise InvalidAmount(f"{what} must be a number, got {type(value).__name__}")
    if not result.is_finite():
        raise InvalidAmount(f"{what} must be finite, got {value!r}")
    return result


_PLAIN_DECIMAL = re.compile(r"([0-9]+)(?:\.([0-9]+))?")


def parse_plain_decimal(
    value: object, what: str, *, integer_digits: int, decimals: int | None = None
) -> Decimal:
    """A Decimal from text in the documented form of money on the wire, else InvalidAmount.

    The form: ASCII digits, optionally a point and more ASCII digits; at most
    `integer_digits` before the point and `decimals` after it (None: the caller checks
    the decimals, e.g. against a currency). Surrounding spaces are ignored. Nothing else:
    no sign, exponent, grouping, underscore, other scripts' digits, NaN or infinity, and
    never a JSON number (a binary float, or an integer a client may have rounded).
    """
    if isinstance(value, float):
        raise InvalidAmount(
            f'expected a decimal string such as "100.00", not a binary float {value!r}'
        )
    if not isinstance(value, str):
        kind = "a JSON number" if isinstance(value, int | Decimal) else type(value).__name__
        raise InvalidAmount(f'expected a decimal string such as "100.00", not {kind}')
    text = value.strip()
    match = _PLAIN_DECIMAL.fullmatch(text)
    if match is None:
        raise InvalidAmount(
            f"{what} {value!r} is not a plain decimal string: ASCII digits with an optional "
            'point and decimals, such as "100.00" (no sign, exponent or grouping)'
        )
    whole, fraction = match.group(1), match.group(2) or ""
    if len(whole) > integer_digits:
        raise InvalidAmount(
            f"{what} {text} is too large: at most {integer_digits} digits before the point"
        )
    if decimals is not None and len(fraction) > decimals:
        raise InvalidAmount(f"{what} {text} is too precise: at most {decimals} decimals")
    return Decimal(text)


def parse_rate(value: str | int | Decimal) -> Decimal:
    """A rate as a fraction: ``"8%" -> 0.08``, ``"12.5%" -> 0.125``, ``"0.08" -> 0.08``.

    Range checks belong to the caller (a plan rate lies in 0..100%).
    """
    if isinstance(value, str) and value.strip().endswith("%"):
        return parse_decimal(value.strip()[:-1], "rate").scaleb(-2)
    return parse_decimal(value, "rate")


def format_amount(amount: Decimal) -> str:
    """Plain grouped amount as shown in explanations: ``Decimal("10000.00") -> "10,000.00"``."""
    return f"{amount:,}"


@lru_cache(maxsize=4096)
def format_rate(rate: Decimal) -> str:
    """A fraction as a percentage without noise: ``0.08 -> "8%"``, ``0.125 -> "12.5%"``."""
    percent = (rate * _HUNDRED).normalize()
    return f"{percent:f}%"
