"""`payouts worker`: calculate slices of distributed runs, on any machine that reaches
the database and the broker (README, "Workers on more machines")."""

from __future__ import annotations

from typing import Annotated

import typer

from api.commands.common import fail
from payouts.db import normalise_url
from payouts.settings import get_settings


def worker(
    concurrency: Annotated[
        int, typer.Option(min=1, help="Slices calculated at once (processes); one a core")
    ] = 1,
) -> None:
    """Take slices of `payouts batch run --distributed` from the broker until stopped."""
    from payouts.batch import jobs

    settings = get_settings()
    if not settings.broker_url:
        fail("a worker needs BROKER_URL: the broker distributed runs put their slices on")
    if normalise_url(settings.database_url).get_backend_name() != "postgresql":
        fail("a worker needs DATABASE_URL on PostgreSQL: the run's snapshot is read there")
    jobs.work(concurrency)
