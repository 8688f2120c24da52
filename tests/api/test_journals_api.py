"""The journal and the waterfall over HTTP: finance only, files as the CLI writes them."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from payouts.accounting import exports
from payouts.accounting.chart import load_chart
from payouts.accounting.journal import journal
from payouts.db import unit_of_work
from tests.api.support import Api, running_api
from tests.payouts.accounting.books import capitalised_referral_month


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with running_api(tmp_path) as api:
        api.key("alice", "finance")
        api.key("billing-sync", "billing")
        with unit_of_work(api.engine) as session:
            capitalised_referral_month(session, months=7)
        yield api


def test_finance_downloads_a_closed_months_journal_in_each_format(api: Api) -> None:
    with unit_of_work(api.engine) as session:
        made = journal(session, "2026-01", load_chart())
    for fmt in exports.FORMATS:
        response = api.get("alice", "/journals/2026-01", params={"format": fmt})
        assert response.status_code == 200, response.text
        assert response.content == exports.export(made, load_chart(), fmt)
        assert "attachment" in response.headers["content-disposition"]
        expected = "application/json" if fmt == "json" else "text/csv"
        assert response.headers["content-type"].startswith(expected)
    only = api.get("alice", "/journals/2026-01", params={"format": "xero", "currency": "USD"})
    assert only.status_code == 200, only.text
    assert 'filename="journal-2026-01-USD-xero.csv"' in only.headers["content-disposition"]


def test_the_waterfall_over_http(api: Api) -> None:
    response = api.get("alice", "/journals/capitalised-costs", params={"through": "2026-08"})
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows[0]["period"] == "2026-01"
    assert rows[0]["additions"] == "250.00"
    assert rows[-1]["closing"] == "0.00"


def test_refusals_are_problems(api: Api) -> None:
    forbidden = api.get("billing-sync", "/journals/2026-01")
    assert forbidden.status_code == 403
    unauthenticated = api.get(None, "/journals/2026-01")
    assert unauthenticated.status_code == 401
    for path, params, status in (
        ("/journals/2026-02", {}, 409),
        ("/journals/2026-01", {"format": "sage"}, 422),
        ("/journals/2026-01", {"currency": "GBP"}, 422),
        ("/journals/2026-13", {}, 422),
    ):
        response = api.get("alice", path, params=params)
        assert response.status_code == status, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["type"].startswith("https://")
