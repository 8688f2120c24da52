"""What a job costs on each candidate engine for a distributed run's slices.

    .venv/bin/python bench/bench_queue.py --jobs 300

Each engine gets one worker process of its own (started here, one job at a time) and
N jobs; each job does what a slice job does at its end, one INSERT into PostgreSQL
(its "done" mark), so the figure is the engine's overhead on top of that: from the
first job sent to the last row committed, per job, beside a baseline measured in the
same run (the same N inserts made directly by one process). Engines:

- celery-amqp: Celery on RabbitMQ (BENCH_AMQP_URL, amqp://guest:guest@127.0.0.1:5672//);
- celery-redis: Celery on Redis (BENCH_REDIS_URL, redis://127.0.0.1:6379/15);
- procrastinate: procrastinate on the same PostgreSQL (its schema applied to the
  scratch database).

A scratch PostgreSQL database (BENCH_DATABASE_URL's server, user postgres by default)
is created and dropped. `procrastinate` and `redis` (Celery's Redis transport) are not
dependencies of the project: install them to measure them (`.venv/bin/pip install
procrastinate redis`); an engine that cannot be reached or imported is reported and
skipped.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

HERE = Path(__file__).resolve()
SERVER = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BROKERS = {
    "celery-amqp": os.environ.get("BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//"),
    "celery-redis": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"),
}
ENGINES = ("celery-amqp", "celery-redis", "procrastinate")
READY_WITHIN = 60.0


def _database(name: str) -> str:
    return SERVER.rsplit("/", 1)[0] + "/" + name


_connections: dict[str, psycopg.Connection[Any]] = {}


def _mark(url: str, n: int) -> None:
    """A job's work: one committed INSERT, on a connection kept by the process."""
    conn = _connections.get(url)
    if conn is None:
        conn = _connections[url] = psycopg.connect(url, autocommit=True)
    conn.execute("INSERT INTO done (n) VALUES (%s)", (n,))


def _noop(url: str) -> Any:
    def noop(n: int) -> None:
        _mark(url, n)

    return noop


# --- the engines, as a worker and as a sender ------------------------------------------


def _celery(broker: str, url: str, queue: str) -> Any:
    from celery import Celery

    app = Celery("bench", broker=broker, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        worker_prefetch_multiplier=1,
        task_default_queue=queue,
        task_ignore_result=True,
        worker_enable_remote_control=False,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
    )
    app.task(name="noop")(_noop(url))
    return app


def _procrastinate(url: str) -> Any:
    from procrastinate import App, SyncPsycopgConnector

    app = App(connector=SyncPsycopgConnector(conninfo=url))
    app.task(name="noop", queue="bench")(_noop(url))
    return app


def worker(engine: str, url: str, queue: str) -> None:
    """One worker process, one job at a time, until terminated."""
    if engine == "procrastinate":
        from procrastinate import App, PsycopgConnector

        app = App(connector=PsycopgConnector(conninfo=url))
        app.task(name="noop", queue="bench")(_noop(url))
        app.run_worker(queues=["bench"], concurrency=1, wait=True)
        return
    app = _celery(BROKERS[engine], url, queue)
    app.Worker(
        hostname=f"bench-{os.getpid()}@localhost",
        pool="solo",
        concurrency=1,
        queues=[queue],
        without_gossip=True,
        without_mingle=True,
        loglevel="WARNING",
    ).start()


class Sender:
    def __init__(self, engine: str, url: str, queue: str) -> None:
        self.engine = engine
        if engine == "procrastinate":
            self.app = _procrastinate(url)
            self.app.open()
            self.app.schema_manager.apply_schema()
        else:
            self.app = _celery(BROKERS[engine], url, queue)
            with self.app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1)

    def send(self, numbers: range) -> None:
        if self.engine == "procrastinate":
            task = self.app.tasks["noop"]
            for n in numbers:
                task.defer(n=n)
            return
        with self.app.producer_or_acquire() as producer:
            for n in numbers:
                self.app.send_task("noop", args=[n], producer=producer)

    def close(self) -> None:
        if self.engine == "procrastinate":
            self.app.close()


def _count(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM done").fetchone()
    return int(row[0]) if row else 0


def _wait_for(url: str, count: int, within: float) -> bool:
    deadline = time.perf_counter() + within
    while _count(url) < count:
        if time.perf_counter() > deadline:
            return False
        time.sleep(0.002)
    return True


def measure(engine: str, url: str, jobs: int) -> float | None:
    """Seconds per job from the first sent to the last done, or None if unavailable."""
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    try:
        sender = Sender(engine, url, queue)
    except Exception as exc:
        print(f"{engine}: skipped ({type(exc).__name__}: {str(exc)[:80]})")
        return None
    process = subprocess.Popen(
        [sys.executable, str(HERE), "--worker", engine, "--url", url, "--queue", queue],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("TRUNCATE done")
        sender.send(range(1))  # warm-up: the worker is up once it is done
        if not _wait_for(url, 1, READY_WITHIN):
            print(f"{engine}: skipped (the worker did not start)")
            return None
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("TRUNCATE done")
        start = time.perf_counter()
        sender.send(range(jobs))
        _wait_for(url, jobs, READY_WITHIN + jobs)
        return (time.perf_counter() - start) / jobs
    finally:
        process.terminate()
        process.wait(timeout=30)
        sender.close()
        if engine != "procrastinate":
            with sender.app.connection_for_write() as connection:
                connection.default_channel.queue_delete(queue)


def baseline(url: str, jobs: int) -> float:
    start = time.perf_counter()
    for n in range(jobs):
        _mark(url, n)
    return (time.perf_counter() - start) / jobs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--queue", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.url, args.queue)
        return 0

    name = f"pp_bench_queue_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(SERVER, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = _database(name)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE done (n int)")
        base = baseline(url, args.jobs)
        print(f"baseline: {args.jobs} direct inserts, {base * 1000:.2f} ms each")
        print("engine\tms a job\tbaseline ms\tratio")
        for engine in args.engines.split(","):
            per_job = measure(engine, url, args.jobs)
            if per_job is not None:
                base = baseline(url, args.jobs)  # again, beside it: the load moves
                print(f"{engine}\t{per_job * 1000:.2f}\t{base * 1000:.2f}\t{per_job / base:.2f}")
    finally:
        with psycopg.connect(SERVER, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
