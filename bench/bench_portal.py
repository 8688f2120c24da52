"""How fast the portal answers: its dashboard and a 100-line statement page, p50 and p95.

On a demo database (`payouts demo --partners 600 --months 12`, SQLite: 600 partners
make the demo's longest statement about 100 lines; 200 partners make 76), a user of
the partner with the longest statement (its line count is reported) is invited and
signed in. After a warm-up, 200 sequential
requests go to that partner's dashboard and to that statement's page through the
real HTTP stack (uvicorn on 127.0.0.1, one connection, as a browser keeps one); the
median and 95th percentile are reported. Target: p95 under 150 ms.

    .venv/bin/python bench/bench_portal.py                  # 600 partners, 12 months
    .venv/bin/python bench/bench_portal.py --requests 20    # quicker

`run(scale)` returns rows for `bench/run.py`.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx2  # noqa: E402
import uvicorn  # noqa: E402
from sqlalchemy import text  # noqa: E402

from api.app import create_app  # noqa: E402
from payouts import users  # noqa: E402
from payouts.db import make_engine, unit_of_work  # noqa: E402

EMAIL = "timer@partner.example"
PASSWORD = "a benchmark's passphrase"

TARGET_P95_MS = 150.0
REQUESTS = 200
WARM_UP = 20


def _demo(url: str, partners: int, months: int, out: Path) -> None:
    env = {**os.environ, "DATABASE_URL": url, "DATABASE_OWNER_URL": ""}
    subprocess.run(
        [sys.executable, "-m", "api.cli", "demo", "--partners", str(partners), "--months",
         str(months), "--out", str(out), "--fresh"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip


def _percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _timed(client: httpx2.Client, path: str, count: int) -> list[float]:
    times: list[float] = []
    for _ in range(count):
        start = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return times


def _serve(url: str) -> tuple[uvicorn.Server, int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(make_engine(url)), host="127.0.0.1", port=port, log_level="error")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, port


def _sign_in(client: httpx2.Client) -> None:
    form = client.get("/portal/sign-in").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token
    signed = client.post(
        "/portal/sign-in",
        data={"csrf_token": token.group(1), "email": EMAIL, "password": PASSWORD,
              "next": "/portal"},
    )  # fmt: skip
    assert signed.status_code == 303, signed.text


def measure(partners: int = 600, months: int = 12, requests: int = REQUESTS) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/portal.db"
        _demo(url, partners, months, Path(folder) / "out")
        engine = make_engine(url)
        with unit_of_work(engine) as session:
            partner, period, lines = session.execute(
                text(
                    "SELECT partner_id, period, count(*) FROM ledger_entries "
                    "GROUP BY partner_id, period ORDER BY count(*) DESC, period DESC LIMIT 1"
                )
            ).one()
            link = users.invite(
                session, email=EMAIL, role="partner", partner_id=partner, actor="bench"
            )
            users.set_password(session, link.secret, PASSWORD, PASSWORD)
        engine.dispose()
        server, port = _serve(url)
        try:
            with httpx2.Client(base_url=f"http://127.0.0.1:{port}", follow_redirects=False) as c:
                _sign_in(c)
                dashboard = f"/portal/partners/{partner}"
                statement = f"/portal/partners/{partner}/statements/{period}"
                _timed(c, dashboard, WARM_UP)
                _timed(c, statement, WARM_UP)
                dash = _timed(c, dashboard, requests)
                page = _timed(c, statement, requests)
        finally:
            server.should_exit = True
    return {
        "dashboard_p50": statistics.median(dash),
        "dashboard_p95": _percentile(dash, 0.95),
        "statement_p50": statistics.median(page),
        "statement_p95": _percentile(page, 0.95),
        "statement_lines": float(lines),
    }


def run(scale: float = 1.0) -> list[dict[str, object]]:
    partners = max(20, round(600 * scale))
    months = max(2, round(12 * min(1.0, scale * 2)))
    result = measure(partners, months, max(20, round(REQUESTS * scale)))
    return [
        {
            "name": f"portal {page} p95 (ms, {partners} partners)",
            "figure": round(result[f"{page}_p95"], 1),
            "baseline": round(result[f"{page}_p50"], 1),
            "baseline_name": "p50 (ms)",
            "target_max": TARGET_P95_MS,
        }
        for page in ("dashboard", "statement")
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partners", type=int, default=600)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--requests", type=int, default=REQUESTS)
    args = parser.parse_args(argv)
    r = measure(args.partners, args.months, args.requests)
    print(f"statement page: {r['statement_lines']:.0f} ledger lines (the demo's longest)")
    for page in ("dashboard", "statement"):
        p95 = r[f"{page}_p95"]
        verdict = "meets" if p95 < TARGET_P95_MS else "MISSES"
        print(
            f"{page:9}  p50 {r[f'{page}_p50']:6.1f} ms   p95 {p95:6.1f} ms  "
            f"({verdict} the {TARGET_P95_MS:.0f} ms target; {args.requests} requests)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
