"""CSV cells no spreadsheet will execute: every CSV we export goes through `safe_cell`."""

from __future__ import annotations

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str | None) -> str:
    """A text cell that no spreadsheet will run as a formula.

    IMPORTANT: a customer name such as ``=HYPERLINK("http://evil","click")`` would
    otherwise execute when the partner opens the file. Cells starting with
    ``= + - @``, a tab or a carriage return get a leading apostrophe, which
    spreadsheets show as text and do not evaluate. Apply to text, not to the
    numeric amount columns (a negative amount is data, not a formula).
    """
    if value is None:
        return ""
    if value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value
