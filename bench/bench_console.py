"""How fast the console's review page answers for a 10,000-partner month, p50 and p95.

The batch benchmark's data (`demo.program.generate`, bulk, one month; 10,000 partners
and 1,000,000 invoices at scale 1) on a scratch PostgreSQL database, the month run
once (not timed). A finance user is invited, signs in through the real HTTP stack
(uvicorn on 127.0.0.1, one connection as a browser keeps one) and enrols its second
factor. After a warm-up, requests go to pages of the month's review spread over the
whole list (`/console/periods/<month>?page=N`, 50 partners a page), and, as the
baseline measured in the same run, to the console's home page (a session check and
one small query). Target: review p95 under 500 ms. The first view of a draft, which
aggregates all of it (the review is then kept for that draft hash), is timed apart.

    .venv/bin/python bench/bench_console.py                       # 10,000 partners
    .venv/bin/python bench/bench_console.py --partners 2000 --invoices 100000
    .venv/bin/python bench/bench_console.py --smoke               # CI-sized

The server is BENCH_DATABASE_URL (or DATABASE_URL when it is PostgreSQL), else
postgresql://postgres@127.0.0.1:5432/postgres. `run(scale)` returns rows for
`bench/run.py`.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx2  # noqa: E402
import uvicorn  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from api.app import create_app  # noqa: E402
from demo import program as demo  # noqa: E402
from payouts import migrations, second_factor, users  # noqa: E402
from payouts.batch import service  # noqa: E402
from payouts.db import make_engine, normalise_url, unit_of_work  # noqa: E402

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
EMAIL = "timer@finance.example"
PASSWORD = "a benchmark's passphrase"
PARTNERS = 10_000
INVOICES = 1_000_000
TARGET_P95_MS = 500.0
REQUESTS = 100
WARM_UP = 5
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


# The benchmark's own key for the timer's second-factor secret, as the tests make one.
os.environ.setdefault("SECOND_FACTOR_KEYS", Fernet.generate_key().decode())


def _server_url() -> str:
    for name in ("BENCH_DATABASE_URL", "DATABASE_URL"):
        value = os.environ.get(name, "").strip()
        if value.startswith(("postgresql", "postgres://")):
            return value
    return DEFAULT_SERVER


def _with_database(url: str, database: str) -> str:
    return normalise_url(url).set(database=database).render_as_string(hide_password=False)


def _load(url: str, partners: int, invoices: int) -> tuple[str, int]:
    """The batch benchmark's month, generated and run; (its period, its draft lines)."""
    engine = make_engine(url)
    try:
        migrations.upgrade(url, engine=engine)
        deals_per_month = max(1.0, invoices / partners / 12)
        probe = demo.build(partners, 1, seed=11, deals_per_month=deals_per_month)
        lines = max(1, round(invoices / max(1, probe.count("deals"))))
        with unit_of_work(engine) as session:
            program = demo.generate(
                session,
                partners,
                1,
                seed=11,
                bulk=True,
                deals_per_month=deals_per_month,
                invoice_lines=lines,
            )
        period = program.periods[0]
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        with unit_of_work(engine) as session:
            result = service.run(session, period, actor="key:bench:calculator")
            link = users.invite(session, email=EMAIL, role="finance", partner_id=None, actor="b")
            users.set_password(session, link.secret, PASSWORD, PASSWORD)
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        return period, result.lines
    finally:
        engine.dispose()


def _serve(url: str) -> tuple[uvicorn.Server, int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(create_app(make_engine(url)), host="127.0.0.1", port=port, log_level="error")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, port


def _token(page: str) -> str:
    found = _TOKEN.search(page)
    assert found is not None
    return found.group(1)


def _sign_in(client: httpx2.Client) -> None:
    """Password, then the second factor's enrolment, as a person does it."""
    form = client.get("/portal/sign-in").text
    signed = client.post(
        "/portal/sign-in",
        data={"csrf_token": _token(form), "email": EMAIL, "password": PASSWORD, "next": "/"},
    )
    assert signed.status_code == 303, signed.text
    page = client.get("/console/second-factor").text
    secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', page)
    assert secret is not None
    done = client.post(
        "/console/second-factor",
        data={"csrf_token": _token(page), "code": second_factor.current_code(secret.group(1))},
    )
    assert done.status_code == 200, done.text


def _percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _timed(client: httpx2.Client, paths: list[str]) -> list[float]:
    times: list[float] = []
    for path in paths:
        start = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return times


def measure(partners: int, invoices: int, requests: int = REQUESTS) -> dict[str, float]:
    server_url = _server_url()
    name = f"pp_bench_console_{uuid.uuid4().hex[:8]}"
    admin = create_engine(_with_database(server_url, "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = _with_database(server_url, name)
    try:
        period, lines = _load(url, partners, invoices)
        server, port = _serve(url)
        try:
            with httpx2.Client(
                base_url=f"http://127.0.0.1:{port}", follow_redirects=False, timeout=60
            ) as client:
                _sign_in(client)
                start = time.perf_counter()
                first = client.get(f"/console/periods/{period}").text
                cold = (time.perf_counter() - start) * 1000
                pages_found = re.search(r"Page 1 / (\d+)", first)
                assert pages_found is not None, "the review is not paginated"
                pages = int(pages_found.group(1))
                spread = [
                    f"/console/periods/{period}?page={1 + (n * 7919) % pages}"
                    for n in range(requests)
                ]
                _timed(client, spread[:WARM_UP] + ["/console"] * WARM_UP)
                review = _timed(client, spread)
                home = _timed(client, ["/console"] * requests)
        finally:
            server.should_exit = True
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return {
        "review_p50": statistics.median(review),
        "review_p95": _percentile(review, 0.95),
        "home_p50": statistics.median(home),
        "home_p95": _percentile(home, 0.95),
        "first_view": cold,
        "pages": float(pages),
        "lines": float(lines),
        "partners": float(partners),
    }


def run(scale: float = 1.0) -> list[dict[str, object]]:
    partners = max(100, round(PARTNERS * scale))
    invoices = max(5_000, round(INVOICES * scale))
    r = measure(partners, invoices, max(20, round(REQUESTS * min(1.0, scale * 4))))
    return [
        {
            "name": (
                f"console review page p95 (ms, {partners:,} partners, {r['lines']:,.0f} lines, "
                f"{r['pages']:.0f} pages)"
            ),
            "figure": round(r["review_p95"], 1),
            "baseline": round(r["home_p95"], 1),
            "baseline_name": f"console home p95 (ms); first view {r['first_view']:.0f} ms",
            "target_max": TARGET_P95_MS,
        }
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partners", type=int, default=PARTNERS)
    parser.add_argument("--invoices", type=int, default=INVOICES)
    parser.add_argument("--requests", type=int, default=REQUESTS)
    parser.add_argument("--smoke", action="store_true", help="200 partners, 20,000 invoices")
    args = parser.parse_args(argv)
    partners, invoices = (200, 20_000) if args.smoke else (args.partners, args.invoices)
    r = measure(partners, invoices, 20 if args.smoke else args.requests)
    verdict = "meets" if r["review_p95"] < TARGET_P95_MS else "MISSES"
    print(
        f"month of {partners:,} partners, {r['lines']:,.0f} draft lines, "
        f"{r['pages']:.0f} review pages"
    )
    print(
        f"review page  p50 {r['review_p50']:7.1f} ms   p95 {r['review_p95']:7.1f} ms  "
        f"({verdict} the {TARGET_P95_MS:.0f} ms target)"
    )
    print(
        f"first view   {r['first_view']:7.1f} ms  (aggregates the whole draft once; the "
        "draft is then kept, named by its hash)"
    )
    print(
        f"console home p50 {r['home_p50']:7.1f} ms   p95 {r['home_p95']:7.1f} ms  "
        f"(baseline, same run; review/home p95 ratio {r['review_p95'] / r['home_p95']:.1f}x)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
