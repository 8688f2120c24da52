"""Single-fact ingestion over HTTP against a trivial endpoint of the same server.

Starts the API with uvicorn on 127.0.0.1 in a subprocess (one worker) on a fresh,
migrated database (a temporary SQLite file, or a new PostgreSQL database when
DATABASE_URL names a PostgreSQL server), creates a billing key, then runs the same
client loop (one keep-alive httpx2 client, sequential requests) twice:

- ``POST /facts/invoices``: one new invoice per request, authenticated, validated,
  written and committed (optionally with an ``Idempotency-Key``);
- ``GET /health``: the trivial endpoint (no authentication, no database),

in alternating blocks of 50 requests, so that a change in the machine's load
affects both figures alike.

It prints both rates and their ratio (target >= 0.3).

    .venv/bin/python bench/bench_ingestion.py --requests 1000
    .venv/bin/python bench/bench_ingestion.py                  # smoke (100 requests)

``run(scale)`` returns the rows for a bench runner: ``scale`` 1.0 means 1000 requests.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx2  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from api.principals import create_key  # noqa: E402
from payouts import migrations  # noqa: E402
from payouts.db import make_engine, normalise_url, unit_of_work  # noqa: E402
from payouts.facts.ingest import ingest  # noqa: E402

TARGET_RATIO = 0.3
DEFAULT_REQUESTS = 1000
SMOKE_REQUESTS = 100
WARMUP = 20
BLOCK = 50


@contextmanager
def _database() -> Iterator[str]:
    configured = os.environ.get("DATABASE_URL", "").strip()
    if configured.startswith(("postgresql", "postgres://")):
        name = f"pp_bench_{uuid.uuid4().hex[:10]}"
        admin = create_engine(
            normalise_url(configured).set(database="postgres"), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield normalise_url(configured).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        return
    with tempfile.TemporaryDirectory() as directory:
        yield f"sqlite:///{Path(directory) / 'bench.db'}"


def _prepare(url: str) -> str:
    """Migrate, store a customer, and return a billing key's token."""
    engine = make_engine(url)
    try:
        migrations.upgrade(url, engine=engine)
        with unit_of_work(engine) as session:
            ingest(session, "customers", [{"id": "C-1", "name": "Bench"}], actor="bench")
            token = create_key(session, role="billing", name="bench", actor="bench").token
    finally:
        engine.dispose()
    return token


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def _server(url: str) -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx2.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the API server did not start")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def _timed(numbers: range, send: Callable[[int], httpx2.Response]) -> float:
    """The one client loop both endpoints go through: sequential requests, timed."""
    start = time.perf_counter()
    for n in numbers:
        response = send(n)
        if response.status_code >= 300:
            raise RuntimeError(f"request {n} failed: {response.status_code} {response.text}")
    return time.perf_counter() - start


def _rates(
    count: int, figure: Callable[[int], httpx2.Response], baseline: Callable[[int], httpx2.Response]
) -> tuple[float, float]:
    """Requests per second of both, measured in alternating blocks of BLOCK requests.

    Alternating spreads any change in the machine's load over both figures alike.
    """
    _timed(range(-WARMUP, 0), figure)
    _timed(range(-WARMUP, 0), baseline)
    spent_figure = spent_baseline = 0.0
    for start in range(0, count, BLOCK):
        block = range(start, min(start + BLOCK, count))
        spent_baseline += _timed(block, baseline)
        spent_figure += _timed(block, figure)
    return count / spent_figure, count / spent_baseline


def measure(requests: int, idempotency_keys: bool = False) -> dict[str, float]:
    with _database() as url:
        token = _prepare(url)
        with _server(url) as base, httpx2.Client(base_url=base, timeout=30) as client:
            auth = {"Authorization": f"Bearer {token}"}
            run_id = uuid.uuid4().hex[:6]

            def ingest_one(n: int) -> httpx2.Response:
                ident = f"INV-{run_id}-{n}"
                headers = {**auth, "Idempotency-Key": ident} if idempotency_keys else auth
                return client.post(
                    "/facts/invoices",
                    headers=headers,
                    json={
                        "id": ident,
                        "customer_id": "C-1",
                        "issue_date": "2026-01-15",
                        "amount": "100.00",
                        "currency": "USD",
                    },
                )

            def trivial(_: int) -> httpx2.Response:
                return client.get("/health")

            figure, baseline = _rates(requests, ingest_one, trivial)
    return {
        "requests": requests,
        "ingest_per_second": figure,
        "trivial_per_second": baseline,
        "ratio": figure / baseline,
        "backend": 0.0 if url.startswith("sqlite") else 1.0,
    }


def run(scale: float = 1.0) -> list[dict[str, object]]:
    """Rows of figure, baseline and ratio for a bench runner."""
    result = measure(max(10, round(DEFAULT_REQUESTS * scale)))
    return [
        {
            "name": "single-fact ingestion requests per second (POST /facts/invoices)",
            "figure": round(result["ingest_per_second"], 1),
            "baseline": round(result["trivial_per_second"], 1),
            "baseline_name": "GET /health requests per second, same server and client loop",
            "ratio": round(result["ratio"], 3),
            "target_ratio": TARGET_RATIO,
            "requests": int(result["requests"]),
        }
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=SMOKE_REQUESTS)
    parser.add_argument(
        "--idempotency-keys", action="store_true", help="send a new Idempotency-Key each time"
    )
    args = parser.parse_args(argv)
    result = measure(args.requests, args.idempotency_keys)
    backend = "PostgreSQL" if result["backend"] else "SQLite"
    print(f"server: uvicorn, 1 worker, 127.0.0.1; database: {backend}")
    print(
        f"requests: {result['requests']:.0f} each, sequential, one keep-alive client, alternating"
    )
    print(f"POST /facts/invoices: {result['ingest_per_second']:8.1f} requests/s")
    print(f"GET /health:          {result['trivial_per_second']:8.1f} requests/s")
    verdict = "meets" if result["ratio"] >= TARGET_RATIO else "BELOW"
    print(f"ratio:                {result['ratio']:8.3f} ({verdict} target {TARGET_RATIO})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
