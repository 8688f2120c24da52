"""Domain errors of the `payouts` package.

Each error names the situation, carries a stable `code` (the API turns it into the
RFC 9457 problem `type`) and a one-line message a finance user can act on.
"""

from __future__ import annotations


class PayoutsError(Exception):
    """Base of every error `payouts` raises on purpose."""

    code = "payouts-error"
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DatabaseUnavailable(PayoutsError):
    """The configured database cannot be reached or the URL is not usable."""

    code = "database-unavailable"
    status = 503
