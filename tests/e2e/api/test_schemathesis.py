"""Property-based run of the served OpenAPI document: whatever schemathesis sends, no 5xx.

Bounded (30 valid and 30 invalid examples per operation) so it fits in ``make test``. The
document comes from the ops port; requests go to the API's port and carry a valid bearer token
with every scope, so the routes are exercised past authentication, into validation, the PII
guard, PostgreSQL and Kafka.

Schemathesis's own pytest loaders (``from_fixture``) do not work with pytest 9 (they set
``Item._nodeid``, which pytest 9 removed), so each operation's strategy is driven with
Hypothesis's ``@given`` directly; that is schemathesis's documented non-pytest-plugin path.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.e2e.api.conftest import ServedApi
from tests.integration.api.support import ERASER_ID

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

EXAMPLES = 30


def test_no_generated_request_gets_a_server_error(served_api: ServedApi) -> None:
    schema = schemathesis.openapi.from_url(f"{served_api.ops_url}/openapi.json")
    bearer = served_api.auth()
    eraser = served_api.auth(ERASER_ID)  # the erasure scope is given to no other client
    exercised: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            def run(case: schemathesis.Case) -> None:
                headers = eraser if case.path.startswith("/v1/erasures") else bearer
                case.call_and_validate(base_url=served_api.base_url, headers=headers,
                                       checks=[not_a_server_error])

            try:
                run()
            except Unsatisfiable:
                # No parameters and no body (/healthz...): nothing invalid can be generated.
                assert mode is GenerationMode.NEGATIVE
                continue
            exercised.append(f"{operation.method.upper()} {operation.path} {mode.value}")
    assert len(exercised) >= 12, exercised  # 7 operations valid, 5 with inputs invalid too
