"""Errors of the batch lifecycle, named after the situation."""

from __future__ import annotations

from payouts.errors import PayoutsError


class BatchBusy(PayoutsError):
    """Another run or close of the same period holds the period's lock."""

    code = "batch-busy"
    status = 409


class BatchNotFound(PayoutsError):
    code = "batch-not-found"
    status = 404


class PeriodClosed(PayoutsError):
    code = "period-closed"
    status = 409


class EarlierPeriodOpen(PayoutsError):
    code = "earlier-period-open"
    status = 409


class MakerCheckerViolation(PayoutsError):
    """The person who calculated a batch may not approve it."""

    code = "maker-checker"
    status = 403


class AlreadyApproved(PayoutsError):
    """The current run of the batch has its approval already."""

    code = "already-approved"
    status = 409


class BatchNotApproved(PayoutsError):
    code = "batch-not-approved"
    status = 409


class DraftChanged(PayoutsError):
    """Facts arrived or lines changed since the draft was calculated or approved."""

    code = "draft-changed"
    status = 409


class MinimumNotComparable(PayoutsError):
    """A plan's minimum payout is in another currency and no FX rate converts it at
    month end: whether the balance reaches it cannot be decided, so nothing is paid."""

    code = "minimum-not-comparable"
    status = 422


class ExportUnavailable(PayoutsError):
    code = "export-unavailable"
    status = 422


class PayoutResultsRefused(PayoutsError):
    code = "payout-results-refused"
    status = 422


class WorkersUnavailable(PayoutsError):
    """A distributed run cannot reach its workers, or they cannot finish its slices."""

    code = "workers-unavailable"
    status = 503


class SliceFailed(PayoutsError):
    """A worker could not calculate a slice of a distributed run (the reason is its own)."""

    code = "slice-failed"
    status = 500
