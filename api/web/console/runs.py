"""A month's batch run from the console, in the background, with its progress.

The run button starts `payouts.batch.service.run` in a thread of this process and
redirects to the run's status page, which refreshes itself (`<meta http-equiv=
refresh>`, no JavaScript) and shows the slices and partners the run has stored so
far, from the run's own `progress` callback; when the run ends the page sends the
browser on to the month (or shows why it failed). A second click while a month runs
starts nothing: it shows the run in progress.

The progress lives in this process's memory (the run itself is one transaction: a
draft is stored whole or not at all). Served by several processes, a status page
asked of another process says so and links to the month, whose state is the truth.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine

from payouts.base import utcnow
from payouts.batch import service as batch
from payouts.db import unit_of_work
from payouts.errors import PayoutsError

log = logging.getLogger(__name__)


@dataclass
class Run:
    """One run's progress, as its thread reports it."""

    period: str
    actor: str
    started_at: datetime = field(default_factory=utcnow)
    slices: int = 0
    partners: int = 0
    lines: int | None = None
    """Set when the run has stored its draft."""
    error: str | None = None
    finished: bool = False

    def advanced(self, slices: int, partners: int) -> None:
        self.slices, self.partners = slices, partners


_runs: dict[str, Run] = {}
_lock = threading.Lock()


def current(period: str) -> Run | None:
    """The latest run of `period` started by this process, if any."""
    with _lock:
        return _runs.get(period)


def _work(engine: Engine, run: Run) -> None:
    try:
        with unit_of_work(engine) as session:
            result = batch.run(session, run.period, actor=run.actor, progress=run.advanced)
        run.partners, run.lines = result.partners, result.lines
    except PayoutsError as refused:
        run.error = refused.message
    except Exception:  # a thread has no caller to raise to: log it, show a short line
        log.exception("the console's run of %s failed", run.period)
        run.error = "the run failed: nothing was stored (the server log has the details)"
    finally:
        run.finished = True


def start(engine: Engine, period: str, actor: str) -> Run:
    """Start a run of `period` in the background, unless one is already running."""
    with _lock:
        running = _runs.get(period)
        if running is not None and not running.finished:
            return running
        run = Run(period, actor)
        _runs[period] = run
    threading.Thread(target=_work, args=(engine, run), name=f"run-{period}", daemon=True).start()
    return run
