"""schemathesis against the app's own OpenAPI document: no 5xx, responses as documented.

A bounded, deterministic run: derandomized Hypothesis, 4 examples per operation, over
every operation (API_CONFORMANCE_EXAMPLES and API_CONFORMANCE_PATHS widen or narrow it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from tests.api.support import Api, running_api

OPERATIONS = os.environ.get("API_CONFORMANCE_PATHS", ".*")
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    content_type_conformance,
    status_code_conformance,
]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with running_api(tmp_path_factory.mktemp("schemathesis")) as api:
        api.key("finance", "finance")
        api.ok("finance", "POST", "/facts/customers", json={"id": "C-1", "name": "One"})
        yield api


def test_the_api_conforms_to_its_openapi_document(api: Api) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(api.engine)).include(
        path_regex=OPERATIONS
    )
    headers = api.headers("finance")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40

    for operation in operations:

        @settings(
            max_examples=int(os.environ.get("API_CONFORMANCE_EXAMPLES", "4")),
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def conforms(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        conforms()
